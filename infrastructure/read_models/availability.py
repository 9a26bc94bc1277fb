"""The availability read model in PostgreSQL: the projection's view (rows buffered per batch) and
the query behind ``GET sites/{id}/availability/``, under the tenant's row-level security."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, select

from infrastructure.postgres.row_buffer import RowBuffer
from infrastructure.postgres.tables import availability
from infrastructure.postgres.tenancy import tenant_transaction
from projections.availability import ScheduleChange, ScheduleDay


class PostgresAvailabilityView:
    """Buffers a batch's schedule rows; writes them at ``flush``."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.schedules = RowBuffer(tables["availability"], ScheduleDay)

    def add_schedule(self, row: ScheduleDay) -> None:
        self.schedules.put(row)

    def change_schedule(self, schedule_id: UUID, change: ScheduleChange) -> None:
        self.schedules.change((schedule_id,), change)

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        self.schedules.flush(connection)


class PostgresAvailability:
    """Reads taken counts as the reader role, for one tenant."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def taken(
        self, tenant_id: UUID, site_id: UUID, service_id: UUID, first: date, last: date
    ) -> dict[str, int]:
        """The taken count of each slot (by its UTC start, ISO) of the days ``first``..``last``."""
        query = select(availability.c.taken).where(
            availability.c.tenant_id == tenant_id,  # RLS enforces it; this lets the index help
            availability.c.site_id == site_id,
            availability.c.service_id == service_id,
            availability.c.day.between(first, last),
        )
        counts: dict[str, int] = {}
        with tenant_transaction(self.engine, tenant_id) as connection:
            for (taken,) in connection.execute(query):
                counts.update(taken)
        return counts
