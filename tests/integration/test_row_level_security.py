"""Tenant isolation inside PostgreSQL: forced RLS on every tenant table, a reader role that
cannot bypass it, and a tenant setting that never outlives its transaction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from uuid import UUID, uuid4

import pytest
from sqlalchemy import select, text

from application.context import CommandContext
from infrastructure.postgres.row_security import READER_ROLE, TENANT_TABLES
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.postgres.tables import ticket_queues, tickets, waiting_line
from infrastructure.postgres.tenancy import tenant_transaction
from tests.integration.projection_support import audit_runner, stats_runner
from tests.integration.ticket_history import tickets_runner

pytestmark = pytest.mark.integration


def test_every_table_with_a_tenant_id_has_forced_row_level_security(container):
    with container.read_engine.connect() as connection:
        tables = connection.execute(
            text(
                "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c "
                "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
            )
        ).all()
    assert set(TENANT_TABLES) <= {name for name, _, _ in tables}
    assert [name for name, enabled, forced in tables if not (enabled and forced)] == []


def test_the_reader_role_cannot_bypass_security_and_owns_nothing(container):
    with container.read_engine.connect() as connection:
        role = connection.execute(
            text("SELECT rolsuper, rolbypassrls, rolcanlogin FROM pg_roles WHERE rolname = :r"),
            {"r": READER_ROLE},
        ).one()
        owned = connection.execute(
            text(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "WHERE r.rolname = :r"
            ),
            {"r": READER_ROLE},
        ).scalar()
    assert tuple(role) == (False, False, False)
    assert owned == 0


def _second_tenant(container) -> UUID:
    tenant_id = container.tenancy.create_tenant(
        CommandContext.system(None), f"rls-{uuid4().hex[:12]}", "B"
    )
    context = CommandContext.system(tenant_id)
    site = container.catalogue.add_site(context, "Other", "Europe/Paris")
    service = container.catalogue.add_service(context, "Loans", "L", target_wait_minutes=5)
    queue = container.queues.open_queue(context, "Other", site.id, [service.id], "fifo")
    container.tickets.issue_ticket(context, queue.id)
    return tenant_id


def test_alternating_tenants_on_two_pooled_connections_never_see_a_foreign_row(container, world):
    container.tickets.issue_ticket(world.context, world.queue_id)
    other = _second_tenant(container)
    audit_runner(container).catch_up(container.read_engine)
    engine = sqlalchemy_engine(container.database_url, pool_size=2)

    def query(attempt: int) -> tuple[UUID, set[UUID], int]:
        tenant = (world.tenant_id, other)[attempt % 2]
        with tenant_transaction(engine, tenant) as connection:
            # No tenant condition in the query: only the policy filters.
            found = set(
                connection.execute(text("SELECT DISTINCT tenant_id FROM audit_log")).scalars()
            )
            backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        return tenant, found, backend

    try:
        # Four threads share the two connections, so each connection serves both tenants in
        # quick succession.
        with ThreadPoolExecutor(max_workers=4) as executor:
            results = list(executor.map(query, range(1000)))
        with engine.connect() as connection:
            # After the transactions the pooled connections carry neither the role nor a tenant.
            leftover = connection.execute(
                text("SELECT current_user, current_setting('app.tenant_id', true)")
            ).one()
    finally:
        engine.dispose()
    assert [
        attempt for attempt, (tenant, found, _) in enumerate(results) if found != {tenant}
    ] == []
    assert len({backend for _, _, backend in results}) == 2
    assert leftover[0] != READER_ROLE
    assert leftover[1] in (None, "")


def test_the_reader_sees_no_row_without_a_tenant(container, world):
    container.tickets.issue_ticket(world.context, world.queue_id)
    audit_runner(container).catch_up(container.read_engine)
    with container.read_engine.begin() as connection:
        connection.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        assert connection.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0


def test_the_reader_sees_only_its_tenants_queue_statistics(container, world):
    container.tickets.issue_ticket(world.context, world.queue_id)
    other = _second_tenant(container)
    stats_runner(container).catch_up(container.read_engine)
    for tenant in (world.tenant_id, other):
        with tenant_transaction(container.read_engine, tenant) as connection:
            found = set(
                connection.execute(text("SELECT DISTINCT tenant_id FROM queue_stats")).scalars()
            )
        assert found == {tenant}
    with container.read_engine.begin() as connection:
        connection.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        assert connection.execute(text("SELECT count(*) FROM queue_stats")).scalar() == 0
        # The fold's working state mixes tenants: the reader may not read it at all.
        may_read = connection.execute(
            text("SELECT has_table_privilege('projection_state', 'SELECT')")
        ).scalar()
    assert not may_read


def test_the_tickets_tables_show_the_reader_only_the_tenants_rows(container, world):
    container.tickets.issue_ticket(world.context, world.queue_id)
    other = _second_tenant(container)
    tickets_runner(container).catch_up(container.read_engine)
    for tenant in (world.tenant_id, other):
        with tenant_transaction(container.read_engine, tenant) as connection:
            for table in (tickets, waiting_line, ticket_queues):
                # No tenant condition in the query: only the policy filters.
                found = connection.execute(select(table.c.tenant_id).distinct())
                assert set(found.scalars()) == {tenant}, table.name
