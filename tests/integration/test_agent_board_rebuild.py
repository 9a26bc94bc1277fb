"""Rebuilding the agent board from zero yields exactly what incremental processing produced."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import read_models
from tests.integration.board_support import board_tables, project_board
from tests.integration.projection_support import log_positions
from tests.integration.roles_support import owner_engine

pytestmark = pytest.mark.integration

ACTIONS = [
    "issue",
    "call",
    "recall",
    "start",
    "pause",
    "resume",
    "close",
    "no_show",
    "cancel",
    "transfer",
    "status",
    "counter",
    "queues",
    "project",
]
STEPS = st.lists(
    st.tuples(st.sampled_from(ACTIONS), st.integers(min_value=0, max_value=11)),
    min_size=1,
    max_size=25,
)
STATUSES = ("available", "busy", "paused", "offline")


def _play(container, world, agents, queues, steps, batch_size) -> None:
    """Run a random history of two agents over two queues, projecting at random points."""
    context = world.context
    tickets = []
    ticket_commands = {
        "recall": container.tickets.recall_ticket,
        "start": container.tickets.start_ticket,
        "pause": container.tickets.pause_ticket,
        "resume": container.tickets.resume_ticket,
        "close": container.tickets.close_ticket,
        "no_show": container.tickets.mark_no_show,
        "cancel": container.tickets.cancel_ticket,
    }
    for action, pick in steps:
        agent, queue = agents[pick % 2], queues[pick // 2 % 2]
        try:
            if action == "issue":
                tickets.append(container.tickets.issue_ticket(context, queue).id)
            elif action == "call":
                container.staffing.call_next(context, agent, queue)
            elif action == "status":
                container.staffing.set_agent_status(context, agent, STATUSES[pick % 4])
            elif action == "counter":
                container.staffing.assign_agent_counter(
                    context, agent, f"{pick}" if pick % 3 else None
                )
            elif action == "queues":
                container.staffing.assign_agent_queues(context, agent, queues[: pick % 3])
            elif action == "project":
                project_board(container, batch_size=batch_size)
            elif tickets and action == "transfer":
                container.tickets.transfer_ticket(context, tickets[pick % len(tickets)], queue)
            elif tickets:
                ticket_commands[action](context, tickets[pick % len(tickets)])
        except DomainError:
            pass  # an illegal transition records nothing, like a refused HTTP command


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, batch_size=st.integers(min_value=1, max_value=40))
def test_a_rebuild_of_the_board_from_zero_yields_exactly_the_incremental_rows(
    own_container, own_world, steps, batch_size
):
    container, world = own_container, own_world
    agents = [world.add_available_agent("Ann"), world.add_available_agent("Bob")]
    queues = [world.queue_id, world.open_queue()]
    _play(container, world, agents, queues, steps, batch_size)
    project_board(container, batch_size=batch_size)
    incremental = board_tables(container.read_engine)
    assert {row["agent_id"] for row in incremental["agent_board"]} >= set(agents)

    position = rebuild(
        read_models()["agent_board"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=max(2, batch_size // 2),
    )
    assert position == log_positions(container)[-1]
    assert board_tables(container.read_engine) == incremental
