"""What staff see of appointments, the day list's filter and the ports the appointment use
cases schedule through (split from :mod:`application.appointments`, which decides)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from uuid import UUID

import msgspec

from application.paging import Page, PageRequest
from domain.appointments import LIVE, Appointment, AppointmentStatus
from domain.errors import InvalidInput

STATUS_FILTERS = ("live", "all", *(status.value for status in AppointmentStatus))
"""The day list's ``status`` filter: ``live`` (holding a place: booked or rescheduled, the
default), ``all``, or one status."""
APPOINTMENT_LINK = "/a/{token}"
"""The customer's "my appointment" page; the token is an appointment pass (a
:class:`~application.ports.TicketPass` under its own key whose ``ticket_id`` is the
appointment's id)."""


class AppointmentView(msgspec.Struct, kw_only=True):
    """An appointment as staff see it (no personal data: the customer is an id)."""

    id: UUID
    site_id: UUID
    service_id: UUID
    day: str
    """The site's local day of the start (ISO)."""
    start: datetime
    end: datetime
    code: str
    """The booking code, unique per site and day."""
    status: str
    customer_id: UUID | None
    cancelled_at: datetime | None
    ticket_id: UUID | None = None
    """The ticket its check-in issued (see ``placement``)."""
    placement: str | None = None
    """Why that ticket stands where it does: ``booked_time``, ``priority_boost`` (the queue's
    boost), or ``walk_in`` when it came late."""


def status_filter(status: str) -> frozenset[str] | None:
    """The statuses a ``status`` filter of the day list keeps (``None``: every one)."""
    if status not in STATUS_FILTERS:
        raise InvalidInput(f"status must be one of {', '.join(STATUS_FILTERS)}")
    if status == "all":
        return None
    if status == "live":
        return frozenset(str(live) for live in LIVE)
    return frozenset({status})


@dataclass(frozen=True)
class AppointmentFilter:
    """Which appointments of the day list: a site's local day, and each given condition."""

    site_id: UUID
    day: date
    statuses: frozenset[str] | None = None
    """``None``: any status."""
    service_id: UUID | None = None
    customer_id: UUID | None = None


class AppointmentRecords(Protocol):
    """The appointments read model's query side (PostgreSQL, under the tenant's row-level
    security): it trails commands by the projection's lag."""

    def search(
        self, tenant_id: UUID, where: AppointmentFilter, page: PageRequest
    ) -> Page[AppointmentView]:
        """A page of ``tenant_id``'s appointments matching ``where``, by start then id."""


class HoldView(msgspec.Struct, kw_only=True):
    """A place held for an online booker until ``expires_at``; ``schedule_id`` and ``id``
    name it (the public API hands them out inside a capability token only)."""

    id: UUID
    schedule_id: UUID
    site_id: UUID
    service_id: UUID
    start: datetime
    end: datetime
    expires_at: datetime


class HoldExpiryScheduler(Protocol):
    """Records a hold's expiry once its time has come, unless it was booked or released by
    then (``infrastructure/jobs/hold_expiry.py``)."""

    def schedule_hold_expiry(
        self, tenant_id: UUID, schedule_id: UUID, hold_id: UUID, at: datetime
    ) -> None: ...


class NoShowScheduler(Protocol):
    """Marks an appointment no-show at the end of its check-in window, unless it was checked in,
    cancelled or moved by then (``infrastructure/jobs/appointment_no_show.py``)."""

    def schedule_no_show(self, tenant_id: UUID, appointment_id: UUID, at: datetime) -> None: ...


def appointment_view(appointment: Appointment) -> AppointmentView:
    """What staff see of an appointment."""
    return AppointmentView(
        id=appointment.id,
        site_id=appointment.site_id,
        service_id=appointment.service_id,
        day=appointment.day,
        start=appointment.start,
        end=appointment.end,
        code=appointment.code,
        status=str(AppointmentStatus(appointment.status)),
        customer_id=appointment.customer_id,
        cancelled_at=appointment.cancelled_at,
        ticket_id=appointment.ticket_id,
        placement=appointment.placement,
    )
