"""The queue statistics read model on real PostgreSQL: its rows always equal a fresh fold of the
whole log, whether built incrementally in batches of any size, after a crash mid-batch, after a
restart from stored state, or by a rebuild swapped in while the live view keeps going."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, select, text

from domain.errors import DomainError
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.tables import queue_stats
from infrastructure.postgres.tracking import stored_state
from projections.queue_day import SlaRule
from tests.integration.conftest import TenantWorld
from tests.integration.projection_support import (
    folded_rows,
    log_positions,
    stats_rows,
    stats_runner,
    table_catalogue,
    tracked,
)
from tests.integration.projection_victim import Hanging
from tests.integration.roles_support import every_tenant, owner_engine

pytestmark = pytest.mark.integration

ACTIONS = ["issue", "call", "start", "close", "pause", "resume", "no_show", "cancel"]
STEPS = st.lists(
    st.tuples(
        st.sampled_from([*ACTIONS, "issue", "call", "transfer", "recall", "project"]),
        st.integers(min_value=0, max_value=11),
    ),
    min_size=1,
    max_size=16,
)


class Crash(Exception):
    """Stands for the process dying between writing a batch and committing it."""


class Floor:
    """Two queues of a tenant with two agents, driven by random but mostly legal commands."""

    def __init__(self, world: TenantWorld) -> None:
        self.world = world
        self.queues = [world.queue_id, world.open_queue()]
        self.agents = [world.add_available_agent(), world.add_available_agent()]
        self.tickets: list[Any] = []

    def play(self, steps: list[tuple[str, int]], project: Any = None) -> None:
        context = self.world.context
        for action, pick in steps:
            queue = self.queues[pick % 2]
            try:
                if action == "issue":
                    self.tickets.append(
                        self.world.container.tickets.issue_ticket(context, queue).id
                    )
                elif action == "call":
                    self.world.container.staffing.call_next(
                        context, self.agents[pick // 2 % 2], queue
                    )
                elif action == "project":
                    if project is not None:
                        project()
                elif self.tickets:
                    ticket = self.tickets[pick % len(self.tickets)]
                    if action == "transfer":
                        self.world.container.tickets.transfer_ticket(
                            context, ticket, self.queues[pick // 3 % 2]
                        )
                        continue
                    command = {
                        "start": self.world.container.tickets.start_ticket,
                        "close": self.world.container.tickets.close_ticket,
                        "pause": self.world.container.tickets.pause_ticket,
                        "resume": self.world.container.tickets.resume_ticket,
                        "no_show": self.world.container.tickets.mark_no_show,
                        "cancel": self.world.container.tickets.cancel_ticket,
                        "recall": self.world.container.tickets.recall_ticket,
                    }[action]
                    command(context, ticket)
            except DomainError:
                pass  # an illegal transition records nothing, like a refused HTTP command


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, unseen=STEPS, more=STEPS, batch_size=st.integers(min_value=1, max_value=40))
def test_incremental_batches_and_a_rebuild_both_store_exactly_a_fold_of_the_log(
    own_container, own_world, steps, unseen, more, batch_size
):
    container, engine = own_container, own_container.read_engine
    floor = Floor(own_world)

    def project() -> None:
        stats_runner(container, batch_size=batch_size).catch_up(engine)

    floor.play(steps, project)
    project()
    assert stats_rows(engine) == folded_rows(container)
    assert tracked(engine, "queue_stats") == log_positions(container)[-1]

    floor.play(unseen)  # the live projection is behind when the rebuild swaps in
    position = rebuild(
        read_models()["queue_stats"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=max(2, batch_size // 2),
    )
    assert position == log_positions(container)[-1]
    assert stats_rows(engine) == folded_rows(container)

    # The live name now carries the rebuilt state: it goes on from there exactly.
    floor.play(more, project)
    project()
    assert stats_rows(engine) == folded_rows(container)


def test_a_rebuild_hands_its_state_to_the_live_projection(own_container, own_world):
    container, engine = own_container, own_container.read_engine
    floor = Floor(own_world)
    stats_runner(container).catch_up(engine)
    floor.play([("issue", 0), ("issue", 1), ("call", 0)])  # the live projection never sees these
    rebuild(
        read_models()["queue_stats"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
    )

    floor.play([("start", 0), ("close", 0), ("call", 1)])  # outcomes of visits opened before
    stats_runner(container).catch_up(engine)
    rows = {row.queue_id: row for row in stats_rows(engine) if row.tenant_id == own_world.tenant_id}
    assert rows[floor.queues[0]].completed == 1
    assert rows[floor.queues[1]].called == 1
    assert stats_rows(engine) == folded_rows(container)


class Crashing(Hanging):
    """The projection's own view, except that the process dies once the batch is written."""

    def flush(self, connection: Connection) -> None:
        self.view.flush(connection)  # rows and state are written...
        raise Crash  # ...and the process dies before the commit


def _snapshot(container: Any) -> tuple[int, bytes | None, list[Any]]:
    engine = container.read_engine
    with every_tenant(engine) as connection:
        state = stored_state(connection, "queue_stats")
    return tracked(engine, "queue_stats"), state, stats_rows(engine)


def _projected_then_pending(world: TenantWorld) -> Any:
    """Open visits projected and stored; then their outcomes, still unprojected. Returns the
    stored snapshot as it stands between the two."""
    container = world.container
    floor = Floor(world)
    floor.play([("issue", 0), ("issue", 1), ("call", 0)])
    stats_runner(container).catch_up(container.read_engine)
    before = _snapshot(container)
    assert before[1] is not None  # the open visits are in the stored state
    floor.play([("start", 0), ("close", 0), ("call", 1), ("issue", 0), ("transfer", 1)])
    return before


def test_a_batch_that_dies_before_its_commit_leaves_state_rows_and_position_as_they_were(
    own_container, own_world
):
    container, engine = own_container, own_container.read_engine
    before = _projected_then_pending(own_world)

    model = read_models()["queue_stats"]
    crashing = ProjectionRunner(
        replace(model, make_view=lambda tables: Crashing(model.make_view(tables))),
        container.app.recorder,
        container.app.mapper,
    )
    with pytest.raises(Crash):
        crashing.catch_up(engine)
    assert _snapshot(container) == before

    stats_runner(container, batch_size=3).catch_up(engine)
    assert stats_rows(engine) == folded_rows(container)


def test_a_process_killed_mid_batch_leaves_state_rows_and_position_and_is_resumed(
    own_container, own_world
):
    container, engine = own_container, own_container.read_engine
    before = _projected_then_pending(own_world)

    victim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.projection_victim",
            container.database_url,
            "catch-up",
            "queue_stats",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout is not None
        assert any(line.strip() == "flushed" for line in iter(victim.stdout.readline, ""))
    finally:
        victim.kill()
        victim.wait(10)
    # The server rolls the killed session's transaction back: state, rows and position with it.
    assert _snapshot(container) == before

    stats_runner(container).catch_up(engine)
    assert stats_rows(engine) == folded_rows(container)


def test_a_restarted_runner_resumes_from_the_stored_state(own_container, own_world):
    container, engine = own_container, own_container.read_engine
    floor = Floor(own_world)
    floor.play([("issue", 0), ("issue", 0), ("issue", 1), ("call", 0)])
    stats_runner(container).catch_up(engine)  # the first process stops here

    # What happens next only counts if the new process knows the visits opened before: a fold
    # starting afresh would skip these tickets' calls and outcomes.
    floor.play([("start", 0), ("close", 0), ("call", 0), ("no_show", 1), ("cancel", 2)])
    restarted = ProjectionRunner(
        read_models()["queue_stats"], container.app.recorder, container.app.mapper
    )
    restarted.catch_up(engine)
    rows = {row.queue_id: row for row in stats_rows(engine) if row.tenant_id == own_world.tenant_id}
    first = rows[floor.queues[0]]
    assert (first.issued, first.completed, first.no_show, first.waits_counted) == (2, 1, 1, 2)
    assert rows[floor.queues[1]].abandoned == 1
    assert stats_rows(engine) == folded_rows(container)


def test_a_rebuild_applies_a_changed_sla_rule_to_past_days(own_container, own_world):
    container, engine = own_container, own_container.read_engine
    floor = Floor(own_world)
    floor.play([("issue", 0), ("call", 0), ("no_show", 0)])
    stats_runner(container).catch_up(engine)
    [row] = [row for row in stats_rows(engine) if row.queue_id == floor.queues[0]]
    assert (row.no_show, row.sla_counted) == (1, 1)  # by default a no-show counts by its call

    strict = SlaRule(count_abandoned=False, count_no_show=False)
    try:
        rebuild(
            read_models(strict)["queue_stats"],
            owner_engine(container),
            container.app.recorder,
            container.app.mapper,
        )
        [row] = [row for row in stats_rows(engine) if row.queue_id == floor.queues[0]]
        assert (row.no_show, row.sla_counted) == (1, 0)
        assert stats_rows(engine) == folded_rows(container, strict)
    finally:  # the module's other tests expect the default rule
        rebuild(
            read_models()["queue_stats"],
            owner_engine(container),
            container.app.recorder,
            container.app.mapper,
        )


def test_the_rebuilt_table_keeps_its_key_index_security_and_grants(own_container, own_world):
    container = own_container
    container.tickets.issue_ticket(own_world.context, own_world.queue_id)
    rebuild(
        read_models()["queue_stats"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
    )
    assert table_catalogue(container.read_engine, "queue_stats") == {
        "indexes": {"queue_stats_pkey", "queue_stats_tenant_id_day_idx"},
        "secured": True,
        "may_read": True,
        "leftovers": 0,
    }
    with every_tenant(container.read_engine) as connection:
        shadow_state = connection.execute(
            text("SELECT count(*) FROM projection_state WHERE projection_name LIKE '%rebuild%'")
        ).scalar()
        rows = connection.execute(select(queue_stats.c.queue_id)).scalars().all()
    assert shadow_state == 0
    assert own_world.queue_id in rows
