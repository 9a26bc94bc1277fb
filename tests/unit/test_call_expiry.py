"""The auto no-show sweep on an in-memory application and a fake read side: every overdue call
the read side shows is marked no-show by the system, once, and a call that moved on since the
read side saw it is left alone."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import pytest

from application.call_expiry import CallExpiry, OverdueCall
from tests.unit.world import World, make_world


class ReadSide:
    """The overdue calls a lagging read side would show: fixed by the test."""

    def __init__(self) -> None:
        self.calls: list[OverdueCall] = []
        self.asked: list[tuple[datetime, int]] = []

    def overdue(self, now: datetime, limit: int) -> list[OverdueCall]:
        self.asked.append((now, limit))
        return self.calls[:limit]


@pytest.fixture
def world() -> World:
    return make_world()


def called(world: World, queue_id: UUID) -> OverdueCall:
    agent_id = world.agent()
    world.tickets.issue_ticket(world.context, queue_id)
    ticket = world.staffing.call_next(world.context, agent_id, queue_id)
    view = world.tickets.get_ticket(world.tenant_id, ticket.id)
    assert view.called_at is not None
    return OverdueCall(world.tenant_id, view.id, view.called_at)


def test_each_overdue_call_is_marked_no_show_by_the_system_once(world):
    queue_id = world.queue(world.service())
    read_side = ReadSide()
    read_side.calls = [called(world, queue_id), called(world, queue_id)]
    sweep = CallExpiry(read_side, world.tickets, clock=world.clock, batch=50)

    assert sweep.sweep() == 2
    assert sweep.sweep() == 0  # the read side still shows them: refused, nothing changes

    for call in read_side.calls:
        assert world.tickets.get_ticket(world.tenant_id, call.ticket_id).status == "no_show"
        [marked] = [
            e
            for e in world.app.events.get(call.ticket_id)
            if type(e).__qualname__ == "Ticket.MarkedNoShow"
        ]
        assert marked.metadata["actor_role"] == "system"
    assert read_side.asked == [(world.clock(), 50)] * 2


def test_a_call_started_or_recalled_since_the_read_side_saw_it_is_left_alone(world):
    queue_id = world.queue(world.service())
    started, recalled = called(world, queue_id), called(world, queue_id)
    world.tickets.start_ticket(world.context, started.ticket_id)
    world.clock.advance(seconds=5)
    world.tickets.recall_ticket(world.context, recalled.ticket_id)
    read_side = ReadSide()
    read_side.calls = [started, recalled]  # as a lagging read side still shows them

    assert CallExpiry(read_side, world.tickets, clock=world.clock).sweep() == 0

    assert world.tickets.get_ticket(world.tenant_id, started.ticket_id).status == "serving"
    assert world.tickets.get_ticket(world.tenant_id, recalled.ticket_id).status == "called"
