"""The Queue aggregate: it owns the waiting line, so choosing the next ticket is its decision."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidInput, QueueError, QueueFull, QueueNotAccepting
from domain.policies import (
    Placement,
    Policy,
    WaitingTicket,
    order_waiting,
    rank_for_placement,
    select_next,
)


class QueueStatus(StrEnum):
    """Whether a queue accepts new tickets (``open``) and can be called from."""

    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


MAX_AUTO_NO_SHOW_MINUTES = 24 * 60
MAX_PRIORITY = 10
"""The highest priority a ticket carries (0, the default, is none); ``application.tickets``
issues tickets within the same range."""


class AppointmentPlacement(StrEnum):
    """Where a checked-in appointment's ticket joins the queue when it comes on time:
    ``booked_time`` placed by its booked time, or ``priority`` issued with the queue's
    ``appointment_priority`` (the priority algorithm then calls it ahead of lower priorities)."""

    BOOKED_TIME = "booked_time"
    PRIORITY = "priority"


class Queue(Aggregate):
    """A line of waiting tickets for one or more services at one site."""

    auto_no_show_minutes: int | None = None
    """A called ticket not started this many minutes after its (latest) call is marked no-show
    by the system; ``None``: never. A class default, so queues saved before it existed read
    ``None`` (from their events and from their snapshots)."""
    appointment_placement: str = AppointmentPlacement.BOOKED_TIME.value
    """How an on-time checked-in appointment joins; a class default too, so older queues
    place by booked time."""
    appointment_priority: int | None = None
    """The priority an on-time checked-in appointment's ticket gets under ``priority``
    placement; ``None`` under ``booked_time``."""

    @event("Opened")
    def __init__(
        self,
        tenant_id: UUID,
        site_id: UUID,
        name: str,
        service_ids: list[UUID],
        policy: str,
        timezone: str,
    ) -> None:
        self.tenant_id = tenant_id
        self.site_id = site_id
        self.name = name
        self.service_ids = list(service_ids)
        self.policy = policy
        self.timezone = timezone
        self.status = QueueStatus.OPEN
        self.waiting: list[WaitingTicket] = []
        self.next_rank = 0.0

    @staticmethod
    def check_definition(name: str, service_ids: list[UUID], policy: str) -> None:
        """Raise :class:`InvalidInput` unless the queue has a name, a service and a known policy."""
        if not name.strip():
            raise InvalidInput("a queue needs a name")
        if not service_ids:
            raise InvalidInput("a queue serves at least one service")
        if len(set(service_ids)) != len(service_ids):
            raise InvalidInput("service_ids lists a service twice")
        Policy.parse(policy)

    # -- reconfiguration ------------------------------------------------------------------------

    def reconfigure(self, name: str, service_ids: list[UUID], policy: str) -> None:
        """Rename the queue, change the services it serves or its selection policy.

        Tickets already waiting keep their service and place; a new policy reorders the line.
        """
        self.check_definition(name, service_ids, policy)
        if self.status == QueueStatus.CLOSED:
            raise QueueError("a closed queue cannot be reconfigured; open a new one")
        if self.appointment_priority is not None and Policy(policy) is not Policy.PRIORITY:
            raise InvalidInput(
                f"algorithm {policy!r} ignores the appointment priority boost this queue gives; "
                "set appointment_placement to 'booked_time' first (or in the same request)"
            )
        name = name.strip()
        if (name, list(service_ids), policy) != (self.name, self.service_ids, self.policy):
            self._reconfigured(name=name, service_ids=list(service_ids), policy=policy)

    @event("Reconfigured")
    def _reconfigured(self, name: str, service_ids: list[UUID], policy: str) -> None:
        self.name = name
        self.service_ids = list(service_ids)
        self.policy = policy

    def set_auto_no_show(self, minutes: int | None) -> None:
        """Mark called tickets no-show ``minutes`` after their call unless started (None: off)."""
        if minutes is not None and not 1 <= minutes <= MAX_AUTO_NO_SHOW_MINUTES:
            raise InvalidInput(
                f"auto_no_show_minutes must be between 1 and {MAX_AUTO_NO_SHOW_MINUTES}, or null"
            )
        if self.status == QueueStatus.CLOSED:
            raise QueueError("a closed queue cannot be reconfigured; open a new one")
        if minutes != self.auto_no_show_minutes:
            self._auto_no_show_set(minutes=minutes)

    @event("AutoNoShowSet")
    def _auto_no_show_set(self, minutes: int | None) -> None:
        self.auto_no_show_minutes = minutes

    def set_appointment_placement(self, placement: str, priority: int | None) -> None:
        """Place on-time checked-in appointments by their booked time, or give their tickets
        ``priority`` (1 to :data:`MAX_PRIORITY`). Only a queue with the ``priority`` algorithm
        takes a boost: ``fifo`` calls by arrival alone and ``sla`` by deadline (priority only
        breaks exact ties), so a boost there would mean nothing (:class:`InvalidInput`)."""
        check_appointment_placement(placement, priority, self.policy)
        if self.status == QueueStatus.CLOSED:
            raise QueueError("a closed queue cannot be reconfigured; open a new one")
        if (placement, priority) != (self.appointment_placement, self.appointment_priority):
            self._appointment_placement_set(placement=placement, priority=priority)

    @event("AppointmentPlacementSet")
    def _appointment_placement_set(self, placement: str, priority: int | None) -> None:
        self.appointment_placement = placement
        self.appointment_priority = priority

    def follow_timezone(self, timezone: str) -> None:
        """Count days (and restart ticket numbers) in the site's new time zone."""
        if timezone != self.timezone:
            self._timezone_changed(timezone=timezone)

    @event("TimezoneChanged")
    def _timezone_changed(self, timezone: str) -> None:
        self.timezone = timezone

    def pause(self) -> None:
        """Stop issuing new tickets; the waiting ones can still be called."""
        if self.status != QueueStatus.OPEN:
            raise QueueError(f"only an open queue can be paused; this one is {self.status}")
        self._paused()

    @event("Paused")
    def _paused(self) -> None:
        self.status = QueueStatus.PAUSED

    def resume(self) -> None:
        """Accept new tickets again."""
        if self.status != QueueStatus.PAUSED:
            raise QueueError(f"only a paused queue can be resumed; this one is {self.status}")
        self._resumed()

    @event("Resumed")
    def _resumed(self) -> None:
        self.status = QueueStatus.OPEN

    def close(self) -> None:
        """Close the queue for good; nobody may still be waiting in it."""
        if self.status == QueueStatus.CLOSED:
            raise QueueError("the queue is already closed")
        if self.waiting:
            raise QueueError(f"{len(self.waiting)} tickets still wait in this queue")
        self._closed()

    @event("Closed")
    def _closed(self) -> None:
        self.status = QueueStatus.CLOSED

    # -- the waiting line -------------------------------------------------------------------------

    def check_accepting(self) -> None:
        """Raise :class:`QueueNotAccepting` unless new tickets may join."""
        if self.status != QueueStatus.OPEN:
            raise QueueNotAccepting(f"queue {self.name!r} is {self.status} and takes no tickets")

    def join(
        self,
        ticket_id: UUID,
        priority: int,
        issued_at: datetime,
        target_wait_seconds: int,
        placement: Placement = Placement.LAST,
        max_waiting: int | None = None,
    ) -> None:
        """Put a ticket in the waiting line, at the end or where a transfer asks.

        With ``max_waiting``, a line that already holds that many tickets refuses it
        (:class:`QueueFull`). The count is this version's: two joins racing for the last place
        both pass here, and the save of the second loses on the queue's version, so it is
        retried against the full line.
        """
        self.check_accepting()
        if max_waiting and len(self.waiting) >= max_waiting:
            raise QueueFull(
                f"queue {self.name!r} is full: {len(self.waiting)} tickets wait; try again later"
            )
        if any(entry.ticket_id == ticket_id for entry in self.waiting):
            raise QueueError("the ticket already waits in this queue")
        rank = rank_for_placement(self.waiting, placement, issued_at, self.next_rank)
        if any(entry.rank == rank for entry in self.waiting):
            # Halving one gap runs out of float precision after ~50 placements: respace the line.
            in_order = sorted(self.waiting, key=lambda entry: entry.rank)
            self._renumbered(ticket_ids=[entry.ticket_id for entry in in_order])
            rank = rank_for_placement(self.waiting, placement, issued_at, self.next_rank)
        self._ticket_joined(
            ticket_id=ticket_id,
            rank=rank,
            priority=priority,
            issued_at=issued_at,
            target_wait_seconds=target_wait_seconds,
        )

    @event("TicketJoined")
    def _ticket_joined(
        self,
        ticket_id: UUID,
        rank: float,
        priority: int,
        issued_at: datetime,
        target_wait_seconds: int,
    ) -> None:
        self.waiting.append(
            WaitingTicket(ticket_id, rank, priority, issued_at, target_wait_seconds)
        )
        self.next_rank = max(self.next_rank, rank) + 1.0

    @event("Renumbered")
    def _renumbered(self, ticket_ids: list[UUID]) -> None:
        ranks = {ticket_id: float(index) for index, ticket_id in enumerate(ticket_ids)}
        self.waiting = [replace(entry, rank=ranks[entry.ticket_id]) for entry in self.waiting]
        self.next_rank = float(len(ticket_ids))

    def peek_next(self, now: datetime) -> WaitingTicket | None:
        """The entry the policy would call now, without taking it."""
        ticket_id = select_next(self.waiting, now, Policy(self.policy))
        return None if ticket_id is None else self.entry(ticket_id)

    def take_next(self, now: datetime) -> UUID | None:
        """Remove and return the ticket the policy calls next, or ``None`` when nobody waits."""
        if self.status == QueueStatus.CLOSED:
            raise QueueError("a closed queue cannot be called from")
        ticket_id = select_next(self.waiting, now, Policy(self.policy))
        if ticket_id is not None:
            self._ticket_left(ticket_id=ticket_id, reason="called")
        return ticket_id

    def remove(self, ticket_id: UUID, reason: str) -> None:
        """Take a waiting ticket out of the line (cancelled or transferred away)."""
        if self.entry(ticket_id) is None:
            raise QueueError("the ticket does not wait in this queue")
        self._ticket_left(ticket_id=ticket_id, reason=reason)

    @event("TicketLeft")
    def _ticket_left(self, ticket_id: UUID, reason: str) -> None:
        self.waiting = [entry for entry in self.waiting if entry.ticket_id != ticket_id]

    def move_back(self, ticket_id: UUID, places: int, now: datetime) -> int:
        """Move a waiting ticket ``places`` places back in the line (no further than last) and
        return how many places it actually moved.

        Under any policy the ticket takes the sort inputs of the entry it now follows (its
        priority and deadline) and a rank just after that entry's, so it lands right behind it
        whatever the policy, now or after a reconfiguration.
        """
        if places < 1:
            raise InvalidInput("a ticket moves back at least one place")
        ordered = order_waiting(self.waiting, now, Policy(self.policy))
        index = next((i for i, e in enumerate(ordered) if e.ticket_id == ticket_id), None)
        if index is None:
            raise QueueError("the ticket does not wait in this queue")
        others = ordered[:index] + ordered[index + 1 :]
        target = min(index + places, len(others))
        if target == index:
            return 0  # already last
        ahead = others[target - 1]
        rank = self._rank_after(ahead, ticket_id)
        if rank is None:
            # Halving the gap ran out of float precision: respace the line first.
            in_order = sorted(self.waiting, key=lambda entry: entry.rank)
            self._renumbered(ticket_ids=[entry.ticket_id for entry in in_order])
            ahead = self.entry(ahead.ticket_id) or ahead
            rank = self._rank_after(ahead, ticket_id)
        self._ticket_moved_back(
            ticket_id=ticket_id,
            rank=rank,
            priority=ahead.priority,
            issued_at=ahead.issued_at,
            target_wait_seconds=ahead.target_wait_seconds,
        )
        return target - index

    def _rank_after(self, ahead: WaitingTicket, moving: UUID) -> float | None:
        """A rank between ``ahead``'s and the next higher one of the line (``moving`` aside),
        or ``None`` when no float lies strictly between them."""
        higher = [e.rank for e in self.waiting if e.ticket_id != moving and e.rank > ahead.rank]
        if not higher:
            return max(self.next_rank, ahead.rank + 1.0)
        rank = (ahead.rank + min(higher)) / 2.0
        return rank if ahead.rank < rank < min(higher) else None

    @event("TicketMovedBack")
    def _ticket_moved_back(
        self,
        ticket_id: UUID,
        rank: float,
        priority: int,
        issued_at: datetime,
        target_wait_seconds: int,
    ) -> None:
        moved = WaitingTicket(ticket_id, rank, priority, issued_at, target_wait_seconds)
        self.waiting = [moved if e.ticket_id == ticket_id else e for e in self.waiting]
        self.next_rank = max(self.next_rank, rank + 1.0)

    def entry(self, ticket_id: UUID) -> WaitingTicket | None:
        """The waiting-line entry of a ticket, if it waits here."""
        return next((entry for entry in self.waiting if entry.ticket_id == ticket_id), None)

    def position_of(self, ticket_id: UUID, now: datetime) -> int | None:
        """1 for the ticket called next, 2 for the one after, ...; ``None`` if not waiting."""
        ordered = order_waiting(self.waiting, now, Policy(self.policy))
        for index, entry in enumerate(ordered, start=1):
            if entry.ticket_id == ticket_id:
                return index
        return None


def check_appointment_placement(placement: str, priority: int | None, policy: str) -> None:
    """Raise :class:`InvalidInput` unless ``placement`` and ``priority`` make a setting that
    a queue with ``policy`` can follow (see :meth:`Queue.set_appointment_placement`)."""
    try:
        chosen = AppointmentPlacement(placement)
    except ValueError:
        names = ", ".join(p.value for p in AppointmentPlacement)
        raise InvalidInput(
            f"unknown appointment_placement {placement!r}; expected one of {names}"
        ) from None
    if chosen is AppointmentPlacement.BOOKED_TIME:
        if priority is not None:
            raise InvalidInput(
                "appointment_priority applies only with appointment_placement 'priority'"
            )
        return
    if priority is None:
        raise InvalidInput(
            "appointment_placement 'priority' needs an appointment_priority "
            f"from 1 to {MAX_PRIORITY}"
        )
    if isinstance(priority, bool) or not 1 <= priority <= MAX_PRIORITY:
        raise InvalidInput(
            f"appointment_priority must be from 1 to {MAX_PRIORITY}; got {priority!r}"
        )
    if Policy.parse(policy) is not Policy.PRIORITY:
        calls_by = "arrival alone" if policy == Policy.FIFO else "target-wait deadline"
        raise InvalidInput(
            f"a priority boost needs a queue with the 'priority' algorithm; this one is "
            f"{policy!r}, which calls tickets by {calls_by}: keep appointment_placement "
            "'booked_time'"
        )
