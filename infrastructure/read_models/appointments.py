"""The appointments read model in PostgreSQL: the projection's view (rows buffered per batch),
the staff's day list under the tenant's row-level security, and the worker's sweep of live
appointments whose start has passed, across tenants."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, Engine, Table, literal, select, text, tuple_

from application.appointment_sweep import PastAppointment
from application.appointment_views import AppointmentFilter, AppointmentView
from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from domain.appointments import LIVE
from domain.errors import InvalidInput
from infrastructure.postgres.row_buffer import RowBuffer
from infrastructure.postgres.row_security import PROJECTOR_ROLE
from infrastructure.postgres.tables import appointments
from infrastructure.postgres.tenancy import tenant_transaction
from projections.appointments import AppointmentChange, AppointmentRow

INVALID_CURSOR = "cursor is not valid; pass the cursor of the previous page"

# -- the writer ----------------------------------------------------------------------------------


class PostgresAppointmentsView:
    """Buffers a batch's appointment rows; writes them at ``flush``."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.rows = RowBuffer(tables["appointments"], AppointmentRow)

    def add_appointment(self, row: AppointmentRow) -> None:
        self.rows.put(row)

    def change_appointment(self, appointment_id: UUID, change: AppointmentChange) -> None:
        self.rows.change((appointment_id,), change)

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        self.rows.flush(connection)


# -- the queries ---------------------------------------------------------------------------------


class DayListKey(msgspec.Struct, frozen=True):
    """Where an appointment stands in the day list: its start, then its id."""

    start: datetime
    appointment_id: UUID

    def cursor(self) -> str:
        return encode_cursor(msgspec.json.encode(self).decode())

    @classmethod
    def after(cls, page: PageRequest) -> DayListKey | None:
        if page.cursor is None:
            return None
        try:
            return msgspec.json.decode(decode_cursor(page.cursor), type=cls)
        except msgspec.DecodeError:
            raise InvalidInput(INVALID_CURSOR) from None


def _view(row: Any) -> AppointmentView:
    return AppointmentView(
        id=row.appointment_id,
        site_id=row.site_id,
        service_id=row.service_id,
        day=row.day.isoformat(),
        start=row.start,
        end=row.end,
        code=row.code,
        status=row.status,
        customer_id=row.customer_id,
        cancelled_at=row.cancelled_at,
        ticket_id=row.ticket_id,
        placement=row.placement,
    )


class PostgresAppointmentRecords:
    """The ``AppointmentRecords`` port: reads as the reader role, for one tenant."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def search(
        self, tenant_id: UUID, where: AppointmentFilter, page: PageRequest
    ) -> Page[AppointmentView]:
        table = appointments.c
        conditions = [  # tenant_id: RLS enforces it; it lets the (tenant_id, ...) index help
            table.tenant_id == tenant_id,
            table.site_id == where.site_id,
            table.day == where.day,
        ]
        if where.statuses is not None:
            conditions.append(table.status.in_(sorted(where.statuses)))
        if where.service_id is not None:
            conditions.append(table.service_id == where.service_id)
        if where.customer_id is not None:
            conditions.append(table.customer_id == where.customer_id)
        after = DayListKey.after(page)
        if after is not None:
            conditions.append(
                tuple_(table.start, table.appointment_id)
                > tuple_(
                    literal(after.start, table.start.type),
                    literal(after.appointment_id, table.appointment_id.type),
                )
            )
        query = (
            select(appointments)
            .where(*conditions)
            .order_by(table.start, table.appointment_id)
            .limit(page.limit + 1)
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query).all()
        items = [_view(row) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        cursor = DayListKey(items[-1].start, items[-1].id).cursor() if more else None
        return Page(items, cursor)


class PostgresPastAppointments:
    """The sweep's port: every tenant's live appointments whose start has passed, earliest
    first. The worker knows no tenant: the query runs in a read-only transaction as the
    projector role, whose policy sees every tenant's rows, and returns only ids."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def past_start(self, now: datetime, limit: int) -> list[PastAppointment]:
        table = appointments.c
        query = (
            select(table.tenant_id, table.appointment_id)
            .where(table.status.in_(sorted(str(status) for status in LIVE)), table.start <= now)
            .order_by(table.start)
            .limit(limit)
        )
        with self.engine.begin() as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            connection.execute(text(f"SET LOCAL ROLE {PROJECTOR_ROLE}"))
            rows = connection.execute(query).all()
        return [PastAppointment(*row) for row in rows]
