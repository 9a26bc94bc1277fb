"""Booking rules per service, the slots of a local day, and the refusals of booking.

Pure: a slot list comes from a site's opening intervals (``domain.hours.open_intervals``) and a
service's rules; whether a start may be booked is decided against a clock passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from domain.errors import Conflict, InvalidInput, NotFound

# (smallest, largest) accepted value of each rule, in its unit.
LIMITS: dict[str, tuple[int, int]] = {
    "slot_minutes": (5, 24 * 60),
    "capacity": (1, 1000),
    "lead_minutes": (0, 30 * 24 * 60),
    "horizon_days": (1, 366),
    "early_minutes": (0, 24 * 60),
    "late_minutes": (0, 24 * 60),
    "cancel_cutoff_minutes": (0, 30 * 24 * 60),
    "per_customer_per_day": (1, 100),
    "hold_minutes": (1, 30),
}


class AppointmentError(Conflict):
    """Base of booking refusals: the request is well formed but the schedule forbids it."""

    code = "appointment_conflict"


class SlotFull(AppointmentError):
    """Raised when every place of the slot is taken."""

    code = "slot_full"


class TooLateToBook(AppointmentError):
    """Raised when the slot starts sooner than the service's lead time (or has passed)."""

    code = "too_late_to_book"


class BeyondHorizon(AppointmentError):
    """Raised when the slot's day is further ahead than the service's horizon."""

    code = "beyond_horizon"


class OutsideOpeningHours(AppointmentError):
    """Raised when the slot does not lie inside the site's opening hours of its day."""

    code = "outside_opening_hours"


class CustomerLimit(AppointmentError):
    """Raised when the customer already holds the most appointments allowed that day."""

    code = "customer_limit"


class TooLateToCancel(AppointmentError):
    """Raised when an appointment is cancelled or moved after the service's cut-off."""

    code = "too_late_to_cancel"


class AppointmentClosed(AppointmentError):
    """Raised when a cancelled appointment is cancelled or moved again."""

    code = "appointment_closed"


class TooEarlyToCheckIn(AppointmentError):
    """Raised when an appointment is checked in before its service's check-in window opens;
    ``opens_at`` is when it does."""

    code = "too_early"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__(
            f"check-in opens at {opens_at.isoformat()}, "
            "shortly before the appointment (the service's early_minutes)"
        )
        self.opens_at = opens_at


class AlreadyCheckedIn(AppointmentError):
    """Raised when an appointment that already has its ticket is checked in again."""

    code = "already_checked_in"


class NoQueueForService(AppointmentError):
    """Raised when no open queue of the appointment's site serves its service."""

    code = "no_queue_for_service"


class HoldExpired(AppointmentError):
    """Raised when a booking names a hold that has expired, was released or never existed in
    that schedule: its place is no longer kept for the customer."""

    code = "hold_expired"


class HoldStillLive(AppointmentError):
    """Raised when a hold's expiry is recorded before its time (a job run early);
    ``expires_at`` is when it may be."""

    code = "hold_still_live"

    def __init__(self, expires_at: datetime) -> None:
        super().__init__(f"the hold is kept until {expires_at.isoformat()}")
        self.expires_at = expires_at


class HoldNotFound(NotFound):
    """Raised when a hold token is malformed, forged or expired, or names no live hold."""

    code = "hold_not_found"


class AppointmentNotFound(NotFound):
    """Raised when no appointment has the given id in this tenant."""

    code = "appointment_not_found"


@dataclass(frozen=True)
class BookingRules:
    """How a service is booked: slot length, parallel places, how soon and how far ahead, the
    check-in window around the start, the cancellation cut-off, a limit per customer, and how
    long a customer booking online holds a place before confirming (``hold_minutes``)."""

    slot_minutes: int = 15
    capacity: int = 1
    lead_minutes: int = 0
    horizon_days: int = 60
    early_minutes: int = 30
    late_minutes: int = 10
    cancel_cutoff_minutes: int = 0
    per_customer_per_day: int = 1
    hold_minutes: int = 5

    def __post_init__(self) -> None:
        for field in fields(self):
            value = getattr(self, field.name)
            low, high = LIMITS[field.name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise InvalidInput(
                    f"booking.{field.name} must be a whole number from {low} to {high}; "
                    f"got {value!r}"
                )

    @classmethod
    def of(cls, stored: Mapping[str, Any] | None) -> BookingRules:
        """The rules stored on a service (``None``: never set, the defaults)."""
        return cls(**(stored or {}))

    def changed(self, **values: int | None) -> BookingRules:
        """These rules with the given values replaced (``None`` keeps one)."""
        unknown = sorted(set(values) - set(LIMITS))
        if unknown:
            raise InvalidInput(f"unknown booking rules: {', '.join(unknown)}")
        kept = {name: value for name, value in values.items() if value is not None}
        return BookingRules(**{**asdict(self), **kept})

    def as_dict(self) -> dict[str, int]:
        """Plain values, as events and views carry them."""
        return asdict(self)


def slot_starts(
    intervals: list[tuple[datetime, datetime]], slot_minutes: int
) -> list[tuple[datetime, datetime]]:
    """The ``(start, end)`` of every whole slot inside the opening intervals, in order, in the
    intervals' time zone.

    Slots are counted in elapsed time from each opening, so a day with a DST change has neither
    a missing nor a doubled slot: 02:00-03:00 that never happens holds no slot, and the hour that
    happens twice holds twice as many. (Arithmetic is done in UTC: Python adds and subtracts
    datetimes of one zone on the wall clock, which a DST change breaks.)
    """
    length = timedelta(minutes=slot_minutes)
    slots = []
    for opens, closes in intervals:
        zone = opens.tzinfo
        start, end = opens.astimezone(UTC), closes.astimezone(UTC)
        while start + length <= end:
            slots.append((start.astimezone(zone), (start + length).astimezone(zone)))
            start += length
    return slots


def local_day(instant: datetime, tz: tzinfo) -> date:
    """The site's calendar day of an instant."""
    return instant.astimezone(tz).date()


def check_bookable(
    rules: BookingRules,
    intervals: list[tuple[datetime, datetime]],
    start: datetime,
    now: datetime,
    tz: tzinfo,
) -> datetime:
    """The end of the slot starting at ``start``, if it may be booked at ``now``; else raise
    the rule it breaks (in this order: opening hours, lead time, horizon)."""
    start, now = start.astimezone(UTC), now.astimezone(UTC)
    ends = {
        slot_start.astimezone(UTC): slot_end
        for slot_start, slot_end in slot_starts(intervals, rules.slot_minutes)
    }
    end = ends.get(start)
    if end is None:
        if any(
            opens.astimezone(UTC) <= start < closes.astimezone(UTC) for opens, closes in intervals
        ):
            raise InvalidInput(
                f"start must be the start of a {rules.slot_minutes}-minute slot counted from "
                "the opening time"
            )
        raise OutsideOpeningHours("the site is not open at that time for this service")
    if start < now + timedelta(minutes=rules.lead_minutes):
        raise TooLateToBook(
            f"a slot must be booked at least {rules.lead_minutes} minutes before it starts"
        )
    if (local_day(start, tz) - local_day(now, tz)).days > rules.horizon_days:
        raise BeyondHorizon(f"slots can be booked at most {rules.horizon_days} days ahead")
    return end


BOOKED_TIME = "booked_time"
"""Checked in within the window: the ticket joins the queue placed by the booked time."""
WALK_IN = "walk_in"
"""Checked in after the window: a plain ticket at the end of the line, the appointment missed."""
PRIORITY_BOOST = "priority_boost"
"""Checked in within the window at a queue that boosts appointments (``appointment_placement``
``priority``): the ticket carries the queue's ``appointment_priority``, placed by its policy."""


def check_in_placement(rules: BookingRules, start: datetime, now: datetime) -> str:
    """How an appointment starting at ``start`` joins its queue if checked in at ``now``:
    ``booked_time`` from ``early_minutes`` before the start to ``late_minutes`` after it,
    ``walk_in`` later; earlier raises :class:`TooEarlyToCheckIn`."""
    start, now = start.astimezone(UTC), now.astimezone(UTC)
    opens_at = start - timedelta(minutes=rules.early_minutes)
    if now < opens_at:
        raise TooEarlyToCheckIn(opens_at)
    if now > start + timedelta(minutes=rules.late_minutes):
        return WALK_IN
    return BOOKED_TIME


def no_show_at(start: datetime, late_minutes: int) -> datetime:
    """When an appointment not checked in becomes a no-show: the end of its check-in window."""
    return start + timedelta(minutes=late_minutes)


def check_can_cancel(rules: BookingRules, start: datetime, now: datetime) -> None:
    """Raise :class:`TooLateToCancel` past the service's cancellation cut-off."""
    if now.astimezone(UTC) > start.astimezone(UTC) - timedelta(minutes=rules.cancel_cutoff_minutes):
        raise TooLateToCancel(
            f"an appointment can be cancelled or moved until {rules.cancel_cutoff_minutes} "
            "minutes before it starts"
        )


def bookable_from(rules: BookingRules, now: datetime, tz: tzinfo) -> tuple[datetime, date]:
    """The earliest start and the last local day :func:`check_bookable` accepts at ``now``
    (the lead time and the horizon), for listing the slots still open to booking."""
    now = now.astimezone(UTC)
    return now + timedelta(minutes=rules.lead_minutes), local_day(now, tz) + timedelta(
        days=rules.horizon_days
    )
