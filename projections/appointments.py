"""The appointments read model: one row per appointment, for the staff's day list and the
worker's no-show sweep.

A row holds what the list shows and filters on: ids, the site's local day, the times, the
booking code, the status, the ticket its check-in issued and why it stands where it does. No
personal data: the customer is an id. Each ``Appointment`` event changes its row exactly as it
changes the aggregate, so a rebuilt table equals the incrementally written one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, ClassVar, Protocol
from uuid import UUID

from domain.appointments import Appointment, AppointmentStatus
from domain.booking import WALK_IN
from projections.base import Handler, Projection


@dataclass(frozen=True, slots=True)
class AppointmentRow:
    """One appointment as the day list shows it."""

    appointment_id: UUID
    tenant_id: UUID
    site_id: UUID
    service_id: UUID
    day: date
    start: datetime
    end: datetime
    code: str
    status: str
    customer_id: UUID | None
    ticket_id: UUID | None = None
    placement: str | None = None
    cancelled_at: datetime | None = None


AppointmentChange = Callable[[AppointmentRow], AppointmentRow]


class AppointmentsView(Protocol):
    """Where the rows go (PostgreSQL in production)."""

    def add_appointment(self, row: AppointmentRow) -> None:
        """An appointment was booked."""

    def change_appointment(self, appointment_id: UUID, change: AppointmentChange) -> None:
        """Replace the appointment's row by ``change(row)``; nothing if the row is unknown."""


def _booked(_: Any, event: Any, position: int, view: AppointmentsView) -> None:
    view.add_appointment(
        AppointmentRow(
            appointment_id=event.originator_id,
            tenant_id=event.tenant_id,
            site_id=event.site_id,
            service_id=event.service_id,
            day=date.fromisoformat(event.day),
            start=event.start,
            end=event.end,
            code=event.code,
            status=str(AppointmentStatus.BOOKED),
            customer_id=event.customer_id,
        )
    )


def _changing(change: Callable[[AppointmentRow, Any], AppointmentRow]) -> Handler:
    """A handler applying ``change(row, event)`` to the event's appointment's row."""

    def handle(_: Any, event: Any, position: int, view: AppointmentsView) -> None:
        view.change_appointment(event.originator_id, lambda row: change(row, event))

    return handle


def rescheduled(row: AppointmentRow, event: Any) -> AppointmentRow:
    return replace(
        row,
        day=date.fromisoformat(event.day),
        start=event.start,
        end=event.end,
        code=event.code,
        status=str(AppointmentStatus.RESCHEDULED),
    )


def cancelled(row: AppointmentRow, event: Any) -> AppointmentRow:
    return replace(row, status=str(AppointmentStatus.CANCELLED), cancelled_at=event.at)


def checked_in(row: AppointmentRow, event: Any) -> AppointmentRow:
    status = str(AppointmentStatus.CHECKED_IN)
    if event.placement == WALK_IN:  # came too late: a walk-in ticket, the appointment missed
        status = str(AppointmentStatus.NO_SHOW)
    return replace(row, status=status, ticket_id=event.ticket_id, placement=event.placement)


def marked_no_show(row: AppointmentRow, event: Any) -> AppointmentRow:
    return replace(row, status=str(AppointmentStatus.NO_SHOW))


def served(row: AppointmentRow, event: Any) -> AppointmentRow:
    return replace(row, status=str(AppointmentStatus.SERVED))


class AppointmentsProjection(Projection[AppointmentsView]):
    """Appointment events into one row per appointment."""

    name = "appointments"
    handlers: ClassVar[dict[type, Handler]] = {
        Appointment.Booked: _booked,
        Appointment.Rescheduled: _changing(rescheduled),
        Appointment.Cancelled: _changing(cancelled),
        Appointment.CheckedIn: _changing(checked_in),
        Appointment.MarkedNoShow: _changing(marked_no_show),
        Appointment.Served: _changing(served),
    }

    def tables(self) -> tuple[str, ...]:
        return ("appointments",)
