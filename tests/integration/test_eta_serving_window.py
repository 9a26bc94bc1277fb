"""Who counts as serving a queue for its ETA, on real PostgreSQL: agents who call from a queue by
its id without being assigned to it serve it for a window after their latest call or finish."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from infrastructure.read_models.wait_estimates import PostgresWaitEstimator
from tests.integration.board_support import project_board

pytestmark = pytest.mark.integration

WINDOW = timedelta(minutes=10)


def _estimator_at(container, moment: datetime) -> PostgresWaitEstimator:
    return PostgresWaitEstimator(
        container.read_engine,
        clock=lambda: moment,
        serving_window_seconds=WINDOW.total_seconds(),
    )


def test_an_unassigned_agent_who_called_from_the_queue_serves_it_for_the_window(container, world):
    context = world.context
    ann, bob = world.add_available_agent("Ann"), world.add_available_agent("Bob")  # unassigned
    for _ in range(4):
        container.tickets.issue_ticket(context, world.queue_id)
    ann_call = container.staffing.call_next(context, ann, world.queue_id)
    bob_call = container.staffing.call_next(context, bob, world.queue_id)
    container.tickets.start_ticket(context, ann_call.id)
    finished = container.tickets.close_ticket(
        context, ann_call.id
    )  # Ann is free again, Bob still holds his
    project_board(container)

    soon = finished.finished_at + timedelta(minutes=1)
    state = _estimator_at(container, soon).queue_state(world.tenant_id, world.queue_id, 1)
    assert state.active_agents == 2
    assert state.busy_since == (bob_call.called_at.timestamp(),)
    assert _estimator_at(container, soon).estimate(world.tenant_id, world.queue_id, 1) == 0

    # Past the window after Ann's finish she no longer counts; Bob, holding one of the queue's
    # tickets, still does however long ago he called it.
    later = finished.finished_at + WINDOW + timedelta(seconds=1)
    state = _estimator_at(container, later).queue_state(world.tenant_id, world.queue_id, 1)
    assert state.active_agents == 1
    assert state.busy_since == (bob_call.called_at.timestamp(),)

    container.tickets.start_ticket(context, bob_call.id)
    bob_done = container.tickets.close_ticket(context, bob_call.id)
    project_board(container)
    long_after = bob_done.finished_at + WINDOW + timedelta(seconds=1)
    estimator = _estimator_at(container, long_after)
    assert estimator.queue_state(world.tenant_id, world.queue_id, 1).active_agents == 0
    assert estimator.estimate(world.tenant_id, world.queue_id, 1) is None


def test_the_window_counts_only_the_queue_called_from_and_only_agents_on_duty(container, world):
    context = world.context
    other_queue = world.open_queue()
    ann, bob = world.add_available_agent("Ann"), world.add_available_agent("Bob")
    container.tickets.issue_ticket(context, world.queue_id)
    container.tickets.issue_ticket(context, world.queue_id)
    container.tickets.close_ticket(
        context, _called_and_started(container, context, ann, world.queue_id)
    )
    container.tickets.close_ticket(
        context, _called_and_started(container, context, bob, world.queue_id)
    )
    container.staffing.set_agent_status(context, bob, "paused")
    project_board(container)

    now = datetime.now(UTC)
    estimator = _estimator_at(container, now)
    assert estimator.queue_state(world.tenant_id, world.queue_id, 1).active_agents == 1  # Ann
    assert estimator.queue_state(world.tenant_id, other_queue, 1).active_agents == 0
    assert estimator.estimate_all(world.tenant_id, [(world.queue_id, 1), (other_queue, 1)]) == [
        0,
        None,
    ]


def _called_and_started(app, context, agent, queue_id):
    ticket = app.staffing.call_next(context, agent, queue_id)
    app.tickets.start_ticket(context, ticket.id)
    return ticket.id
