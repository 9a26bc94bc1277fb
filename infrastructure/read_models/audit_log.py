"""The audit log read model: its PostgreSQL writer and its query, side by side."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, select

from application.audit import AuditEntryView, AuditFilter, position_after, position_cursor
from application.paging import Page, PageRequest
from infrastructure.postgres.tables import audit_log
from infrastructure.postgres.tenancy import tenant_transaction
from projections.audit_log import AuditEntry

# -- the writer ----------------------------------------------------------------------------------

# The row's columns: the recorded fields and the tenant.
ENTRY_FIELDS = AuditEntry.__struct_fields__


class PostgresAuditLogView:
    """Collects a batch's audit entries and inserts them with one statement at ``flush``."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.pending: list[dict[str, Any]] = []

    def append(self, entry: AuditEntry) -> None:
        # Shallow on purpose: ``dataclasses.asdict`` deep-copied the event data and took over
        # half of a rebuild's time.
        self.pending.append({name: getattr(entry, name) for name in ENTRY_FIELDS})

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        if self.pending:
            connection.execute(self.table.insert(), self.pending)
            self.pending = []


# -- the query -----------------------------------------------------------------------------------


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
