"""When to tell a customer "your turn is near": a pure fold over what happens to their ticket.

A ticket's *stint* is its time in one queue: it opens when the ticket is issued or transferred.
Within a stint the message goes out once, at the first update that finds the ticket waiting
with its position or its ETA at or under the tenant's threshold, including the update that
opens the stint (a ticket issued third in line is told at once). Being called or recalled ends
the stint's waiting; cancelling, a no-show or completion end the ticket. Only a transfer opens
a new stint, and with it the right to one more message.

The decision carries the stint's opening event id: the notifier derives the message id from it
(:func:`domain.delivery.message_id`), so deciding twice in one stint, after a crash or on a
redelivered record, names the same ledger entry and sends nothing more.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from uuid import UUID

from domain.errors import InvalidInput


class TicketChange(StrEnum):
    """What happened to a ticket, as far as "your turn is near" cares."""

    ISSUED = "issued"
    MOVED = "moved"
    """Its position or ETA changed while it waits (others called, joined ahead, "more time")."""
    TRANSFERRED = "transferred"
    CALLED = "called"
    RECALLED = "recalled"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    COMPLETED = "completed"


OPENS_STINT = frozenset({TicketChange.ISSUED, TicketChange.TRANSFERRED})
ENDS_WAITING = frozenset({TicketChange.CALLED, TicketChange.RECALLED})
ENDS_TICKET = frozenset({TicketChange.CANCELLED, TicketChange.NO_SHOW, TicketChange.COMPLETED})


@dataclass(frozen=True)
class TicketUpdate:
    """One change to a ticket with its position (1 = next) and ETA after it, when known."""

    change: TicketChange
    event_id: UUID
    position: int | None = None
    eta_minutes: float | None = None


@dataclass(frozen=True)
class NearThresholds:
    """A tenant's "near" thresholds; either one reached is enough. ``None`` switches one off."""

    position: int | None = 3
    eta_minutes: float | None = 5

    def __post_init__(self) -> None:
        if self.position is not None and self.position < 1:
            raise InvalidInput("turn_near.position must be at least 1 (1 is the next ticket)")
        if self.eta_minutes is not None and self.eta_minutes < 0:
            raise InvalidInput("turn_near.eta_minutes cannot be negative")

    def reached(self, position: int | None, eta_minutes: float | None) -> bool:
        """Whether a waiting ticket at ``position`` with ``eta_minutes`` to go is near."""
        near_by_position = (
            self.position is not None and position is not None and position <= self.position
        )
        near_by_eta = (
            self.eta_minutes is not None
            and eta_minutes is not None
            and eta_minutes <= self.eta_minutes
        )
        return near_by_position or near_by_eta


@dataclass(frozen=True)
class TurnNearState:
    """What the notifier keeps per ticket between events (small and serialisable)."""

    stint_event_id: UUID | None = None
    waiting: bool = False
    notified: bool = False
    closed: bool = False


@dataclass(frozen=True)
class TurnNearDecision:
    """The state after an update and whether that update sends the message; ``stint_event_id``
    keys the message id when it does."""

    state: TurnNearState
    send: bool

    @property
    def stint_event_id(self) -> UUID | None:
        """The event that opened the stint the message belongs to."""
        return self.state.stint_event_id


def decide_turn_near(
    state: TurnNearState, update: TicketUpdate, thresholds: NearThresholds
) -> TurnNearDecision:
    """Apply ``update`` to ``state`` and say whether it is the one that sends "turn near".

    Updates outside any known stint (a ticket whose issue this notifier never saw) change
    nothing: without the stint's event there is no id to keep the message single.
    """
    if state.closed:
        return TurnNearDecision(state, send=False)
    change = update.change
    if change in ENDS_TICKET:
        return TurnNearDecision(replace(state, waiting=False, closed=True), send=False)
    if change in ENDS_WAITING:
        return TurnNearDecision(replace(state, waiting=False), send=False)
    if change in OPENS_STINT:
        state = TurnNearState(stint_event_id=update.event_id, waiting=True)
    if not state.waiting or state.notified:
        return TurnNearDecision(state, send=False)
    if thresholds.reached(update.position, update.eta_minutes):
        return TurnNearDecision(replace(state, notified=True), send=True)
    return TurnNearDecision(state, send=False)


def turn_near_sends(history: Iterable[TicketUpdate], thresholds: NearThresholds) -> list[int]:
    """The indices of the updates in ``history`` that send "your turn is near"."""
    state = TurnNearState()
    sends = []
    for index, update in enumerate(history):
        decision = decide_turn_near(state, update, thresholds)
        state = decision.state
        if decision.send:
            sends.append(index)
    return sends
