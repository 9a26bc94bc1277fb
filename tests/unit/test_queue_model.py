"""Model test of the Queue aggregate against a plain-Python waiting line.

The model keeps the line as a Python list in arrival order and inserts transferred tickets where
their placement says; it never looks at ranks. Whatever the aggregate does with floats, it must
agree with the list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from application.app import SmartQueue
from domain.errors import QueueError, QueueNotAccepting
from domain.policies import Placement, Policy
from domain.queues import Queue, QueueStatus
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC

OPENING = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class ModelTicket:
    ticket_id: UUID
    priority: int
    issued_at: datetime
    target_wait_seconds: int

    @property
    def deadline(self) -> datetime:
        return self.issued_at + timedelta(seconds=self.target_wait_seconds)


@dataclass
class QueueModel:
    """The waiting line as a list in arrival order, and the queue's status."""

    policy: Policy
    status: QueueStatus = QueueStatus.OPEN
    line: list[ModelTicket] = field(default_factory=list)

    def join(self, ticket: ModelTicket, placement: Placement) -> None:
        if placement is Placement.FIRST:
            self.line.insert(0, ticket)
        elif placement is Placement.LAST:
            self.line.append(ticket)
        else:
            later = (i for i, t in enumerate(self.line) if t.issued_at > ticket.issued_at)
            self.line.insert(next(later, len(self.line)), ticket)

    def ordered(self) -> list[ModelTicket]:
        """The calling order; Python's sort is stable, so ties keep arrival order."""
        if self.policy is Policy.FIFO:
            return list(self.line)
        if self.policy is Policy.PRIORITY:
            return sorted(self.line, key=lambda t: -t.priority)
        return sorted(self.line, key=lambda t: (t.deadline, -t.priority))

    def remove(self, ticket_id: UUID) -> None:
        self.line = [t for t in self.line if t.ticket_id != ticket_id]

    def move_back(self, ticket_id: UUID, places: int) -> int:
        """Take the ticket out, then put it right behind the one now ``places`` places past it
        in calling order, with that one's priority and deadline (and so next in any policy)."""
        ordered = self.ordered()
        index = next(i for i, t in enumerate(ordered) if t.ticket_id == ticket_id)
        others = [t for t in ordered if t.ticket_id != ticket_id]
        target = min(index + places, len(others))
        if target == index:
            return 0
        ahead = others[target - 1]
        self.remove(ticket_id)
        moved = ModelTicket(ticket_id, ahead.priority, ahead.issued_at, ahead.target_wait_seconds)
        self.line.insert(self.line.index(ahead) + 1, moved)
        return target - index


# Few distinct values, so equal priorities, equal issue times and equal deadlines all happen.
arrivals = st.tuples(
    st.builds(
        ModelTicket,
        ticket_id=st.builds(uuid4),
        priority=st.integers(min_value=0, max_value=3),
        issued_at=st.integers(min_value=0, max_value=20).map(
            lambda minutes: OPENING + timedelta(minutes=minutes)
        ),
        target_wait_seconds=st.sampled_from([300, 600, 900]),
    ),
    st.sampled_from(Placement),
)


class SnapshottingSmartQueue(SmartQueue):
    """SmartQueue snapshotting queues every few events, so reloads go through snapshots often."""

    snapshotting_intervals = {Queue: 4}


def state_of(queue: Queue) -> tuple:
    return (
        str(queue.status),
        str(queue.policy),
        queue.version,
        queue.next_rank,
        list(queue.waiting),
    )


class QueueMachine(RuleBasedStateMachine):
    """Drives one Queue and one QueueModel with the same commands and compares them."""

    def __init__(self) -> None:
        super().__init__()
        self.app = SnapshottingSmartQueue(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC})
        self.history: list = []
        self.taken: set[UUID] = set()

    @initialize(policy=st.sampled_from(Policy))
    def open_queue(self, policy: Policy) -> None:
        self.model = QueueModel(policy=policy)
        self.queue = Queue(
            tenant_id=uuid4(),
            site_id=uuid4(),
            name="Main",
            service_ids=[uuid4()],
            policy=policy.value,
            timezone="Europe/Paris",
        )
        self.now = OPENING

    # -- rules -------------------------------------------------------------------------------------

    @rule(arrivals=st.lists(arrivals, min_size=1, max_size=4))
    def join(self, arrivals: list[tuple[ModelTicket, Placement]]) -> None:
        for ticket, placement in arrivals:
            arguments = (ticket.ticket_id, ticket.priority, ticket.issued_at)
            if self.model.status is not QueueStatus.OPEN:
                with pytest.raises(QueueNotAccepting):
                    self.queue.join(*arguments, ticket.target_wait_seconds, placement)
                continue
            self.queue.join(*arguments, ticket.target_wait_seconds, placement)
            self.model.join(ticket, placement)

    @precondition(lambda self: self.model.line and self.model.status is QueueStatus.OPEN)
    @rule(data=st.data())
    def join_a_ticket_already_waiting(self, data) -> None:
        ticket = data.draw(st.sampled_from(self.model.line))
        with pytest.raises(QueueError):
            self.queue.join(ticket.ticket_id, 0, ticket.issued_at, 60)

    @rule(minutes=st.integers(min_value=0, max_value=30))
    def take_next(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)
        if self.model.status is QueueStatus.CLOSED:
            with pytest.raises(QueueError):
                self.queue.take_next(self.now)
            return
        ordered = self.model.ordered()
        expected = ordered[0].ticket_id if ordered else None

        taken = self.queue.take_next(self.now)

        assert taken == expected
        if taken is not None:
            assert taken not in self.taken, "a ticket was taken twice"
            self.taken.add(taken)
            self.model.remove(taken)

    @precondition(lambda self: self.model.line)
    @rule(data=st.data())
    def remove(self, data) -> None:
        ticket = data.draw(st.sampled_from(self.model.line))
        self.queue.remove(ticket.ticket_id, reason="cancelled")
        self.model.remove(ticket.ticket_id)

    @precondition(lambda self: self.model.line)
    @rule(data=st.data(), places=st.integers(min_value=1, max_value=5))
    def move_back(self, data, places: int) -> None:
        ticket = data.draw(st.sampled_from(self.model.line))
        moved = self.queue.move_back(ticket.ticket_id, places, self.now)
        assert moved == self.model.move_back(ticket.ticket_id, places)

    @rule()
    def remove_a_ticket_that_does_not_wait(self) -> None:
        with pytest.raises(QueueError):
            self.queue.remove(uuid4(), reason="cancelled")

    @rule()
    def pause(self) -> None:
        if self.model.status is not QueueStatus.OPEN:
            with pytest.raises(QueueError):
                self.queue.pause()
            return
        self.queue.pause()
        self.model.status = QueueStatus.PAUSED

    @rule()
    def resume(self) -> None:
        if self.model.status is not QueueStatus.PAUSED:
            with pytest.raises(QueueError):
                self.queue.resume()
            return
        self.queue.resume()
        self.model.status = QueueStatus.OPEN

    @rule()
    def close(self) -> None:
        if self.model.status is QueueStatus.CLOSED or self.model.line:
            with pytest.raises(QueueError):
                self.queue.close()
            return
        self.queue.close()
        self.model.status = QueueStatus.CLOSED

    @rule(policy=st.sampled_from(Policy))
    def reconfigure(self, policy: Policy) -> None:
        if self.model.status is QueueStatus.CLOSED:
            with pytest.raises(QueueError):
                self.queue.reconfigure("Main", list(self.queue.service_ids), policy.value)
            return
        self.queue.reconfigure("Main", list(self.queue.service_ids), policy.value)
        self.model.policy = policy

    # -- invariants --------------------------------------------------------------------------------

    @invariant()
    def waits_the_same_tickets_as_the_model(self) -> None:
        assert {e.ticket_id for e in self.queue.waiting} == {t.ticket_id for t in self.model.line}
        assert len(self.queue.waiting) == len(self.model.line)

    @invariant()
    def has_the_status_of_the_model(self) -> None:
        assert self.queue.status == self.model.status

    @invariant()
    def positions_match_the_model(self) -> None:
        for position, ticket in enumerate(self.model.ordered(), start=1):
            assert self.queue.position_of(ticket.ticket_id, self.now) == position
        for ticket_id in self.taken:
            assert self.queue.position_of(ticket_id, self.now) is None

    @invariant()
    def peeks_the_ticket_the_model_would_call(self) -> None:
        head = self.queue.peek_next(self.now)
        ordered = self.model.ordered()
        assert (head and head.ticket_id) == (ordered[0].ticket_id if ordered else None)

    @invariant()
    def replaying_its_events_rebuilds_the_same_queue(self) -> None:
        recordings = self.app.save(self.queue)
        self.history.extend(recording.domain_event for recording in recordings)
        replayed = None
        for domain_event in self.history:
            replayed = domain_event.mutate(replayed)
        assert replayed is not None
        assert state_of(replayed) == state_of(self.queue)
        # Through the store: the transcoder, and a snapshot of the waiting line every few events.
        assert state_of(self.app.repository.get(self.queue.id)) == state_of(self.queue)


QueueMachine.TestCase.settings = settings(
    max_examples=100,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_the_queue_behaves_like_a_list_in_arrival_order = QueueMachine.TestCase


def test_a_paused_queue_can_still_be_called_from_but_takes_no_tickets():
    queue = Queue(uuid4(), uuid4(), "Main", [uuid4()], "fifo", "UTC")
    waiting = uuid4()
    queue.join(waiting, 0, OPENING, 600)
    queue.pause()

    with pytest.raises(QueueNotAccepting):
        queue.join(uuid4(), 0, OPENING, 600)
    assert queue.take_next(OPENING) == waiting


def test_a_queue_with_tickets_waiting_cannot_be_closed():
    queue = Queue(uuid4(), uuid4(), "Main", [uuid4()], "fifo", "UTC")
    queue.join(uuid4(), 0, OPENING, 600)

    with pytest.raises(QueueError):
        queue.close()
    assert queue.status == QueueStatus.OPEN


def test_many_sorted_placements_into_one_gap_keep_the_line_in_issue_order():
    # Merging a closed queue into another, oldest ticket first, places every ticket "sorted"
    # into the same gap: each new rank halves the space left before the later ticket.
    queue = Queue(uuid4(), uuid4(), "Main", [uuid4()], "fifo", "UTC")
    issued_at: dict[UUID, datetime] = {uuid4(): OPENING, uuid4(): OPENING + timedelta(hours=8)}
    for ticket_id, moment in issued_at.items():
        queue.join(ticket_id, 0, moment, 600)
    for minutes in range(1, 80):
        ticket_id = uuid4()
        issued_at[ticket_id] = OPENING + timedelta(minutes=minutes)
        queue.join(ticket_id, 0, issued_at[ticket_id], 600, Placement.SORTED)

    calling_order = []
    while (ticket_id := queue.take_next(OPENING)) is not None:
        calling_order.append(issued_at[ticket_id])

    assert len(calling_order) == len(issued_at)
    assert calling_order == sorted(calling_order)
