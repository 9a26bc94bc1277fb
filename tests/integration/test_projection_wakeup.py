"""Followers wake on the recorder's NOTIFY instead of waiting out their poll, and still poll
when no notification comes.

Timings hold on a machine shared by several test runs (load 15-20 on two cores): each probe
starts at the log's head (catching up a whole session's log first, decoding every event, is
another test's subject and took longer than any fixed wait here), every wait is a deadline on
a condition, and the one latency bound is a fraction of a poll interval made long enough that
only the doorbell can explain it."""

from __future__ import annotations

import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Connection

from infrastructure.container import Container
from infrastructure.following.process import Follower
from infrastructure.following.runner import ProjectionRunner, ReadModel, act_as_projector
from infrastructure.postgres.doorbell import LISTENING_POLL_SECONDS, Doorbell, doorbell_for
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.postgres.tracking import record_position
from projections.base import Projection
from tests.integration.projection_support import tracked

pytestmark = pytest.mark.integration


class Probe(Projection[Any]):
    """Writes nothing: only its tracking position moves. Each test names its own, so neither
    its lock nor its position is shared with the real audit log's follower."""

    name: ClassVar[str] = "probe"

    def tables(self) -> tuple[str, ...]:
        return ()


class NoRows:
    def flush(self, connection: Connection) -> None:
        pass


DEADLINE = 60.0
"""Seconds a condition may take to hold under heavy load; a healthy run meets it at once."""
POLL = 120.0
"""A doorbell test's poll interval: waking within :data:`WOKEN_WITHIN` of a write, a follower
was woken by the doorbell, never by its poll."""
WOKEN_WITHIN = POLL / 12


def probe_runner(container: Container) -> ProjectionRunner:
    projection = type("NamedProbe", (Probe,), {"name": f"probe_{uuid.uuid4().hex[:10]}"})()
    model = ReadModel(projection, {}, lambda tables: NoRows())
    return ProjectionRunner(model, container.app.recorder, container.app.mapper)


def head(container: Container) -> int:
    """The log's last notification id."""
    return container.app.recorder.max_notification_id() or 0


@contextmanager
def following(runner: ProjectionRunner, container: Container, **options: Any) -> Iterator[None]:
    """A follower (and its doorbell, if given) running until the block ends, caught up; it
    starts at the log's head."""
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    with engine.begin() as connection:
        act_as_projector(connection)
        record_position(connection, runner.tracking_name, head(container))
    follower = Follower(runner, engine, **options)
    stop = threading.Event()
    threads = [threading.Thread(target=follower.run, args=(stop,), daemon=True)]
    doorbell: Doorbell | None = options.get("doorbell")
    if doorbell is not None:
        threads.append(threading.Thread(target=doorbell.run, args=(stop,), daemon=True))
    try:
        for thread in threads:
            thread.start()
        assert follower.active.wait(DEADLINE)
        assert doorbell is None or doorbell.listening.wait(DEADLINE)
        wait_until_covered(container, runner.tracking_name, head(container), DEADLINE)
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        engine.dispose()


def wait_until_covered(container: Container, name: str, position: int, timeout: float) -> float:
    """Seconds until ``name``'s tracking position reaches ``position`` (fails after timeout)."""
    started = time.monotonic()
    while tracked(container.read_engine, name) < position:
        assert time.monotonic() - started < timeout, f"{name} never reached {position}"
        time.sleep(0.005)
    return time.monotonic() - started


def test_a_committed_write_announces_its_highest_notification_id(container, world):
    channel = container.app.recorder.channel_name
    with psycopg.connect(container.database_url, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        container.tickets.issue_ticket(world.context, world.queue_id)
        last = head(container)
        payloads = [n.payload for n in listener.notifies(timeout=DEADLINE, stop_after=1)]
    # Issuing saves the counter, the ticket and the queue together: one notification, last id.
    assert payloads == [str(last)]


def test_a_follower_woken_by_the_doorbell_applies_a_new_event_well_under_its_poll(container, world):
    runner = probe_runner(container)
    doorbell = doorbell_for(container.app.recorder)
    assert doorbell is not None
    with following(runner, container, poll_interval=POLL, doorbell=doorbell):
        container.tickets.issue_ticket(world.context, world.queue_id)
        took = wait_until_covered(container, runner.tracking_name, head(container), POLL / 2)
    # The follower polled last as it caught up, just before the write: its next poll is
    # nearly POLL away. On an idle machine the doorbell takes some 10 ms.
    assert took < WOKEN_WITHIN


def test_a_follower_whose_doorbell_stays_silent_still_polls_the_log(container, world):
    runner = probe_runner(container)
    recorder = container.app.recorder
    silent = doorbell_for(recorder)
    assert silent is not None
    silent.channel = f"nobody_notifies_{uuid.uuid4().hex[:8]}"  # the bell never rings
    with following(runner, container, poll_interval=0.1, doorbell=silent):
        container.tickets.issue_ticket(world.context, world.queue_id)
        wait_until_covered(container, runner.tracking_name, head(container), DEADLINE)


def test_the_doorbell_wakes_only_followers_behind_the_announced_position():
    doorbell = Doorbell(lambda: None, "unused")  # type: ignore[arg-type,return-value]
    doorbell.ring("41")
    started = time.monotonic()
    doorbell.wait(41, timeout=0.2)  # nothing newer than 41: waits out its timeout
    assert time.monotonic() - started >= 0.19
    started = time.monotonic()
    doorbell.wait(40, timeout=DEADLINE)  # 41 is newer: returns at once, not after a minute
    assert time.monotonic() - started < DEADLINE / 2


def waiting_on_a_condition(thread: threading.Thread) -> bool:
    """Whether ``thread`` is blocked in :meth:`threading.Condition.wait` (its innermost Python
    frame): registered as a waiter, so a ``notify_all`` from now on wakes it. Nothing else
    shows it from outside, and a sleep only makes it likely."""
    frame = sys._current_frames().get(thread.ident or -1)
    return (
        frame is not None
        and frame.f_code.co_name == "wait"
        and frame.f_code.co_filename == threading.__file__
    )


def test_a_notification_without_a_position_wakes_every_waiting_follower():
    doorbell = Doorbell(lambda: None, "unused")  # type: ignore[arg-type,return-value]
    woken = [threading.Event(), threading.Event()]

    def wait(woke: threading.Event) -> None:
        doorbell.wait(10**9, timeout=POLL)  # no position will ever be that far
        woke.set()

    waiters = [threading.Thread(target=wait, args=(woke,), daemon=True) for woke in woken]
    for waiter in waiters:
        waiter.start()
    deadline = time.monotonic() + DEADLINE
    while not all(waiting_on_a_condition(waiter) for waiter in waiters):
        assert time.monotonic() < deadline, "the waiters never began to wait"
        time.sleep(0.01)

    doorbell.ring("")  # once: it must wake both, long before their timeout

    assert all(woke.wait(DEADLINE) for woke in woken)
    for waiter in waiters:
        waiter.join()


def test_an_idle_follower_whose_doorbell_listens_reads_the_log_only_now_and_then(container, world):
    runner = probe_runner(container)
    doorbell = doorbell_for(container.app.recorder)
    assert doorbell is not None
    batches = []
    apply_batch = runner.apply_batch
    runner.apply_batch = lambda *args: batches.append(time.monotonic()) or apply_batch(*args)
    # A poll interval that would read the log 20 times a second without the doorbell.
    with following(runner, container, poll_interval=0.05, doorbell=doorbell):
        batches.clear()
        time.sleep(3 * LISTENING_POLL_SECONDS)
    assert len(batches) <= 4, f"{len(batches)} reads of the log in {3 * LISTENING_POLL_SECONDS} s"


def test_followers_waiting_when_the_doorbell_starts_listening_look_at_the_log(container):
    doorbell = doorbell_for(container.app.recorder)
    assert doorbell is not None
    stop = threading.Event()
    woken = threading.Event()
    # Waiting before it listens: a write made meanwhile announced itself to nobody.
    waiter = threading.Thread(target=lambda: (doorbell.wait(head(container), POLL), woken.set()))
    waiter.start()
    threading.Thread(target=doorbell.run, args=(stop,), daemon=True).start()
    try:
        assert doorbell.listening.wait(DEADLINE)
        assert woken.wait(WOKEN_WITHIN), "the doorbell's first LISTEN woke nobody"
    finally:
        stop.set()
        waiter.join(POLL)
