"""The SECURITY DEFINER functions of the paths that cross tenants before a tenant is known
(sign-in by email, a device signing in, purging expired idempotency keys, the operator's dead
notifications, a provider's delivery report): owned by the migration role, each returning or
touching only what it is asked for, and executable by the runtime login
(:func:`infrastructure.postgres.roles.apply_privileges`)."""

from __future__ import annotations

from psycopg import sql

CREDENTIAL_BY_EMAIL = "smartqueue_credential_by_email"
DEVICE_CREDENTIAL = "smartqueue_device_credential"
PURGE_IDEMPOTENCY_KEYS = "smartqueue_purge_idempotency_keys"
DEAD_NOTIFICATIONS = "smartqueue_dead_notifications"
NOTIFICATION_BY_PROVIDER_ID = "smartqueue_notification_by_provider_id"

# search_path is pinned (pg_temp last) so a caller cannot slip its own objects into a function
# that runs with the owner's rights.
_DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"


def function_statements(runtime: str | None) -> list[sql.Composable]:
    functions = {
        CREDENTIAL_BY_EMAIL: (
            "wanted text",
            "TABLE (user_id uuid, tenant_id uuid, email text, password_hash text, active boolean)",
            "sql STABLE",
            # Sign-in: the tenant is not known until the credential is found.
            "SELECT c.user_id, c.tenant_id, c.email, c.password_hash, c.active"
            " FROM {schema}.identity_credentials c WHERE lower(c.email) = lower(wanted)",
        ),
        DEVICE_CREDENTIAL: (
            "wanted uuid",
            "TABLE (device_id uuid, tenant_id uuid, secret_hash text, active boolean)",
            "sql STABLE",
            # A device signs in with its id and secret only.
            "SELECT d.device_id, d.tenant_id, d.secret_hash, d.active"
            " FROM {schema}.device_credentials d WHERE d.device_id = wanted",
        ),
        PURGE_IDEMPOTENCY_KEYS: (
            "expired_before timestamptz, max_rows integer",
            "integer",
            "plpgsql",
            # Expiry is by age alone, across tenants; bounded, and served by the created_at index.
            "DECLARE purged integer; BEGIN"
            " DELETE FROM {schema}.idempotency_keys WHERE (tenant_id, key) IN ("
            " SELECT tenant_id, key FROM {schema}.idempotency_keys"
            " WHERE created_at <= expired_before ORDER BY created_at LIMIT max_rows"
            " FOR UPDATE SKIP LOCKED);"
            " GET DIAGNOSTICS purged = ROW_COUNT; RETURN purged; END",
        ),
        DEAD_NOTIFICATIONS: (
            "wanted uuid, max_rows integer",
            "TABLE (message_id uuid, tenant_id uuid, kind text, channel text, attempts integer,"
            " error text, updated_at timestamptz)",
            "sql STABLE",
            # The operator's dead-letter list and retry: no tenant is known; no address or body.
            "SELECT n.message_id, n.tenant_id, n.kind, n.channel, n.attempts, n.error,"
            " n.updated_at FROM {schema}.notification_ledger n WHERE n.status = 'dead'"
            " AND (wanted IS NULL OR n.message_id = wanted)"
            " ORDER BY n.updated_at DESC LIMIT max_rows",
        ),
        NOTIFICATION_BY_PROVIDER_ID: (
            "wanted text",
            "TABLE (message_id uuid, tenant_id uuid)",
            "sql STABLE",
            # A provider's status callback names its own message id, never our tenant.
            "SELECT n.message_id, n.tenant_id FROM {schema}.notification_ledger n"
            " WHERE n.provider_id = wanted",
        ),
    }
    statements: list[sql.Composable] = []
    for name, (arguments, returns, language, body) in functions.items():
        function = sql.SQL("{}.{}({})").format(
            sql.Identifier("public"), sql.Identifier(name), sql.SQL(arguments)
        )
        statements += [
            # Replaced in place, so processes calling it during a migration never miss it (a
            # changed result type would need a DROP first).
            sql.SQL(
                "CREATE OR REPLACE FUNCTION {} RETURNS "
                + returns
                + " LANGUAGE "
                + language
                + " "
                + _DEFINER
                + " AS {}"
            ).format(function, sql.Literal(body.replace("{schema}", "public"))),
            sql.SQL("REVOKE ALL ON FUNCTION {} FROM PUBLIC").format(function),
        ]
        if runtime is not None:
            statements.append(
                sql.SQL("GRANT EXECUTE ON FUNCTION {} TO {}").format(
                    function, sql.Identifier(runtime)
                )
            )
    return statements
