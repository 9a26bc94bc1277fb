"""PostgreSQL least privilege: who owns the schema, who runs the application, and what each may do.

- The **migration role** (the login of ``MIGRATION_DATABASE_URL``; the server's superuser on the
  embedded default) owns every table, sequence, type and function. ``smartqueue migrate`` and
  ``smartqueue projections rebuild`` run as it.
- The **runtime login** (the login of ``DATABASE_URL``; ``smartqueue_app`` on the embedded
  default) owns nothing and holds only the grants below. It is NOBYPASSRLS and every table with
  a ``tenant_id`` is under forced row-level security for it, so a query without
  ``app.tenant_id`` set in its transaction sees no rows.
- ``smartqueue_reader`` (NOLOGIN): SELECT on the read models. The runtime login inherits it, so
  its reads are filtered by the tenant policy like the runtime's own.
- ``smartqueue_projector`` (NOLOGIN): writes every tenant's read-model rows through its own
  policy. The runtime login may ``SET ROLE`` to it but does not inherit it: the projection
  runner switches to it with ``SET LOCAL ROLE`` for its batch transactions only.
- Paths that must cross tenants before a tenant is known (sign-in by email, a device signing in,
  purging expired idempotency keys) call SECURITY DEFINER functions owned by the migration role,
  each returning or touching only what it is asked for.
"""

from __future__ import annotations

import psycopg
import structlog
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from infrastructure.postgres.database import EMBEDDED_RUNTIME_ROLE
from infrastructure.postgres.definer_functions import function_statements
from infrastructure.postgres.embedded import embedded_database_url
from infrastructure.postgres.row_security import (
    PROJECTOR_ROLE,
    READER_ROLE,
    TENANT_SETTING,
    secure_statements,
)
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)

RUNTIME_ROLE = EMBEDDED_RUNTIME_ROLE

# Write-side tables with personal data or secrets: the runtime reads and writes them for the
# transaction's tenant only; the reader and the projector get nothing on them.
WRITE_SIDE_TABLES = frozenset(
    {
        "identity_credentials",
        "customer_profiles",
        "idempotency_keys",
        "device_credentials",
        "notification_ledger",
        "notification_templates",
        "notification_settings",
        "webhook_subscriptions",
        "webhook_deliveries",
        "public_join_settings",
        "feedback_comments",
    }
)
# Only the projector touches the folds' working state (it mixes tenants); nobody but the owner
# touches Alembic's bookkeeping.
PROJECTOR_ONLY_TABLES = frozenset({"projection_state"})
OWNER_ONLY_TABLES = frozenset({"alembic_version"})
DML = "SELECT, INSERT, UPDATE, DELETE"


def login_as(database_url: str, user: str) -> str:
    """``database_url`` logging in as ``user`` (a conninfo string; psycopg accepts both)."""
    return make_conninfo(database_url, user=user)


def resolve_migration_url(settings: Settings) -> str:
    """The schema owner's login: MIGRATION_DATABASE_URL, else DATABASE_URL (one login for both,
    as before roles were split), else the embedded server's superuser."""
    return (
        settings.database.migration_url
        or settings.database.url
        or embedded_database_url(settings.home)
    )


def login_of(database_url: str) -> str | None:
    """The user a URL logs in as, when it names one."""
    return conninfo_to_dict(database_url).get("user")  # type: ignore[return-value]


def may_migrate(connection: psycopg.Connection) -> bool:
    """Whether this login may create objects in the schema (a runtime login may not)."""
    row = connection.execute("SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()
    return bool(row and row[0])


def prepare_roles(connection: psycopg.Connection, runtime_url: str) -> str | None:
    """Create the NOLOGIN roles, and the runtime login when it is missing and we may; the
    runtime role's name, or None when the runtime logs in as the owner itself."""
    for role in (READER_ROLE, PROJECTOR_ROLE):
        # Roles are cluster-wide: another database's migration may create them at the same time.
        connection.execute(
            sql.SQL(
                "DO $$ BEGIN CREATE ROLE {} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ).format(sql.Identifier(role))
        )
    owner, superuser = connection.execute(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()  # type: ignore[misc]
    if not superuser:
        # The owner rebuilds read models, whose batches run as the projector.
        connection.execute(
            sql.SQL("GRANT {} TO CURRENT_USER").format(sql.Identifier(PROJECTOR_ROLE))
        )
    runtime = login_of(runtime_url) or owner
    if runtime == owner:
        log.warning(
            "the application logs in as the schema owner: set MIGRATION_DATABASE_URL to the "
            "owner and DATABASE_URL to a login that owns nothing",
            role=owner,
        )
        return None
    found = connection.execute(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = %s", (runtime,)
    ).fetchone()
    if found is None:
        password = conninfo_to_dict(runtime_url).get("password")
        statement = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
        if password:
            statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
        try:
            connection.execute(statement.format(sql.Identifier(runtime)))
        except psycopg.errors.InsufficientPrivilege:
            raise RuntimeError(
                f"the runtime login {runtime!r} of DATABASE_URL does not exist and "
                f"{owner!r} may not create it: CREATE ROLE {runtime} LOGIN PASSWORD '...'"
            ) from None
        except psycopg.errors.DuplicateObject:
            pass  # created by a concurrent migration of another database
    elif found[0]:
        log.warning("the runtime login bypasses row-level security (superuser or BYPASSRLS)")
    return runtime


def apply_privileges(
    connection: psycopg.Connection, runtime: str | None, event_tables: list[str]
) -> None:
    """Row-level security on every tenant table, the definer functions, and the runtime's
    grants, all from the catalogue, so a table added later is covered. Idempotent."""
    with connection.transaction():
        tables = connection.execute(
            "SELECT c.relname, EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
            " AND a.attname = 'tenant_id' AND NOT a.attisdropped)"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1"
        ).fetchall()
        for statement in _table_statements(tables, runtime, event_tables, _version(connection)):
            connection.execute(statement)
        for statement in function_statements(runtime):
            connection.execute(statement)
        if runtime is not None:
            for statement in _runtime_statements(runtime, _version(connection)):
                connection.execute(statement)


def _version(connection: psycopg.Connection) -> int:
    return connection.info.server_version


def _table_statements(
    tables: list[tuple[str, bool]], runtime: str | None, event_tables: list[str], version: int
) -> list[sql.Composable]:
    statements: list[sql.Composable] = []
    runtime_id = sql.Identifier(runtime) if runtime else None
    # PostgreSQL 17 lets MAINTAIN take the recorder's LOCK TABLE ... IN EXCLUSIVE MODE; before
    # it, only UPDATE, DELETE or TRUNCATE could, and UPDATE is the least of those.
    lock = "MAINTAIN" if version >= 170000 else "UPDATE"
    for name, has_tenant in tables:
        table = sql.Identifier(name)
        if has_tenant:
            statements += [sql.SQL(s) for s in _tenant_policies(name)]
        grants: list[tuple[str, str | None]] = []
        if name in OWNER_ONLY_TABLES:
            pass
        elif name in WRITE_SIDE_TABLES:
            grants.append((DML, runtime))
        elif name in event_tables:
            grants.append((f"SELECT, INSERT, {lock}", runtime))
        elif name in PROJECTOR_ONLY_TABLES:
            grants.append((DML, PROJECTOR_ROLE))
        elif has_tenant:
            pass  # a read model: secure_statements granted the reader and the projector
        else:
            # Shared bookkeeping (projection and relay positions, and tables added later).
            grants += [(DML, runtime), (DML, PROJECTOR_ROLE)]
        for privileges, role in grants:
            if role is not None:
                statements.append(
                    sql.SQL("GRANT " + privileges + " ON {} TO {}").format(
                        table, sql.Identifier(role)
                    )
                )
        if runtime_id is not None and name in OWNER_ONLY_TABLES | PROJECTOR_ONLY_TABLES:
            statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(table, runtime_id))
    return statements


def _tenant_policies(table: str) -> list[str]:
    """Forced RLS and the policies of one tenant table, replacing whatever it had."""
    drops = [
        f"DROP POLICY IF EXISTS {table}_{suffix} ON {table}"
        for suffix in ("tenant_isolation", "projection_writer", "owner")
    ]
    if table not in WRITE_SIDE_TABLES:
        return drops + secure_statements(table)
    return [
        *drops,
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        f"CREATE POLICY {table}_tenant_isolation ON {table} "
        f"USING (tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid)",
        # The owner (who alone runs the definer functions below) sees every row.
        f"CREATE POLICY {table}_owner ON {table} TO CURRENT_USER USING (true) WITH CHECK (true)",
        f"REVOKE ALL ON {table} FROM {READER_ROLE}, {PROJECTOR_ROLE}",
    ]


def _runtime_statements(runtime: str, version: int) -> list[sql.Composable]:
    role = sql.Identifier(runtime)
    reader, projector = sql.Identifier(READER_ROLE), sql.Identifier(PROJECTOR_ROLE)
    statements = [
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}, {}, {}").format(role, reader, projector),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
    ]
    if version >= 160000:
        # The reader's rights are the runtime's too (they are filtered by tenant anyway); the
        # projector's policy must not apply until a projection batch asks for it.
        statements += [
            sql.SQL("GRANT {} TO {} WITH INHERIT TRUE, SET TRUE").format(reader, role),
            sql.SQL("GRANT {} TO {} WITH INHERIT FALSE, SET TRUE").format(projector, role),
        ]
    else:
        statements += [
            sql.SQL("GRANT {}, {} TO {}").format(reader, projector, role),
            sql.SQL("ALTER ROLE {} NOINHERIT").format(role),
        ]
    return statements
