"""The projection runner on real PostgreSQL: exactly one effect per event, across failures,
redeliveries and concurrent writers; one active follower, a standby that takes over; lag."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from sqlalchemy import Connection

from application.audit import AuditFilter
from application.context import CommandContext
from application.paging import PageRequest
from infrastructure.following.process import Follower, FollowerGroup, lag
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.following.shared_log import SharedLog
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.integration.conftest import on_own_database
from tests.integration.projection_support import (
    audit_positions,
    audit_runner,
    log_positions,
    tracked,
)

pytestmark = pytest.mark.integration

container, world = on_own_database()


class Crash(Exception):
    """Stands for the process dying between writing a batch's rows and committing."""


def test_the_audit_log_shows_each_event_with_its_actor_and_correlation_id(container, world):
    actor = world.add_available_agent()
    context = CommandContext(
        tenant_id=world.tenant_id,
        actor_id=actor,
        actor_role="agent",
        client_ip="203.0.113.9",
        correlation_id="corr-audit-1",
    )
    ticket = container.tickets.issue_ticket(context, world.queue_id)
    audit_runner(container).catch_up(container.read_engine)

    page = container.audit.search(
        world.tenant_id, AuditFilter(aggregate_id=ticket.id), PageRequest(limit=10)
    )
    [issued] = [entry for entry in page.items if entry.event_type == "Ticket.Issued"]
    assert issued.actor_id == actor
    assert issued.actor_role == "agent"
    assert issued.client_ip == "203.0.113.9"
    assert issued.correlation_id == "corr-audit-1"
    assert issued.aggregate_type == "Ticket"
    assert issued.data["number"] == ticket.number


def test_a_batch_that_dies_before_its_commit_leaves_nothing_and_is_applied_once_later(
    container, world
):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    before = tracked(engine)
    for _ in range(5):
        container.tickets.issue_ticket(world.context, world.queue_id)

    model = read_models()["audit_log"]

    def crashing_view(tables: dict[str, Any]) -> Any:
        view = model.make_view(tables)

        class Crashing:
            def append(self, entry: Any) -> None:
                view.append(entry)

            def flush(self, connection: Connection) -> None:
                view.flush(connection)  # the rows are written...
                raise Crash  # ...and the process dies before the commit

        return Crashing()

    crashing = ProjectionRunner(
        replace(model, make_view=crashing_view), container.app.recorder, container.app.mapper
    )
    with pytest.raises(Crash):
        crashing.catch_up(engine)
    assert tracked(engine) == before
    assert max(audit_positions(engine), default=0) <= before

    audit_runner(container).catch_up(engine)
    assert audit_positions(engine) == log_positions(container)


def test_events_delivered_twice_have_one_effect(container, world):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    for _ in range(3):
        container.tickets.issue_ticket(world.context, world.queue_id)

    class Redelivering:
        """The log as an at-least-once transport would show it: every batch sent twice."""

        def __init__(self, recorder: Any) -> None:
            self.recorder = recorder

        def select_notifications(self, **kwargs: Any) -> list[Any]:
            batch = list(self.recorder.select_notifications(**kwargs))
            return batch + batch

        def max_notification_id(self) -> int | None:
            return self.recorder.max_notification_id()

    runner = ProjectionRunner(
        read_models()["audit_log"],
        Redelivering(container.app.recorder),  # type: ignore[arg-type]
        container.app.mapper,
        batch_size=2,
    )
    runner.catch_up(engine)
    assert audit_positions(engine) == log_positions(container)


@pytest.mark.parametrize(
    ("shared", "grouped"),
    [(False, False), (True, False), (True, True)],
    ids=["own-reads", "shared-log", "group"],
)
def test_a_follower_never_skips_an_event_of_concurrent_writers(container, world, shared, grouped):
    """Also when followers share one read of the log: a second follower at another batch size
    moves the shared stretch under the first; and when one group applies both in one
    transaction per round (as ``smartqueue projections`` runs them)."""
    engine = sqlalchemy_engine(container.database_url, pool_size=3)
    stop = threading.Event()
    log = SharedLog(container.app.recorder, container.app.mapper, keep=50) if shared else None
    audit = audit_runner(container, batch_size=7, shared=log)
    other = ProjectionRunner(
        read_models()["tickets"],
        container.app.recorder,
        container.app.mapper,
        batch_size=11,
        shared=log,
    )
    followers: list[FollowerGroup] = (
        [FollowerGroup([audit, other], engine, poll_interval=0.004)]
        if grouped
        else [
            Follower(audit, engine, poll_interval=0.005),
            Follower(other, engine, poll_interval=0.003),
        ]
    )
    threads = [threading.Thread(target=f.run, args=(stop,), daemon=True) for f in followers]
    for thread in threads:
        thread.start()
    queues = [world.queue_id, world.open_queue(), world.open_queue()]
    errors: list[BaseException] = []

    def write(queue_id: Any) -> None:
        try:
            for _ in range(25):
                container.tickets.issue_ticket(world.context, queue_id)
        except BaseException as error:  # reported below
            errors.append(error)

    writers = [threading.Thread(target=write, args=(queues[i % 3],)) for i in range(6)]
    try:
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join(120)
        assert not errors
        head = log_positions(container)[-1]
        deadline = time.monotonic() + 30
        while tracked(engine) < head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        engine.dispose()
    # Had the follower passed an id that committed later, it would be missing for good.
    assert audit_positions(container.read_engine) == log_positions(container)


class GatedStore:
    """The recorder, whose reads of the log wait for ``gate``: a read still going on."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self.gate = threading.Event()
        self.gate.set()
        self.reads = 0

    def select_notifications(self, **options: Any) -> Any:
        self.reads += 1
        self.gate.wait(30)
        return self.recorder.select_notifications(**options)


def test_followers_woken_together_read_the_log_once_and_get_what_the_store_holds(container, world):
    for _ in range(6):
        container.tickets.issue_ticket(world.context, world.queue_id)
    store = GatedStore(container.app.recorder)
    head = log_positions(container)[-1]
    start = log_positions(container)[-7]
    log = SharedLog(store, container.app.mapper, keep=100)  # type: ignore[arg-type]

    def ids(position: int, limit: int) -> list[int]:
        return [item.notification.id for item in log.after(position, limit)]

    direct = log_positions(container)[-6:]
    # Eight followers woken together: the first one's read is slow, the others queue behind it.
    store.gate.clear()
    answers: list[list[int]] = []
    woken = [threading.Thread(target=lambda: answers.append(ids(start, 10))) for _ in range(8)]
    for thread in woken:
        thread.start()
    time.sleep(0.3)
    store.gate.set()
    for thread in woken:
        thread.join(30)
    assert answers == [direct] * 8
    assert store.reads == 1  # seven followers read nothing themselves
    assert ids(direct[2], 2) == direct[3:5]  # inside the stretch: still no read
    assert store.reads == 1
    assert ids(head, 10) == []  # at the end: the store is asked what is new
    assert store.reads == 2
    container.tickets.issue_ticket(world.context, world.queue_id)
    newer = [position for position in log_positions(container) if position > head]
    assert ids(head, 10) == newer  # appended after the stretch's end
    assert ids(0, 3) == log_positions(container)[:3]  # far behind: read from the store
    assert all(item.event is not None for item in log.after(head, 10))


def test_only_one_follower_is_active_and_a_standby_takes_over_when_it_stops(container, world):
    engines = [sqlalchemy_engine(container.database_url, pool_size=1) for _ in range(2)]
    followers = [
        Follower(audit_runner(container), engine, poll_interval=0.02, standby_interval=0.2)
        for engine in engines
    ]
    stops = [threading.Event(), threading.Event()]
    threads = [
        threading.Thread(target=f.run, args=(s,), daemon=True)
        for f, s in zip(followers, stops, strict=True)
    ]
    try:
        threads[0].start()
        assert followers[0].active.wait(10)
        threads[1].start()
        time.sleep(0.6)
        assert not followers[1].active.is_set()  # standby while the lock is held

        stops[0].set()  # the active one goes away; its session, and lock, end with it
        threads[0].join(10)
        assert followers[1].active.wait(5)
        container.tickets.issue_ticket(world.context, world.queue_id)
        head = log_positions(container)[-1]
        deadline = time.monotonic() + 10
        while tracked(container.read_engine) < head and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tracked(container.read_engine) == head
    finally:
        for stop in stops:
            stop.set()
        for thread in threads:
            thread.join(10)
        for engine in engines:
            engine.dispose()


def test_lag_is_the_distance_between_the_log_head_and_the_tracking_position(container, world):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    container.tickets.issue_ticket(world.context, world.queue_id)
    [behind] = [row for row in lag(engine, container.app.recorder) if row.projection == "audit_log"]
    assert behind.behind > 0
    assert behind.head == log_positions(container)[-1]

    audit_runner(container).catch_up(engine)
    [caught_up] = [r for r in lag(engine, container.app.recorder) if r.projection == "audit_log"]
    assert caught_up.behind == 0
