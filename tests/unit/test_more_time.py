"""'I need more time': a waiting customer moves back a few places in the line, once."""

from __future__ import annotations

import pytest

from domain.errors import IllegalTransition, MoreTimeUsed
from tests.unit.world import make_world


def line_of(world, queue_id, tickets):
    """The numbers in calling order, by each ticket's position."""
    views = [world.tickets.get_ticket(world.tenant_id, ticket.id) for ticket in tickets]
    waiting = [view for view in views if view.position is not None]
    return [view.number for view in sorted(waiting, key=lambda view: view.position)]


def test_a_waiting_ticket_moves_back_the_given_number_of_places_in_one_transaction():
    world = make_world()
    queue = world.queue(world.service("A"))
    tickets = [world.tickets.issue_ticket(world.context, queue) for _ in range(6)]

    moved = world.tickets.give_more_time(world.context, tickets[1].id, 3)

    assert moved.position == 5
    assert line_of(world, queue, tickets) == ["A-001", "A-003", "A-004", "A-005", "A-002", "A-006"]
    assert world.app.transactions[-1] == {"Ticket.MoreTimeTaken", "Queue.TicketMovedBack"}


def test_near_the_end_of_the_line_a_ticket_moves_back_only_to_last():
    world = make_world()
    queue = world.queue(world.service("A"))
    tickets = [world.tickets.issue_ticket(world.context, queue) for _ in range(3)]

    assert world.tickets.give_more_time(world.context, tickets[1].id, 3).position == 3
    assert world.tickets.give_more_time(world.context, tickets[0].id, 3).position == 3


def test_under_a_priority_policy_the_ticket_still_moves_back_exactly_that_many_places():
    world = make_world()
    queue = world.queue(world.service("A"), algorithm="priority")
    urgent = world.tickets.issue_ticket(world.context, queue, priority=5)
    others = [world.tickets.issue_ticket(world.context, queue) for _ in range(4)]

    assert world.tickets.give_more_time(world.context, urgent.id, 2).position == 3
    assert line_of(world, queue, [urgent, *others]) == ["A-002", "A-003", "A-001", "A-004", "A-005"]


def test_more_time_is_given_once_per_ticket():
    world = make_world()
    queue = world.queue(world.service("A"))
    tickets = [world.tickets.issue_ticket(world.context, queue) for _ in range(5)]
    world.tickets.give_more_time(world.context, tickets[0].id, 1)

    with pytest.raises(MoreTimeUsed):
        world.tickets.give_more_time(world.context, tickets[0].id, 1)


def test_a_called_ticket_cannot_ask_for_more_time():
    world = make_world()
    queue = world.queue(world.service("A"))
    ticket = world.tickets.issue_ticket(world.context, queue)
    world.staffing.call_next(world.context, world.agent(), queue)

    with pytest.raises(IllegalTransition):
        world.tickets.give_more_time(world.context, ticket.id, 3)
