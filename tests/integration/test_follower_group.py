"""The projections of a process applied together (``FollowerGroup``): one transaction per round
for every read model, a failing read model resting while the others go on, and a group that is
active only when no other process runs any of its read models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from infrastructure.container import Container
from infrastructure.following.dead_letters import dead_letters
from infrastructure.following.process import Follower, FollowerGroup
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.following.shared_log import SharedLog
from infrastructure.postgres.doorbell import doorbell_for
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.integration.conftest import TenantWorld, on_own_database
from tests.integration.projection_support import audit_positions, log_positions, tracked

pytestmark = pytest.mark.integration

container, world = on_own_database()

POISON = "Ticket.Called"


def _until(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.02)


def _runners(container: Container, **replaced: Any) -> list[ProjectionRunner]:
    """A runner per read model over one shared read, ``replaced`` models swapped in by name."""
    shared = SharedLog(container.app.recorder, container.app.mapper)
    return [
        ProjectionRunner(
            replaced.get(name, model), container.app.recorder, container.app.mapper, shared=shared
        )
        for name, model in read_models().items()
    ]


@contextmanager
def _running(*groups: FollowerGroup) -> Iterator[threading.Event]:
    stop = threading.Event()
    threads = [threading.Thread(target=g.run, args=(stop,), daemon=True) for g in groups]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)


def _every_model_at(engine: Engine, head: int) -> bool:
    return all(tracked(engine, name) >= head for name in read_models())


def test_one_command_moves_every_read_model_in_one_transaction(container, world):
    engine = sqlalchemy_engine(container.database_url, pool_size=2)
    doorbell = doorbell_for(container.app.recorder)
    assert doorbell is not None
    commits: list[float] = []
    event.listen(engine, "commit", lambda connection: commits.append(time.monotonic()))
    runners = _runners(container)
    shared = runners[0].shared
    assert shared is not None
    group = FollowerGroup(runners, engine, doorbell=doorbell, poll_interval=30)
    try:
        with _running(group) as stop:
            threading.Thread(target=doorbell.run, args=(stop,), daemon=True).start()
            container.tickets.issue_ticket(world.context, world.queue_id)
            _until(
                lambda: _every_model_at(container.read_engine, log_positions(container)[-1]),
                "every read model at the head",
            )
            _until(doorbell.listening.is_set, "the doorbell listening")
            time.sleep(0.3)  # the rounds of the catch-up are over
            commits.clear()
            reads = shared.reads

            container.tickets.issue_ticket(world.context, world.queue_id)
            head = log_positions(container)[-1]
            _until(lambda: _every_model_at(container.read_engine, head), "the new ticket")
            rounds = len(commits)
            reads = shared.reads - reads
    finally:
        engine.dispose()
    # One round for the command: a follower per read model took one transaction each (eight).
    assert 1 <= rounds <= 2, f"{rounds} transactions for one command's events"
    assert reads <= rounds  # the log's end is read once a round, not once per read model
    with container.read_engine.connect() as connection:
        stamps = connection.execute(
            text(
                "SELECT DISTINCT updated_at FROM projection_tracking "
                "WHERE projection_name = ANY(:names) AND position = :head"
            ),
            {"names": list(read_models()), "head": head},
        ).all()
    assert len(stamps) == 1  # every position moved by one statement


class Breakable:
    """The audit log's own view, except that it raises on ``POISON``."""

    def __init__(self, view: Any) -> None:
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)

    def append(self, entry: Any) -> None:
        if entry.event_type == POISON:
            raise RuntimeError("the audit log cannot take a call today")
        self.view.append(entry)


def _breakable_audit() -> Any:
    model = read_models()["audit_log"]
    return replace(model, make_view=lambda tables: Breakable(model.make_view(tables)))


def test_a_failing_read_model_rests_while_the_others_go_past_its_poison_event(
    container: Container, world: TenantWorld
):
    engine = sqlalchemy_engine(container.database_url, pool_size=2)
    group = FollowerGroup(
        _runners(container, audit_log=_breakable_audit()),
        engine,
        poll_interval=0.05,
        retry_interval=1.0,  # rests 1 s, then 2 s: the others must not wait for that
    )
    try:
        with _running(group):
            _until(
                lambda: _every_model_at(container.read_engine, log_positions(container)[-1]),
                "the group caught up",
            )
            container.tickets.issue_ticket(world.context, world.queue_id)
            agent_id = world.add_available_agent()
            assert container.staffing.call_next(world.context, agent_id, world.queue_id)
            container.tickets.issue_ticket(world.context, world.queue_id)
            head = log_positions(container)[-1]
            others = [name for name in read_models() if name != "audit_log"]
            started = time.monotonic()
            _until(
                lambda: all(tracked(container.read_engine, n) >= head for n in others),
                "the other read models past the poison event",
            )
            others_after = time.monotonic() - started
            with container.read_engine.connect() as connection:
                assert dead_letters(connection) == []  # the audit log is still being retried
            assert tracked(container.read_engine) < head
            _until(lambda: tracked(container.read_engine) >= head, "the audit log")
    finally:
        engine.dispose()
    assert others_after < 2.5
    with container.read_engine.connect() as connection:
        [letter] = dead_letters(connection)
    assert (letter.projection, letter.attempts) == ("audit_log", 3)
    assert letter.topic.endswith(POISON)
    assert audit_positions(container.read_engine) == [
        p for p in log_positions(container) if p != letter.position
    ]
    with container.read_engine.begin() as connection:
        connection.execute(text("DELETE FROM projection_dead_letters"))


def test_a_group_stands_by_while_another_process_runs_one_of_its_read_models(container, world):
    engines = [sqlalchemy_engine(container.database_url, pool_size=1) for _ in range(3)]
    audit_only = Follower(
        ProjectionRunner(read_models()["audit_log"], container.app.recorder, container.app.mapper),
        engines[0],
        poll_interval=0.02,
        standby_interval=0.2,
    )
    group = FollowerGroup(_runners(container), engines[1], poll_interval=0.02, standby_interval=0.2)
    board_only = Follower(
        ProjectionRunner(
            read_models()["agent_board"], container.app.recorder, container.app.mapper
        ),
        engines[2],
        standby_interval=0.2,
    )
    first = threading.Event()
    try:
        thread = threading.Thread(target=audit_only.run, args=(first,), daemon=True)
        thread.start()
        assert audit_only.active.wait(10)
        with _running(group):
            time.sleep(0.8)
            assert not group.active.is_set()  # one of its locks is held elsewhere
            with _running(board_only):
                # Standing by, the group holds none of its locks, not even those it took before
                # finding the audit log's taken: another process may run one.
                assert board_only.active.wait(5)
            first.set()
            thread.join(10)
            _until(group.active.is_set, "the group taking over", timeout=5)
            container.tickets.issue_ticket(world.context, world.queue_id)
            head = log_positions(container)[-1]
            _until(lambda: _every_model_at(container.read_engine, head), "every read model")
    finally:
        first.set()
        for engine in engines:
            engine.dispose()
