"""The wait estimator on real PostgreSQL answers exactly what :mod:`domain.eta` answers for
the same facts, taken here from the command results themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from domain.errors import InvalidInput
from domain.eta import QueueState, handover
from infrastructure.read_models.wait_estimates import PostgresWaitEstimator
from tests.integration.board_support import project_board

pytestmark = pytest.mark.integration


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def test_the_estimate_is_the_hand_over_estimate_of_the_board_and_the_samples(container, world):
    context = world.context
    ann, bob = world.add_available_agent("Ann"), world.add_available_agent("Bob")
    elsewhere, paused = world.add_available_agent("Cid"), world.add_available_agent("Dee")
    other_queue = world.open_queue()
    for agent in (ann, bob, paused):
        container.staffing.assign_agent_queues(context, agent, [world.queue_id])
    container.staffing.assign_agent_queues(context, elsewhere, [other_queue])
    container.staffing.set_agent_status(context, paused, "paused")

    served = container.tickets.issue_ticket(context, world.queue_id)
    missed = container.tickets.issue_ticket(context, world.queue_id)
    served_call = container.staffing.call_next(context, ann, world.queue_id)
    missed_call = container.staffing.call_next(context, bob, world.queue_id)
    served_start = container.tickets.start_ticket(context, served.id)
    served_end = container.tickets.close_ticket(context, served.id)
    missed_end = container.tickets.mark_no_show(context, missed.id)
    for _ in range(5):
        container.tickets.issue_ticket(context, world.queue_id)
    holding = [container.staffing.call_next(context, agent, world.queue_id) for agent in (ann, bob)]
    project_board(container)

    now = datetime.now(UTC) + timedelta(seconds=42)
    estimator = PostgresWaitEstimator(container.read_engine, clock=lambda: now)
    expected = QueueState(
        now=now.timestamp(),
        position=1,
        active_agents=2,
        busy_since=tuple(sorted(ticket.called_at.timestamp() for ticket in holding)),
        recent_service_seconds=(_seconds(served_start.service_started_at, served_end.finished_at),),
        recent_occupancy_seconds=(
            _seconds(served_call.called_at, served_end.finished_at),
            _seconds(missed_call.called_at, missed_end.finished_at),
        ),
    )
    state = estimator.queue_state(world.tenant_id, world.queue_id, 1)
    assert msgspec.structs.replace(state, busy_since=tuple(sorted(state.busy_since))) == expected
    for position in (1, 2, 3):
        answer = handover(msgspec.structs.replace(expected, position=position))
        assert answer is not None and answer > 0
        assert estimator.estimate(world.tenant_id, world.queue_id, position) == round(answer)


def test_nobody_on_duty_means_no_estimate_and_a_free_agent_means_no_wait(container, world):
    context = world.context
    estimator = container.wait_estimator
    agent = world.add_available_agent()
    project_board(container)
    assert estimator.estimate(world.tenant_id, world.queue_id, 1) is None  # not assigned

    container.staffing.assign_agent_queues(context, agent, [world.queue_id])
    project_board(container)
    assert estimator.estimate(world.tenant_id, world.queue_id, 1) == 0
    assert estimator.estimate(world.tenant_id, world.queue_id, 2) > 0

    container.staffing.set_agent_status(context, agent, "offline")
    project_board(container)
    assert estimator.estimate(world.tenant_id, world.queue_id, 1) is None


def test_a_position_before_the_first_is_refused(container, world):
    with pytest.raises(InvalidInput):
        container.wait_estimator.estimate(world.tenant_id, world.queue_id, 0)
