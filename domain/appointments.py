"""The Appointment aggregate: one customer's booked visit to a service at a site.

Its place in a slot is held by the day's :class:`~domain.schedule.Schedule`, saved with it in one
transaction; who booked, moved or cancelled it (staff, customer, system) is in each event's
metadata, as for every aggregate.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.booking import WALK_IN, AlreadyCheckedIn, AppointmentClosed


class AppointmentStatus(StrEnum):
    """Where an appointment is in its life. ``checked_in``: its ticket is in the queue (and stays
    so when that ticket ends without service: no-show or cancelled); ``served``: the ticket its
    check-in issued was completed; ``no_show``: not checked in by the end of its window (a late
    arrival may still get a walk-in ticket, recorded on it, and stays missed)."""

    BOOKED = "booked"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    CHECKED_IN = "checked_in"
    NO_SHOW = "no_show"
    SERVED = "served"


LIVE = frozenset({AppointmentStatus.BOOKED, AppointmentStatus.RESCHEDULED})


class Appointment(Aggregate):
    """A place in a slot of a service at a site, and its booking code."""

    # Class defaults, so appointments recorded before check-in existed read them.
    ticket_id: UUID | None = None
    """The ticket its check-in issued, if any."""
    placement: str | None = None
    """Why its ticket stands where it does: ``booked_time``, ``priority_boost`` or ``walk_in``."""
    served_at: datetime | None = None
    """When the ticket its check-in issued was completed."""

    @event("Booked")
    def __init__(
        self,
        id: UUID,
        tenant_id: UUID,
        site_id: UUID,
        service_id: UUID,
        day: str,
        start: datetime,
        end: datetime,
        code: str,
        customer_id: UUID | None,
    ) -> None:
        self.tenant_id = tenant_id
        self.site_id = site_id
        self.service_id = service_id
        self.day = day
        self.start = start
        self.end = end
        self.code = code
        self.customer_id = customer_id
        self.status = AppointmentStatus.BOOKED
        self.cancelled_at: datetime | None = None

    def check_live(self, action: str) -> None:
        """Raise :class:`AppointmentClosed` unless the appointment still holds its place."""
        if self.status not in LIVE:
            raise AppointmentClosed(f"cannot {action} an appointment that is {self.status}")

    def reschedule(self, day: str, start: datetime, end: datetime, code: str) -> None:
        """Move to another slot (the schedules have moved its place)."""
        self.check_live("reschedule")
        self._rescheduled(day=day, start=start, end=end, code=code)

    @event("Rescheduled")
    def _rescheduled(self, day: str, start: datetime, end: datetime, code: str) -> None:
        self.day = day
        self.start = start
        self.end = end
        self.code = code
        self.status = AppointmentStatus.RESCHEDULED

    def cancel(self, at: datetime) -> None:
        """Give the place up (its schedule has freed it)."""
        self.check_live("cancel")
        self._cancelled(at=at)

    @event("Cancelled")
    def _cancelled(self, at: datetime) -> None:
        self.status = AppointmentStatus.CANCELLED
        self.cancelled_at = at

    def check_in(self, ticket_id: UUID, placement: str, at: datetime) -> None:
        """Record the ticket its check-in issued. Within the window (``booked_time``) it must
        still hold its place; late (``walk_in``) it may already be marked no-show, and stays
        missed. Once only: :class:`AlreadyCheckedIn` the second time."""
        self.check_can_check_in(placement)
        self._checked_in(ticket_id=ticket_id, placement=placement, at=at)

    def check_can_check_in(self, placement: str) -> None:
        """Raise :class:`AlreadyCheckedIn` once it has its ticket, :class:`AppointmentClosed`
        when cancelled (or marked no-show, unless it comes as a walk-in)."""
        if self.ticket_id is not None:
            raise AlreadyCheckedIn("this appointment is already checked in; its ticket was issued")
        if not (self.status in LIVE or (placement == WALK_IN and self.status == "no_show")):
            raise AppointmentClosed(f"cannot check in an appointment that is {self.status}")

    @event("CheckedIn")
    def _checked_in(self, ticket_id: UUID, placement: str, at: datetime) -> None:
        self.ticket_id = ticket_id
        self.placement = placement
        self.status = (
            AppointmentStatus.NO_SHOW if placement == WALK_IN else AppointmentStatus.CHECKED_IN
        )

    def mark_no_show(self, at: datetime) -> None:
        """Not checked in by the end of its window (the caller checks the time): it gives up
        its claim to its place. Only a live appointment (:class:`AppointmentClosed` else)."""
        self.check_live("mark no-show")
        self._marked_no_show(at=at)

    @event("MarkedNoShow")
    def _marked_no_show(self, at: datetime) -> None:
        self.status = AppointmentStatus.NO_SHOW

    @property
    def is_servable(self) -> bool:
        """True while its check-in's ticket (booked time) is in the queue: completing that
        ticket serves the appointment. A late walk-in stays ``no_show``."""
        return self.status == AppointmentStatus.CHECKED_IN

    def serve(self, ticket_id: UUID, at: datetime) -> None:
        """The ticket its check-in issued was completed. Only that ticket, and only once
        (:class:`AppointmentClosed` else)."""
        if self.ticket_id != ticket_id or not self.is_servable:
            raise AppointmentClosed(f"cannot serve an appointment that is {self.status}")
        self._served(ticket_id=ticket_id, at=at)

    @event("Served")
    def _served(self, ticket_id: UUID, at: datetime) -> None:
        self.status = AppointmentStatus.SERVED
        self.served_at = at
