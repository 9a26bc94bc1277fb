"""The agent board projection alone: an in-memory log and dictionaries as its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID, uuid4

from application.agent_board import BoardEntry, board_order
from projections.agent_board import AgentBoardProjection
from projections.agent_board_rows import (
    BoardAgent,
    Change,
    LiveTicket,
    QueueSamples,
    served_today,
)
from tests.unit.event_log import logged_events
from tests.unit.world import MORNING, World, make_world


@dataclass
class MemoryBoard:
    """The board's state as dictionaries; changes run at once."""

    agents: dict[UUID, BoardAgent] = field(default_factory=dict)
    tickets: dict[UUID, LiveTicket] = field(default_factory=dict)
    queues: dict[UUID, QueueSamples] = field(default_factory=dict)

    def run(self, change: Change) -> None:
        change(self)

    def agent(self, agent_id: UUID) -> BoardAgent | None:
        return self.agents.get(agent_id)

    def put_agent(self, row: BoardAgent) -> None:
        self.agents[row.agent_id] = row

    def ticket(self, ticket_id: UUID) -> LiveTicket | None:
        return self.tickets.get(ticket_id)

    def put_ticket(self, row: LiveTicket) -> None:
        self.tickets[row.ticket_id] = row

    def drop_ticket(self, ticket_id: UUID) -> None:
        del self.tickets[ticket_id]

    def queue(self, queue_id: UUID) -> QueueSamples | None:
        return self.queues.get(queue_id)

    def put_queue(self, row: QueueSamples) -> None:
        self.queues[row.queue_id] = row


def project(world: World) -> MemoryBoard:
    board = MemoryBoard()
    projection = AgentBoardProjection()
    for position, event in enumerate(logged_events(world.app), start=1):
        projection.handle(event, position, board)
    return board


def test_a_served_ticket_shows_on_the_board_then_leaves_a_hold_and_a_service_sample():
    world = make_world(timezone="Europe/Paris")
    queue_id = world.queue(world.service())
    agent_id = world.agent(counter="4")
    context = world.context
    ticket = world.tickets.issue_ticket(context, queue_id)
    world.staffing.call_next(context, agent_id, queue_id)

    row = project(world).agents[agent_id]
    assert (row.status, row.counter, row.ticket_id, row.ticket_number) == (
        "busy",
        "4",
        ticket.id,
        ticket.number,
    )
    assert (row.ticket_status, row.ticket_since, row.ticket_queue_id) == (
        "called",
        MORNING,
        queue_id,
    )

    world.clock.advance(seconds=60)
    world.tickets.recall_ticket(context, ticket.id)
    world.clock.advance(seconds=30)
    world.tickets.start_ticket(context, ticket.id)
    world.clock.advance(seconds=240)
    world.tickets.close_ticket(context, ticket.id)
    board = project(world)
    row = board.agents[agent_id]
    assert (row.status, row.ticket_id, row.ticket_since) == ("available", None, None)
    assert board.queues[queue_id].occupancy_seconds == [
        330.0
    ]  # from the first call, not the recall
    assert board.queues[queue_id].service_seconds == [240.0]
    assert board.tickets == {}
    assert served_today(row, world.clock()) == 1
    assert served_today(row, world.clock() + timedelta(days=1)) == 0


def test_a_transferred_ticket_frees_its_agent_and_keeps_its_number_in_the_new_queue():
    world = make_world()
    service = world.service()
    first, second = world.queue(service), world.queue(service)
    agent_id = world.agent()
    ticket = world.tickets.issue_ticket(world.context, first)
    world.staffing.call_next(world.context, agent_id, first)
    world.tickets.transfer_ticket(world.context, ticket.id, second)
    board = project(world)
    assert board.agents[agent_id].ticket_id is None
    assert board.agents[agent_id].status == "available"
    moved = board.tickets[ticket.id]
    assert (moved.queue_id, moved.number, moved.called_at) == (second, ticket.number, None)
    assert board.queues[first].occupancy_seconds == []


def _entry(name: str, counter: str | None) -> BoardEntry:
    return BoardEntry(
        agent_id=uuid4(),
        user_id=uuid4(),
        name=name,
        status="available",
        status_since=MORNING,
        counter=counter,
        queue_ids=[],
        ticket=None,
        served_today=0,
    )


def test_the_board_orders_counters_naturally_then_names_and_puts_unseated_agents_last():
    entries = [
        _entry("bea", None),
        _entry("Abe", "Desk 10"),
        _entry("Cy", "Desk 2"),
        _entry("al", "Desk 2"),
        _entry("Zed", "1"),
    ]
    ordered = sorted(entries, key=board_order)
    assert [e.name for e in ordered] == ["Zed", "al", "Cy", "Abe", "bea"]
