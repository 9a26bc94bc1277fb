"""Calling from all of an agent's queues respects each queue's own selection policy.

Each open queue nominates the ticket its policy would call; across queues, an sla nominee past
its target goes first (furthest past first), then priority counts only where the queue's policy
lets it (a priority queue), then the longest wait.
"""

from __future__ import annotations

import pytest

from tests.unit.world import World, make_world


@pytest.fixture
def world() -> World:
    return make_world()


def _agent_on(world: World, *queues):
    agent = world.agent()
    world.staffing.assign_agent_queues(world.context, agent, list(queues))
    return agent


def test_an_sla_ticket_past_its_target_beats_a_higher_priority_one(world):
    late = world.queue(world.service("S", target_wait_minutes=5), algorithm="sla")
    urgent = world.queue(world.service("P", target_wait_minutes=30), algorithm="priority")
    agent = _agent_on(world, late, urgent)
    world.issue(late, priority=0)
    world.clock.advance(minutes=9)
    world.issue(urgent, priority=2)  # higher priority, but its target is far away
    world.clock.advance(minutes=1)  # S-001 has waited 10 of its 5 minutes

    assert world.staffing.call_next(world.context, agent).number == "S-001"


def test_among_late_sla_tickets_the_one_furthest_past_its_target_goes_first(world):
    short = world.queue(world.service("S", target_wait_minutes=2), algorithm="sla")
    long = world.queue(world.service("L", target_wait_minutes=20), algorithm="sla")
    agent = _agent_on(world, short, long)
    world.issue(long)  # older: 5 minutes past its 20-minute target at the call
    world.clock.advance(minutes=15)
    world.issue(short)  # newer: 8 minutes past its 2-minute target at the call
    world.clock.advance(minutes=10)

    assert world.staffing.call_next(world.context, agent).number == "S-001"


def test_priority_does_not_jump_ahead_from_a_fifo_queue(world):
    plain, other = world.queue(world.service("A")), world.queue(world.service("B"))
    agent = _agent_on(world, plain, other)
    world.issue(plain, priority=0)
    world.clock.advance(minutes=5)
    world.issue(other, priority=2)  # a fifo queue calls by arrival: its priority is not urgency

    assert world.staffing.call_next(world.context, agent).number == "A-001"


def test_an_sla_ticket_within_its_target_waits_its_turn_by_age(world):
    sla = world.queue(world.service("S", target_wait_minutes=60), algorithm="sla")
    fifo = world.queue(world.service("F"))
    agent = _agent_on(world, sla, fifo)
    world.issue(fifo)
    world.clock.advance(minutes=1)
    world.issue(sla)

    assert world.staffing.call_next(world.context, agent).number == "F-001"
