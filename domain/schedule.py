"""The Schedule aggregate: the places taken in one service's slots at one site on one local day.

It is the write model's capacity decision: a booking takes a place here and saves this schedule
with the appointment in one transaction, so two bookings of the last place cannot both succeed
(the second loses on optimistic concurrency, reloads, and finds the slot full).

A customer booking online first *holds* a place for a few minutes (``PlaceHeld``): it counts as
taken until it expires, is released (``HoldReleased``) or becomes the booking (``HoldBooked``,
one event, so the place is never free in between). Capacity decisions ignore holds past their
expiry, so a late expiry job never refuses a booking; the job records ``HoldReleased(expired)``
for the read model.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import cast
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.booking import CustomerLimit, HoldExpired, SlotFull

# Booking codes avoid characters read as others (0/O, 1/I/L, 2/Z, 5/S, 8/B, 6/G).
CODE_ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 5
CODE_SPACE = len(CODE_ALPHABET) ** CODE_LENGTH
# Coprime with CODE_SPACE (23 ** 5), so n -> n * step + offset visits every code once.
CODE_STEP = 1_000_003


def booking_code(schedule_id: UUID, prefix: str, sequence: int) -> str:
    """The ``sequence``-th code of a schedule: ``DEP-K7QMX``. Distinct for every sequence below
    :data:`CODE_SPACE`, not in an order a reader could guess; the service's code as prefix keeps
    codes of one site and day distinct across services."""
    value = (sequence * CODE_STEP + schedule_id.int) % CODE_SPACE
    letters = []
    for _ in range(CODE_LENGTH):
        value, digit = divmod(value, len(CODE_ALPHABET))
        letters.append(CODE_ALPHABET[digit])
    return f"{prefix}-{''.join(letters)}"


def slot_key(start: datetime) -> str:
    """The schedule's key of a slot: its start in UTC, ISO."""
    return start.astimezone(UTC).isoformat()


class Schedule(Aggregate):
    """Who holds a place in which slot of one service, at one site, on one local day."""

    # hold id -> {"start": slot key, "expires_at": datetime}. A class default, so schedules
    # recorded before holds existed read none; events replace it, never mutate it in place.
    # (Not annotated: the library would make an annotated default a constructor field.)
    holds = MappingProxyType({})

    @staticmethod
    def create_id(site_id: UUID, service_id: UUID, day: str) -> UUID:  # type: ignore[override]
        """Deterministic id, so a booking finds the day's schedule without a lookup."""
        return uuid5(NAMESPACE_URL, f"smartqueue:schedule:{site_id}:{service_id}:{day}")

    @event("Opened")
    def __init__(
        self, tenant_id: UUID, site_id: UUID, service_id: UUID, day: str, code_prefix: str
    ) -> None:
        self.tenant_id = tenant_id
        self.site_id = site_id
        self.service_id = service_id
        self.day = day
        self.code_prefix = code_prefix
        self.issued = 0
        # appointment id -> {"start": slot key, "customer_id": str | None, "code": str}
        self.bookings: dict[str, dict[str, str | None]] = {}
        self.cancelled: list[str] = []

    def taken(self, start: datetime, now: datetime | None = None) -> int:
        """How many places of the slot starting at ``start`` are booked or held (holds expired
        at ``now`` are not counted; ``None``: every hold not released yet)."""
        return self.taken_by_slot(now).get(slot_key(start), 0)

    def taken_by_slot(self, now: datetime | None = None) -> dict[str, int]:
        """Booked and held places per slot key (as :meth:`taken` counts them)."""
        counts: dict[str, int] = {}
        starts = [str(booking["start"]) for booking in self.bookings.values()]
        starts += [str(hold["start"]) for hold in self.holds.values() if _live(hold, now)]
        for key in starts:
            counts[key] = counts.get(key, 0) + 1
        return counts

    def live_hold(self, hold_id: UUID, now: datetime) -> Mapping[str, object] | None:
        """The hold, unless it expired at ``now``, was released, booked or never existed."""
        hold = self.holds.get(str(hold_id))
        return hold if hold is not None and _live(hold, now) else None

    def held_by(self, customer_id: UUID) -> int:
        """How many live appointments of the day the customer holds here."""
        return sum(1 for b in self.bookings.values() if b["customer_id"] == str(customer_id))

    def take(
        self,
        appointment_id: UUID,
        start: datetime,
        capacity: int,
        customer_id: UUID | None,
        per_customer: int,
        code: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """Hold a place of the slot for an appointment; returns its booking code (``code`` keeps
        the one it had, when it moves within the day). Holds expired at ``now`` leave their
        place free."""
        if self.taken(start, now) >= capacity:
            raise SlotFull("every place of this slot is taken")
        if customer_id is not None and self.held_by(customer_id) >= per_customer:
            raise CustomerLimit(
                f"a customer may hold at most {per_customer} appointment(s) a day for this service"
            )
        if code is None:
            code = booking_code(self.id, self.code_prefix, self.issued + 1)
            issued = self.issued + 1
        else:
            issued = self.issued
        self._place_taken(
            appointment_id=appointment_id,
            start=start,
            customer_id=customer_id,
            code=code,
            issued=issued,
        )
        return code

    @event("PlaceTaken")
    def _place_taken(
        self,
        appointment_id: UUID,
        start: datetime,
        customer_id: UUID | None,
        code: str,
        issued: int,
    ) -> None:
        self.issued = issued
        self.bookings[str(appointment_id)] = {
            "start": slot_key(start),
            "customer_id": None if customer_id is None else str(customer_id),
            "code": code,
        }

    def release(self, appointment_id: UUID, cancelled: bool) -> str | None:
        """Free the appointment's place (cancelled, or moved away); returns its code."""
        booking = self.bookings.get(str(appointment_id))
        if booking is None:
            return None
        self._place_freed(appointment_id=appointment_id, cancelled=cancelled)
        return booking["code"]

    @event("PlaceFreed")
    def _place_freed(self, appointment_id: UUID, cancelled: bool) -> None:
        del self.bookings[str(appointment_id)]
        if cancelled:
            self.cancelled.append(str(appointment_id))

    def hold(
        self, hold_id: UUID, start: datetime, capacity: int, now: datetime, expires_at: datetime
    ) -> None:
        """Keep a place of the slot for an online booker until ``expires_at``."""
        if self.taken(start, now) >= capacity:
            raise SlotFull("every place of this slot is taken")
        self._place_held(hold_id=hold_id, start=start, expires_at=expires_at)

    @event("PlaceHeld")
    def _place_held(self, hold_id: UUID, start: datetime, expires_at: datetime) -> None:
        self.holds = {
            **self.holds,
            str(hold_id): {"start": slot_key(start), "expires_at": expires_at},
        }

    def release_hold(self, hold_id: UUID, expired: bool) -> bool:
        """Give the held place back (the booker let it go, or it ran out: ``expired``); whether
        there was such a hold (one booked, released or expired already is left alone)."""
        if str(hold_id) not in self.holds:
            return False
        self._hold_released(hold_id=hold_id, expired=expired)
        return True

    @event("HoldReleased")
    def _hold_released(self, hold_id: UUID, expired: bool) -> None:
        self.holds = {key: hold for key, hold in self.holds.items() if key != str(hold_id)}

    def book_hold(
        self,
        hold_id: UUID,
        appointment_id: UUID,
        customer_id: UUID | None,
        per_customer: int,
        now: datetime,
    ) -> tuple[str, str]:
        """Turn a live hold into the appointment's place (no capacity check: the hold has it);
        returns the slot key and the booking code. :class:`HoldExpired` when the hold is gone."""
        hold = self.live_hold(hold_id, now)
        if hold is None:
            raise HoldExpired("the place was held for a few minutes only; choose a slot again")
        if customer_id is not None and self.held_by(customer_id) >= per_customer:
            raise CustomerLimit(
                f"a customer may hold at most {per_customer} appointment(s) a day for this service"
            )
        code = booking_code(self.id, self.code_prefix, self.issued + 1)
        self._hold_booked(
            hold_id=hold_id,
            appointment_id=appointment_id,
            customer_id=customer_id,
            code=code,
            issued=self.issued + 1,
        )
        return str(hold["start"]), code

    @event("HoldBooked")
    def _hold_booked(
        self,
        hold_id: UUID,
        appointment_id: UUID,
        customer_id: UUID | None,
        code: str,
        issued: int,
    ) -> None:
        start = self.holds[str(hold_id)]["start"]
        self.holds = {key: hold for key, hold in self.holds.items() if key != str(hold_id)}
        self.issued = issued
        self.bookings[str(appointment_id)] = {
            "start": str(start),
            "customer_id": None if customer_id is None else str(customer_id),
            "code": code,
        }


def _live(hold: Mapping[str, object], now: datetime | None) -> bool:
    expires_at = cast(datetime, hold["expires_at"])
    return now is None or now.astimezone(UTC) < expires_at.astimezone(UTC)
