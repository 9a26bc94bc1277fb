"""A queue's waiting line has a cap when the command asks for one: the Queue aggregate refuses
the ticket that would exceed it, and a transfer is not held to it."""

from __future__ import annotations

import pytest

from domain.errors import QueueFull
from tests.unit.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def test_issuing_into_a_full_queue_is_refused_and_uses_up_no_number(world):
    queue = world.queue(world.service("A"))
    assert [world.issue(queue, max_waiting=2) for _ in range(2)] == ["A-001", "A-002"]

    with pytest.raises(QueueFull) as refused:
        world.issue(queue, max_waiting=2)
    assert refused.value.code == "queue_full"
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 2
    assert world.issue(queue, max_waiting=3) == "A-003"


def test_a_called_ticket_frees_its_place(world):
    queue = world.queue(world.service("A"))
    world.issue(queue, max_waiting=1)
    world.staffing.call_next(world.context, world.agent(), queue)
    assert world.issue(queue, max_waiting=1) == "A-002"


def test_without_a_cap_the_line_grows(world):
    queue = world.queue(world.service("A"))
    for _ in range(5):
        world.issue(queue)
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 5


def test_a_transfer_may_bring_a_ticket_into_a_full_queue(world):
    service = world.service("A")
    full, other = world.queue(service), world.queue(service)
    world.issue(full, max_waiting=1)
    moved = world.tickets.issue_ticket(world.context, other)

    world.tickets.transfer_ticket(world.context, moved.id, full, "last")
    assert world.queues.get_queue(world.tenant_id, full).waiting == 2
