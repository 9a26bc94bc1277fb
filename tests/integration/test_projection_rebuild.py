"""Rebuilding a read model from zero yields exactly what incremental processing produced, and
the swapped-in table keeps its indexes, row-level security and grants."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import read_models
from infrastructure.postgres.tables import audit_log
from tests.integration.projection_support import (
    audit_rows,
    audit_runner,
    log_positions,
    table_catalogue,
)
from tests.integration.roles_support import owner_engine

pytestmark = pytest.mark.integration

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["issue", "call", "start", "close", "no_show", "cancel", "project"]),
        st.integers(min_value=0, max_value=5),
    ),
    min_size=1,
    max_size=12,
)


def _play(container, world, agent_id, steps, batch_size) -> None:
    """Run a random command history, projecting incrementally at random points."""
    context = world.context
    tickets = []
    for action, pick in steps:
        try:
            if action == "issue":
                tickets.append(
                    container.tickets.issue_ticket(context, world.queue_id, priority=pick % 3).id
                )
            elif action == "call":
                container.staffing.call_next(context, agent_id, world.queue_id)
            elif action == "project":
                audit_runner(container, batch_size=batch_size).catch_up(container.read_engine)
            elif tickets:
                ticket = tickets[pick % len(tickets)]
                command = {
                    "start": container.tickets.start_ticket,
                    "close": container.tickets.close_ticket,
                    "no_show": container.tickets.mark_no_show,
                    "cancel": container.tickets.cancel_ticket,
                }[action]
                command(context, ticket)
        except DomainError:
            pass  # an illegal transition records nothing, like a refused HTTP command


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, batch_size=st.integers(min_value=1, max_value=50))
def test_a_rebuild_from_zero_yields_exactly_the_incremental_rows(
    own_container, own_world, steps, batch_size
):
    container, world = own_container, own_world
    agent_id = world.add_available_agent()
    _play(container, world, agent_id, steps, batch_size)
    audit_runner(container, batch_size=batch_size).catch_up(container.read_engine)
    incremental = audit_rows(container.read_engine)
    assert [row["position"] for row in incremental] == log_positions(container)

    position = rebuild(
        read_models()["audit_log"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=max(2, batch_size // 2),
    )
    assert position == log_positions(container)[-1]
    assert audit_rows(container.read_engine) == incremental


def test_the_rebuilt_table_keeps_its_index_names_security_and_grants(own_container, own_world):
    container, world = own_container, own_world
    container.tickets.issue_ticket(world.context, world.queue_id)
    rebuild(
        read_models()["audit_log"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
    )
    catalogue = table_catalogue(container.read_engine, "audit_log")
    assert catalogue == {
        "indexes": {index.name for index in audit_log.indexes} | {"audit_log_pkey"},
        "secured": True,
        "may_read": True,
        "leftovers": 0,
    }
