"""The appointments read model in memory: the projection applied to an in-memory application's
log on each query (so it never trails), answering as the PostgreSQL records do."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from application.appointment_sweep import PastAppointment
from application.appointment_views import AppointmentFilter, AppointmentView
from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from domain.appointments import LIVE
from projections.appointments import AppointmentChange, AppointmentRow, AppointmentsProjection
from tests.unit.event_log import logged_events


@dataclass
class MemoryAppointments:
    """The ``AppointmentsView``, ``AppointmentRecords`` and ``PastAppointments`` ports."""

    app: object
    rows: dict[UUID, AppointmentRow] = field(default_factory=dict)
    position: int = 0

    def add_appointment(self, row: AppointmentRow) -> None:
        self.rows[row.appointment_id] = row

    def change_appointment(self, appointment_id: UUID, change: AppointmentChange) -> None:
        if appointment_id in self.rows:
            self.rows[appointment_id] = change(self.rows[appointment_id])

    def catch_up(self) -> None:
        projection = AppointmentsProjection()
        for event in logged_events(self.app, self.position):  # type: ignore[arg-type]
            self.position += 1
            projection.handle(event, self.position, self)

    def search(
        self, tenant_id: UUID, where: AppointmentFilter, page: PageRequest
    ) -> Page[AppointmentView]:
        self.catch_up()
        rows = sorted(
            (
                row
                for row in self.rows.values()
                if row.tenant_id == tenant_id
                and row.site_id == where.site_id
                and row.day == where.day
                and (where.statuses is None or row.status in where.statuses)
                and where.service_id in (None, row.service_id)
                and where.customer_id in (None, row.customer_id)
            ),
            key=_key,
        )
        if page.cursor is not None:
            after = decode_cursor(page.cursor)
            rows = [row for row in rows if _key(row) > after]
        chunk = rows[: page.limit]
        more = len(rows) > page.limit
        return Page([_view(row) for row in chunk], encode_cursor(_key(chunk[-1])) if more else None)

    def past_start(self, now: datetime, limit: int) -> list[PastAppointment]:
        self.catch_up()
        live = sorted(
            (row for row in self.rows.values() if row.status in LIVE and row.start <= now),
            key=lambda row: row.start,
        )
        return [PastAppointment(row.tenant_id, row.appointment_id) for row in live[:limit]]


def _key(row: AppointmentRow) -> str:
    return f"{row.start.astimezone(UTC).isoformat()}|{row.appointment_id}"


def _view(row: AppointmentRow) -> AppointmentView:
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
