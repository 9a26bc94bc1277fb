"""Reading tenant read models under row-level security, and the audit log query."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from sqlalchemy import Connection, Engine, select, text

from application.audit import AuditEntryView, AuditFilter, position_after, position_cursor
from application.paging import Page, PageRequest
from infrastructure.read_models import READER_ROLE, TENANT_SETTING, audit_log


@contextmanager
def tenant_transaction(engine: Engine, tenant_id: UUID) -> Iterator[Connection]:
    """A read transaction that sees only ``tenant_id``'s rows.

    The role and the tenant are both transaction-local (``SET LOCAL``, ``set_config(..., true)``):
    they end with the transaction, so a pooled connection never carries them to the next caller.
    The role neither owns the tables nor bypasses RLS, so the policy always applies, whichever
    login the pool uses (the runtime login, or an owner where one login does everything).
    """
    with engine.begin() as connection:
        connection.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        connection.execute(
            text("SELECT set_config(:name, :tenant, true)"),
            {"name": TENANT_SETTING, "tenant": str(tenant_id)},
        )
        yield connection


class PostgresAuditLog:
    """The audit log in PostgreSQL, keyset-paginated on the log position (newest first)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(
        self, tenant_id: UUID, where: AuditFilter, page: PageRequest
    ) -> Page[AuditEntryView]:
        query = select(audit_log).order_by(audit_log.c.position.desc()).limit(page.limit + 1)
        # tenant_id is in the query too, although RLS alone enforces it: it lets the planner use
        # the (tenant_id, ...) indexes.
        conditions = [audit_log.c.tenant_id == tenant_id]
        before = position_after(page)
        if before is not None:
            conditions.append(audit_log.c.position < before)
        if where.actor_id is not None:
            conditions.append(audit_log.c.actor_id == where.actor_id)
        if where.event_type is not None:
            conditions.append(audit_log.c.event_type == where.event_type)
        if where.aggregate_id is not None:
            conditions.append(audit_log.c.aggregate_id == where.aggregate_id)
        if where.since is not None:
            conditions.append(audit_log.c.recorded_at >= where.since)
        if where.until is not None:
            conditions.append(audit_log.c.recorded_at < where.until)
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query.where(*conditions)).mappings().all()
        items = [
            AuditEntryView(**{key: value for key, value in row.items() if key != "tenant_id"})
            for row in rows[: page.limit]
        ]
        more = len(rows) > page.limit
        return Page(items, position_cursor(items[-1].position) if more else None)
