"""Next-ticket selection: pure functions of the waiting line and the clock.

Every policy is a sort key, so "who goes next" and "what is my position" can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidInput


class Policy(StrEnum):
    """How a queue chooses the next ticket."""

    FIFO = "fifo"
    PRIORITY = "priority"
    SLA = "sla"

    @classmethod
    def parse(cls, value: str) -> Policy:
        """Return the policy named ``value`` or raise :class:`InvalidInput`."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise InvalidInput(f"unknown algorithm {value!r}; expected one of {names}") from None


class Placement(StrEnum):
    """Where a transferred ticket lands in its target queue."""

    FIRST = "first"
    LAST = "last"
    SORTED = "sorted"

    @classmethod
    def parse(cls, value: str) -> Placement:
        """Return the placement named ``value`` or raise :class:`InvalidInput`."""
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(p.value for p in cls)
            raise InvalidInput(f"unknown placement {value!r}; expected one of {names}") from None


@dataclass(frozen=True)
class WaitingTicket:
    """One entry of a queue's waiting line, with just what the policies need."""

    ticket_id: UUID
    rank: float
    """Place in arrival order; transfers may place a ticket between two others."""
    priority: int
    issued_at: datetime
    target_wait_seconds: int

    @property
    def deadline(self) -> datetime:
        """The moment this ticket breaches its service's target wait."""
        return self.issued_at + timedelta(seconds=self.target_wait_seconds)


SortKey = Callable[[WaitingTicket], tuple]


def _fifo(ticket: WaitingTicket) -> tuple:
    return (ticket.rank,)


def _priority(ticket: WaitingTicket) -> tuple:
    return (-ticket.priority, ticket.rank)


def _sla(ticket: WaitingTicket) -> tuple:
    # Ordering by remaining slack (deadline - now) is ordering by deadline: the ticket furthest past
    # its target, or closest to it, goes first. Priority then arrival break ties.
    return (ticket.deadline, -ticket.priority, ticket.rank)


_KEYS: dict[Policy, SortKey] = {Policy.FIFO: _fifo, Policy.PRIORITY: _priority, Policy.SLA: _sla}


def order_waiting(
    waiting: Iterable[WaitingTicket], now: datetime, policy: Policy
) -> list[WaitingTicket]:
    """The whole waiting line in the order the policy would call it."""
    del now  # every current policy is time-invariant in its order; kept for policies that are not
    return sorted(waiting, key=_KEYS[policy])


def select_next(waiting: Sequence[WaitingTicket], now: datetime, policy: Policy) -> UUID | None:
    """The ticket to call next, or ``None`` when nobody waits."""
    del now
    if not waiting:
        return None
    return min(waiting, key=_KEYS[policy]).ticket_id


def rank_for_placement(
    waiting: Sequence[WaitingTicket], placement: Placement, issued_at: datetime, next_rank: float
) -> float:
    """The arrival rank a ticket placed ``first``, ``last`` or ``sorted`` (by issue time) gets."""
    if not waiting or placement is Placement.LAST:
        return next_rank
    ranks = sorted(waiting, key=_fifo)
    if placement is Placement.FIRST:
        return ranks[0].rank - 1.0
    previous_rank = ranks[0].rank - 1.0
    for entry in ranks:
        if entry.issued_at > issued_at:
            return (previous_rank + entry.rank) / 2.0
        previous_rank = entry.rank
    return next_rank
