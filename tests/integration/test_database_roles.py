"""Least privilege in PostgreSQL: the application's login owns nothing, cannot become the owner,
cannot bypass row-level security, and sees no tenant's rows on any table with a ``tenant_id``
(write side included) unless its transaction names the tenant. Tables are enumerated from the
catalogue, so a table added later is covered without touching this file."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import UUID, uuid4

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from application.context import CommandContext
from domain.agents import Agent
from domain.delivery import Delivery
from domain.messages import Channel, MessageKind, TemplateParts
from domain.webhooks import Subscription, WebhookDelivery
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.postgres.roles import WRITE_SIDE_TABLES
from infrastructure.postgres.row_security import PROJECTOR_ROLE, TENANT_SETTING, TENANT_TABLES
from interfaces.cli import main

pytestmark = pytest.mark.integration

TENANT_TABLES_QUERY = """
SELECT c.relname, c.relrowsecurity AND c.relforcerowsecurity FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') ORDER BY 1
"""


def _populate(container, world) -> UUID:
    """Rows of two tenants in every table: credentials, a customer, a device, an idempotency
    key, tickets, feedback with a comment, a notification, notification settings and a
    template, remote-join settings, an appointment, and every read model caught up. Returns the
    second tenant."""
    other = container.tenancy.create_tenant(
        CommandContext.system(None), f"roles-{uuid4().hex[:12]}", "B"
    )
    other_context = CommandContext.system(other)
    site = container.catalogue.add_site(other_context, "Other", "Europe/Paris")
    service = container.catalogue.add_service(other_context, "Loans", "L", target_wait_minutes=5)
    queue = container.queues.open_queue(other_context, "Other", site.id, [service.id], "fifo")
    tomorrow = date.today() + timedelta(days=1)
    start = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 10, tzinfo=UTC)
    for context, site_id, service_id, queue_id, slug in (
        (world.context, world.site_id, world.service_id, world.queue_id, world.slug),
        (other_context, site.id, service.id, queue.id, f"b{uuid4().hex[:8]}"),
    ):
        user = container.identity.create_user(
            context, f"{uuid4().hex[:10]}@{slug}.example", "password1", "Agent", "agent"
        )
        customer = container.customers.register_customer(
            context, "Jeanne Martin", email="jeanne@example.com"
        )
        _give_feedback(container, context, queue_id, Agent.create_id(user.id), customer.id)
        container.devices.register_device(context, site_id, "kiosk", "Entrance")
        container.idempotency.claim(context.tenant_id, f"key-{uuid4().hex}", "fingerprint")
        ticket = container.tickets.issue_ticket(context, queue_id)
        _record_notification(container, context.tenant_id, ticket.id)
        container.notification_setup.put_settings(context, {"no_show": False}, 2, None)
        container.notification_setup.create_template(
            context, "called", "sms", "en", TemplateParts(text="{number}: counter {counter}")
        )
        _record_webhook_delivery(container, context.tenant_id)
        container.join_codes.put_settings(context, "sms")
        container.appointments.book_appointment(context, site_id, service_id, start)
    for model in read_models().values():
        ProjectionRunner(model, container.app.recorder, container.app.mapper).catch_up(
            container.read_engine
        )
    return other


def _give_feedback(container, context, queue_id, agent_id, customer_id) -> None:
    """A visit served and completed, and its customer's feedback with a comment."""
    container.staffing.set_agent_status(context, agent_id, "available")
    served = container.tickets.issue_ticket(context, queue_id, customer_id=customer_id)
    assert container.staffing.call_next(context, agent_id, queue_id).id == served.id
    container.tickets.start_ticket(context, served.id)
    closed = container.tickets.close_ticket(context, served.id)
    link = container.feedback.feedback_link(context.tenant_id, served.id, closed.finished_at)
    container.feedback.submit_feedback(link.rsplit("/", 1)[1], csat=5, comment="Merci")


def _record_notification(container, tenant_id: UUID, ticket_id: UUID) -> None:
    delivery = Delivery(
        id=uuid4(),
        kind=MessageKind.TICKET_ISSUED,
        channel=Channel.EMAIL,
        created_at=datetime.now(UTC),
        address="jeanne@example.com",
        body=MessageBody(text="Your number is A-001").encode(),
        ticket_id=ticket_id,
    )
    PostgresLedger(container.pool).record(LedgerEntry(tenant_id, delivery, "en"))


def _record_webhook_delivery(container, tenant_id: UUID) -> None:
    now = datetime.now(UTC)
    store = PostgresWebhooks(container.pool)
    hook = Subscription(
        uuid4(), tenant_id, "https://example.org/in", ("Ticket.Issued",), "whsec_x" * 3, now, now
    )
    store.add(hook)
    delivery = WebhookDelivery(uuid4(), hook.id, "e:1", "Ticket.Issued", now, attempt_limit=3)
    store.record(tenant_id, delivery, {"event_id": "e:1"})


def _tenant_tables(connection: psycopg.Connection) -> list[tuple[str, bool]]:
    return connection.execute(TENANT_TABLES_QUERY).fetchall()


def test_every_tenant_table_write_side_included_has_forced_row_level_security(
    container, database_url
):
    with psycopg.connect(database_url) as connection:
        tables = _tenant_tables(connection)
    names = {name for name, _ in tables}
    assert set(TENANT_TABLES) | WRITE_SIDE_TABLES <= names
    assert [name for name, forced in tables if not forced] == []


def test_the_runtime_login_is_not_the_owner_and_owns_nothing(container, database_url):
    with psycopg.connect(database_url) as connection:
        me = connection.execute("SELECT current_user").fetchone()[0]
        owned = connection.execute(
            "WITH me AS (SELECT oid FROM pg_roles WHERE rolname = current_user)"
            " SELECT 'table ' || relname FROM pg_class WHERE relowner = (SELECT oid FROM me)"
            " UNION ALL SELECT 'function ' || proname FROM pg_proc"
            " WHERE proowner = (SELECT oid FROM me)"
            " UNION ALL SELECT 'schema ' || nspname FROM pg_namespace"
            " WHERE nspowner = (SELECT oid FROM me)"
            " UNION ALL SELECT 'type ' || typname FROM pg_type"
            " WHERE typowner = (SELECT oid FROM me)"
            " UNION ALL SELECT 'database ' || datname FROM pg_database"
            " WHERE datdba = (SELECT oid FROM me)"
        ).fetchall()
        owner = connection.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'identity_credentials'"
        ).fetchone()[0]
    assert me != owner
    assert owned == []


def test_the_runtime_login_cannot_bypass_security_nor_become_the_owner(container, database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        attributes = connection.execute(
            "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
            " WHERE rolname = current_user"
        ).fetchone()
        owner = connection.execute(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE relname = 'identity_credentials'"
        ).fetchone()[0]
        may_become = connection.execute("SELECT pg_has_role(%s, 'MEMBER')", (owner,)).fetchone()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(owner)))
        may_create = connection.execute(
            "SELECT has_schema_privilege(current_schema(), 'CREATE')"
        ).fetchone()
    assert attributes == (False, False, False, False)
    assert may_become == (False,)
    assert may_create == (False,)


def test_without_a_tenant_the_runtime_sees_no_row_of_any_tenant_table(
    container, world, database_url, owner_database_url
):
    _populate(container, world)
    with psycopg.connect(owner_database_url) as owner:
        tables = [name for name, _ in _tenant_tables(owner)]
        present = {
            name: owner.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()[0]
            for name in tables
        }
    with psycopg.connect(database_url) as connection:
        seen = {
            name: connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
            ).fetchone()[0]
            for name in tables
        }
    # Every table holds rows (the owner, a superuser here, sees them), and the runtime none.
    assert [name for name, count in present.items() if count == 0] == []
    assert seen == {name: 0 for name in tables}


def test_with_a_tenant_set_the_runtime_sees_only_that_tenants_rows(container, world, database_url):
    other = _populate(container, world)
    with psycopg.connect(database_url) as connection:
        tables = [name for name, _ in _tenant_tables(connection)]
        for tenant in (world.tenant_id, other):
            with connection.transaction():
                connection.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, str(tenant)))
                found = {
                    name: {
                        row[0]
                        for row in connection.execute(
                            sql.SQL("SELECT DISTINCT tenant_id FROM {}").format(
                                sql.Identifier(name)
                            )
                        )
                    }
                    for name in tables
                }
            assert found == {name: {tenant} for name in tables}


def test_the_runtime_cannot_write_a_read_model_unless_it_acts_as_the_projector(
    container, world, database_url
):
    insert = (
        "INSERT INTO ticket_queues (queue_id, tenant_id, site_id, policy)"
        " VALUES (%s, %s, %s, 'fifo')"
    )
    values = (uuid4(), world.tenant_id, world.site_id)
    with psycopg.connect(database_url) as connection:
        with pytest.raises(psycopg.errors.InsufficientPrivilege), connection.transaction():
            connection.execute(insert, values)
        with connection.transaction(force_rollback=True):
            connection.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(PROJECTOR_ROLE)))
            assert connection.execute(insert, values).rowcount == 1


def test_sign_in_finds_a_credential_by_email_although_no_tenant_is_set(container, world):
    email = f"{uuid4().hex[:10]}@{world.slug}.example"
    user = container.identity.create_user(world.context, email, "password1", "Agent", "agent")

    credential = container.identity.credentials.find_by_email(email)
    _, signed_in = container.identity.login(email, "password1")

    assert credential is not None
    assert (credential.user_id, credential.tenant_id) == (user.id, world.tenant_id)
    assert signed_in.id == user.id


def test_expired_idempotency_keys_of_every_tenant_are_purged(container, world, owner_database_url):
    other = _populate(container, world)
    store = container.idempotency
    keys = [(tenant, f"old-{uuid4().hex}") for tenant in (world.tenant_id, other)]
    for tenant, key in keys:
        store.claim(tenant, key, "fingerprint")
    with psycopg.connect(owner_database_url) as owner:
        owner.execute(
            "UPDATE idempotency_keys SET created_at = created_at - interval '400 days'"
            " WHERE key = ANY(%s)",
            ([key for _, key in keys],),
        )
    while store.purge_expired(500) == 500:
        pass
    with psycopg.connect(owner_database_url) as owner:
        left = owner.execute(
            "SELECT count(*) FROM idempotency_keys WHERE key = ANY(%s)", ([k for _, k in keys],)
        ).fetchone()
    assert left == (0,)


def test_a_rebuild_by_the_runtime_login_is_refused_naming_the_owners_setting(
    database_url, redis_url, tmp_path
):
    result = CliRunner().invoke(
        main,
        ["projections", "rebuild", "audit_log"],
        env={
            "DATABASE_URL": database_url,
            "MIGRATION_DATABASE_URL": "",
            "REDIS_URL": redis_url,
            "SMARTQUEUE_HOME": str(tmp_path),
            "SMARTQUEUE_LOG_FORMAT": "json",
        },
    )

    assert result.exit_code == 1, result.output
    assert "MIGRATION_DATABASE_URL" in result.output


def test_the_runtime_appends_to_the_event_log_but_cannot_rewrite_it(container, database_url):
    with psycopg.connect(database_url) as connection:
        rights = connection.execute(
            "SELECT t, p, has_table_privilege(t, p) FROM unnest(ARRAY['smartqueue_events',"
            " 'smartqueue_snapshots']) t, unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE',"
            " 'TRUNCATE']) p"
        ).fetchall()
        version = connection.info.server_version
    allowed = {(table, privilege) for table, privilege, granted in rights if granted}
    # Before PostgreSQL 17 the recorder's LOCK TABLE ... IN EXCLUSIVE MODE needs UPDATE.
    locking = {"UPDATE"} if version < 170000 else set()
    for table in ("smartqueue_events", "smartqueue_snapshots"):
        assert {p for t, p in allowed if t == table} == {"SELECT", "INSERT"} | locking
