"""Ticket numbers: the service code and a counter that restarts each day per service."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event


def format_ticket_number(service_code: str, sequence: int) -> str:
    """``A`` and 7 give ``A-007``; past 999 the number simply grows (``A-1000``)."""
    return f"{service_code}-{sequence:03d}"


class DailyCounter(Aggregate):
    """Hands out a service's ticket numbers for one local day (``day`` is ISO: ``2026-11-27``)."""

    @staticmethod
    def create_id(service_id: UUID, day: str) -> UUID:  # type: ignore[override]
        """Deterministic id, so the day's counter is found without a lookup."""
        return uuid5(NAMESPACE_URL, f"smartqueue:daily-counter:{service_id}:{day}")

    @event("Started")
    def __init__(self, service_id: UUID, day: str) -> None:
        self.service_id = service_id
        self.day = day
        self.last = 0

    def take(self) -> int:
        """The next sequence number of the day (1, 2, 3, ...)."""
        self._number_taken(number=self.last + 1)
        return self.last

    @event("NumberTaken")
    def _number_taken(self, number: int) -> None:
        self.last = number
