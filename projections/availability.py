"""The availability read model: the places taken in each slot of a service at a site, per local
day, as the ``Schedule`` aggregates hold them.

One row per schedule (site, service, local day): ``taken`` counts the booked and held places of
each slot (by the slot's start in UTC, ISO: ``domain.schedule.slot_key``) and ``places`` says
which slot each appointment (by its id) or hold (``hold:<id>``) keeps, since
``Schedule.PlaceFreed`` and ``Schedule.HoldReleased`` name only the holder. Each event changes
its schedule's row exactly as the aggregate changes its bookings and holds, so the row's counts
equal ``Schedule.taken_by_slot()``: a hold counts until it is released or its expiry is recorded
(a moment after it runs out), and a hold that becomes a booking moves its place to the
appointment (``HoldBooked``), never counted twice. Free places (capacity minus taken) are worked
out at query time from the service's current rules (``application.availability``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, ClassVar, Protocol
from uuid import UUID

from domain.schedule import Schedule, slot_key
from projections.base import Handler, Projection


@dataclass(frozen=True, slots=True)
class ScheduleDay:
    """One schedule's row: the taken count of each slot, and each appointment's slot."""

    schedule_id: UUID
    tenant_id: UUID
    site_id: UUID
    service_id: UUID
    day: date
    taken: dict[str, int] = field(default_factory=dict)
    places: dict[str, str] = field(default_factory=dict)


ScheduleChange = Callable[[ScheduleDay], ScheduleDay]


class AvailabilityView(Protocol):
    """Where the rows go (PostgreSQL in production)."""

    def add_schedule(self, row: ScheduleDay) -> None:
        """A schedule opened."""

    def change_schedule(self, schedule_id: UUID, change: ScheduleChange) -> None:
        """Replace the schedule's row by ``change(row)``; nothing if the row is unknown."""


def taken_place(row: ScheduleDay, appointment_id: str, key: str) -> ScheduleDay:
    """The row once ``appointment_id`` holds a place in slot ``key``."""
    taken, places = dict(row.taken), dict(row.places)
    previous = places.get(appointment_id)
    if previous is not None:  # never happens: the aggregate frees a place before retaking it
        taken[previous] -= 1
    places[appointment_id] = key
    taken[key] = taken.get(key, 0) + 1
    return replace(row, taken={k: n for k, n in taken.items() if n > 0}, places=places)


def freed_place(row: ScheduleDay, appointment_id: str) -> ScheduleDay:
    """The row once ``appointment_id`` no longer holds a place."""
    places = dict(row.places)
    key = places.pop(appointment_id, None)
    if key is None:
        return row
    taken = dict(row.taken)
    taken[key] -= 1
    return replace(row, taken={k: n for k, n in taken.items() if n > 0}, places=places)


def hold_key(hold_id: Any) -> str:
    """A hold's key in ``places`` (apart from appointment ids)."""
    return f"hold:{hold_id}"


def moved_place(row: ScheduleDay, holder: str, appointment_id: str) -> ScheduleDay:
    """The row once the place ``holder`` keeps is the appointment's (same slot, same count)."""
    places = dict(row.places)
    key = places.pop(holder, None)
    if key is None:  # never happens: a hold is recorded before it is booked
        return row
    places[appointment_id] = key
    return replace(row, places=places)


def _opened(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    view.add_schedule(
        ScheduleDay(
            schedule_id=event.originator_id,
            tenant_id=event.tenant_id,
            site_id=event.site_id,
            service_id=event.service_id,
            day=date.fromisoformat(event.day),
        )
    )


def _taken(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    appointment_id, key = str(event.appointment_id), slot_key(event.start)
    view.change_schedule(event.originator_id, lambda row: taken_place(row, appointment_id, key))


def _freed(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    appointment_id = str(event.appointment_id)
    view.change_schedule(event.originator_id, lambda row: freed_place(row, appointment_id))


def _held(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    holder, key = hold_key(event.hold_id), slot_key(event.start)
    view.change_schedule(event.originator_id, lambda row: taken_place(row, holder, key))


def _hold_released(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    holder = hold_key(event.hold_id)
    view.change_schedule(event.originator_id, lambda row: freed_place(row, holder))


def _hold_booked(_: Any, event: Any, position: int, view: AvailabilityView) -> None:
    holder, appointment_id = hold_key(event.hold_id), str(event.appointment_id)
    view.change_schedule(event.originator_id, lambda row: moved_place(row, holder, appointment_id))


class AvailabilityProjection(Projection[AvailabilityView]):
    """Schedule events into one row per schedule (bookings and holds alike)."""

    name = "availability"
    handlers: ClassVar[dict[type, Handler]] = {
        Schedule.Opened: _opened,
        Schedule.PlaceTaken: _taken,
        Schedule.PlaceFreed: _freed,
        Schedule.PlaceHeld: _held,
        Schedule.HoldReleased: _hold_released,
        Schedule.HoldBooked: _hold_booked,
    }

    def tables(self) -> tuple[str, ...]:
        return ("availability",)
