"""What live sockets are sent: snapshots, and the changes the gateway publishes per event, with
fake read models (the real ones are exercised end to end in tests/e2e/test_live_updates.py)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec
import pytest

from application.agent_board import BoardEntry, BoardFilter, BoardTicket
from application.consistency import Consistency, ReadModelBehind
from application.live import (
    READ_MODELS,
    BatchReads,
    ChangeHeader,
    LiveEvent,
    LiveViews,
    QueueLine,
)
from application.views import QueueView, TicketView
from domain.errors import QueueNotFound
from infrastructure.redis.channels import agent_channel, channel_of, queue_channel

NOW = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
TENANT, OTHER_TENANT = uuid4(), uuid4()


class Positions:
    def __init__(self, position: int, head: int | None = None) -> None:
        self.position = position
        self.log_head = head if head is not None else position
        self.asked: list[tuple[str, ...]] = []

    def positions(self, names: Iterable[str]) -> dict[str, int]:
        names = tuple(names)
        self.asked.append(names)
        return dict.fromkeys(names, self.position)

    def head(self) -> int:
        return self.log_head


class Records:
    def __init__(self) -> None:
        self.tickets: dict[UUID, TicketView] = {}
        self.lines: dict[UUID, QueueLine] = {}

    def ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        return self.tickets.get(ticket_id) if tenant_id == TENANT else None

    def line(self, tenant_id: UUID, queue_id: UUID, limit: int) -> QueueLine:
        line = self.lines.get(queue_id, QueueLine(waiting=0, next=[]))
        return QueueLine(waiting=line.waiting, next=line.next[:limit])

    def on_display(self, tenant_id: UUID, queue_id: UUID, recent: int) -> list[TicketView]:
        return [t for t in self.tickets.values() if t.queue_id == queue_id and t.called_at]


class Board:
    def __init__(self) -> None:
        self.entries: list[BoardEntry] = []

    def board(self, tenant_id: UUID, where: BoardFilter) -> list[BoardEntry]:
        return [e for e in self.entries if e.agent_id == where.agent_id and tenant_id == TENANT]


class Queues:
    def __init__(self) -> None:
        self.queues: dict[UUID, QueueView] = {}

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView:
        if tenant_id != TENANT or queue_id not in self.queues:
            raise QueueNotFound(f"no queue with id {queue_id}")
        return self.queues[queue_id]


def _queue(name: str = "Accounts", status: str = "open") -> QueueView:
    return QueueView(
        id=uuid4(),
        name=name,
        site_id=uuid4(),
        service_ids=[],
        algorithm="fifo",
        status=status,
        waiting=0,
    )


def _ticket(queue_id: UUID, number: str, status: str, agent_id: UUID | None = None) -> TicketView:
    return TicketView(
        id=uuid4(),
        number=number,
        status=status,
        queue_id=queue_id,
        service_id=uuid4(),
        position=1 if status == "waiting" else None,
        eta_seconds=None,
        priority=0,
        channel="kiosk",
        customer_id=uuid4(),
        agent_id=agent_id,
        counter="4" if agent_id else None,
        issued_at=NOW,
        called_at=NOW if status != "waiting" else None,
        service_started_at=None,
        finished_at=None,
        recalls=0,
        transfers=0,
    )


def _agent(agent_id: UUID, ticket: TicketView | None = None) -> BoardEntry:
    held = None
    if ticket is not None:
        held = BoardTicket(
            id=ticket.id,
            number=ticket.number,
            queue_id=ticket.queue_id,
            status=ticket.status,
            called_at=ticket.called_at,
        )
    return BoardEntry(
        agent_id=agent_id,
        user_id=uuid4(),
        name="Ana",
        status="busy" if ticket else "available",
        status_since=NOW,
        counter="4",
        queue_ids=[ticket.queue_id] if ticket else [],
        ticket=held,
        served_today=3,
    )


class Etas:
    """Ninety seconds per place, for waiting tickets only."""

    def with_etas(self, tenant_id: UUID, tickets: Sequence[TicketView]) -> list[TicketView]:
        return [
            msgspec.structs.replace(t, eta_seconds=t.position * 90) if t.position else t
            for t in tickets
        ]


class World:
    def __init__(self, position: int = 10) -> None:
        self.positions = Positions(position)
        self.records = Records()
        self.board = Board()
        self.queues = Queues()
        self.views = LiveViews(
            self.records,
            self.board,
            self.queues,
            Consistency(self.positions, max_wait_seconds=0.05, poll_seconds=0.01),
            Etas(),
        )


def _event(kind: str, aggregate_id: UUID, position: int = 10, **data: object) -> LiveEvent:
    return LiveEvent(kind, TENANT, aggregate_id, position, dict(data))


def test_a_call_changes_the_queue_and_the_agent_holding_the_ticket() -> None:
    world = World(position=12)
    queue = _queue()
    agent_id = uuid4()
    called = _ticket(queue.id, "A-001", "called", agent_id)
    world.records.tickets[called.id] = called
    world.records.lines[queue.id] = QueueLine(waiting=2, next=["A-002", "A-003"])
    world.board.entries.append(_agent(agent_id, called))

    published = world.views.changes(_event("Ticket.Called", called.id, position=11))

    assert [channel_of(p.audience) for p in published] == [
        queue_channel(TENANT, queue.id),
        agent_channel(TENANT, agent_id),
    ]
    on_queue, on_agent = (p.change for p in published)
    assert (on_queue.as_of, on_queue.position, on_queue.event) == (12, 11, "Ticket.Called")
    assert on_queue.ticket is not None
    assert (on_queue.ticket.number, on_queue.ticket.counter) == ("A-001", "4")
    assert on_queue.ticket.eta_seconds is None  # a called ticket has no ETA
    assert on_queue.queue is not None
    assert (on_queue.queue.waiting, on_queue.queue.next) == (2, ["A-002", "A-003"])
    assert on_queue.queue.name is None  # a ticket event does not re-send the queue's definition
    assert on_agent.agent is not None
    assert (on_agent.agent.ticket_number, on_agent.agent.served_today) == ("A-001", 3)
    # Public screens get no customer: the encoded change has no such field.
    assert b"customer" not in msgspec.json.encode(on_queue)
    assert world.positions.asked == [READ_MODELS]


def test_a_transfer_is_published_to_the_queue_left_and_the_queue_joined() -> None:
    world = World()
    source, target = _queue(), _queue("Loans")
    moved = _ticket(target.id, "B-001", "waiting")
    world.records.tickets[moved.id] = moved

    published = world.views.changes(
        _event(
            "Ticket.Transferred", moved.id, from_queue_id=str(source.id), to_queue_id=str(target.id)
        )
    )

    assert {channel_of(p.audience) for p in published} == {
        queue_channel(TENANT, target.id),
        queue_channel(TENANT, source.id),
    }
    assert all(p.change.ticket and p.change.ticket.queue_id == target.id for p in published)
    # The waiting ticket's ETA, from the same queries as GET tickets/{id}/.
    assert all(p.change.ticket and p.change.ticket.eta_seconds == 90 for p in published)


def test_queue_state_events_carry_the_queue_name_and_status() -> None:
    world = World()
    queue = _queue(status="paused")
    world.queues.queues[queue.id] = queue

    [paused] = world.views.changes(_event("Queue.Paused", queue.id))
    [joined] = world.views.changes(_event("Queue.TicketJoined", queue.id))

    assert paused.change.queue is not None and joined.change.queue is not None
    assert (paused.change.queue.name, paused.change.queue.status) == ("Accounts", "paused")
    assert joined.change.queue.name is None
    assert channel_of(paused.audience) == queue_channel(TENANT, queue.id)


def test_events_of_no_tenant_or_of_other_aggregates_publish_nothing_and_wait_for_nothing() -> None:
    world = World()
    platform = LiveEvent("Platform.TenantCreated", None, uuid4(), 10, {})
    customer = _event("Customer.Registered", uuid4())

    assert world.views.changes(platform) == []
    assert world.views.changes(customer) == []
    assert world.positions.asked == []


def test_a_ticket_the_read_model_does_not_know_publishes_nothing() -> None:
    world = World()
    assert world.views.changes(_event("Ticket.Issued", uuid4())) == []


def test_channels_are_per_tenant() -> None:
    queue_id = uuid4()
    assert queue_channel(TENANT, queue_id) != queue_channel(OTHER_TENANT, queue_id)
    assert str(TENANT) in queue_channel(TENANT, queue_id)
    assert agent_channel(TENANT, queue_id) != queue_channel(TENANT, queue_id)


def test_the_gateway_never_publishes_older_than_the_event() -> None:
    world = World(position=5)
    world.positions.log_head = 20
    ticket = _ticket(uuid4(), "A-001", "waiting")
    world.records.tickets[ticket.id] = ticket

    with pytest.raises(ReadModelBehind):
        world.views.changes(_event("Ticket.Issued", ticket.id, position=9))

    # A gateway that already waited for its batch passes the position reached: no wait again.
    world.positions.asked.clear()
    [published] = world.views.changes(_event("Ticket.Issued", ticket.id, position=9), as_of=9)
    assert published.change.as_of == 9
    assert world.positions.asked == []


def test_a_queue_snapshot_shows_the_line_the_calls_and_the_definition() -> None:
    world = World(position=30)
    queue = _queue()
    world.queues.queues[queue.id] = queue
    called = _ticket(queue.id, "A-004", "serving", uuid4())
    world.records.tickets[called.id] = called
    world.records.lines[queue.id] = QueueLine(waiting=7, next=["A-005", "A-006", "A-007"])

    snapshot = world.views.queue_snapshot(TENANT, queue.id)

    encoded = msgspec.json.decode(msgspec.json.encode(snapshot))
    assert encoded["type"] == "snapshot"
    assert encoded["as_of"] == 30
    assert encoded["queue"] == {
        "id": str(queue.id),
        "waiting": 7,
        "next": ["A-005", "A-006", "A-007"],
        "name": "Accounts",
        "status": "open",
        "site_id": str(queue.site_id),
    }
    assert [t["number"] for t in encoded["tickets"]] == ["A-004"]
    with pytest.raises(QueueNotFound):
        world.views.queue_snapshot(OTHER_TENANT, queue.id)


def test_an_agent_snapshot_lists_the_agents_queues_and_none_for_a_stranger() -> None:
    world = World()
    agent_id = uuid4()
    held = _ticket(uuid4(), "C-001", "called", agent_id)
    world.board.entries.append(_agent(agent_id, held))
    world.records.lines[held.queue_id] = QueueLine(waiting=1, next=["C-002"])

    snapshot = world.views.agent_snapshot(TENANT, agent_id)

    assert snapshot is not None
    assert snapshot.agent.ticket_number == "C-001"
    assert [(q.id, q.waiting) for q in snapshot.queues] == [(held.queue_id, 1)]
    assert world.views.agent_snapshot(TENANT, uuid4()) is None
    assert world.views.agent_snapshot(OTHER_TENANT, agent_id) is None


def test_a_socket_reads_only_the_position_of_a_published_change() -> None:
    world = World()
    queue = _queue()
    world.queues.queues[queue.id] = queue
    [published] = world.views.changes(_event("Queue.Resumed", queue.id), as_of=44)
    header = msgspec.json.decode(msgspec.json.encode(published.change), type=ChangeHeader)
    assert header.as_of == 44


def test_a_batch_reads_each_queue_line_and_agent_once() -> None:
    world = World(position=20)
    queue = _queue()
    agent_id = uuid4()
    called = _ticket(queue.id, "A-001", "called", agent_id)
    world.records.tickets[called.id] = called
    world.board.entries.append(_agent(agent_id, called))
    lines, boards = [], []
    line, board = world.records.line, world.board.board
    world.records.line = lambda *args: lines.append(args) or line(*args)  # type: ignore[method-assign]
    world.board.board = lambda *args: boards.append(args) or board(*args)  # type: ignore[method-assign]
    reads = BatchReads(world.views)

    call = [
        _event("Ticket.Called", called.id, position=17),
        _event("Queue.TicketLeft", queue.id, position=18),
        _event("Agent.TicketTaken", agent_id, position=19),
    ]
    published = [p for e in call for p in world.views.changes(e, as_of=20, reads=reads)]

    assert len(published) == 4  # queue + agent for the ticket, queue, agent
    assert len(lines) == 1 and len(boards) == 1
    assert {p.change.as_of for p in published} == {20}
