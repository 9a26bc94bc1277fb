"""Followers wake on the recorder's NOTIFY instead of waiting out their poll, and still poll
when no notification comes."""

from __future__ import annotations

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
from infrastructure.following.runner import ProjectionRunner, ReadModel
from infrastructure.postgres.doorbell import Doorbell, doorbell_for
from infrastructure.postgres.sql import sqlalchemy_engine
from projections.base import Projection
from tests.integration.projection_support import log_positions, tracked

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


def probe_runner(container: Container) -> ProjectionRunner:
    projection = type("NamedProbe", (Probe,), {"name": f"probe_{uuid.uuid4().hex[:10]}"})()
    model = ReadModel(projection, {}, lambda tables: NoRows())
    return ProjectionRunner(model, container.app.recorder, container.app.mapper)


@contextmanager
def following(runner: ProjectionRunner, container: Container, **options: Any) -> Iterator[None]:
    """A follower (and its doorbell, if given) running until the block ends, caught up."""
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    follower = Follower(runner, engine, **options)
    stop = threading.Event()
    threads = [threading.Thread(target=follower.run, args=(stop,), daemon=True)]
    doorbell: Doorbell | None = options.get("doorbell")
    if doorbell is not None:
        threads.append(threading.Thread(target=doorbell.run, args=(stop,), daemon=True))
    try:
        for thread in threads:
            thread.start()
        assert follower.active.wait(10)
        assert doorbell is None or doorbell.listening.wait(10)
        wait_until_covered(container, runner.tracking_name, log_positions(container)[-1], 10)
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
        head = log_positions(container)[-1]
        payloads = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    # Issuing saves the counter, the ticket and the queue together: one notification, last id.
    assert payloads == [str(head)]


def test_a_follower_woken_by_the_doorbell_applies_a_new_event_well_under_its_poll(container, world):
    runner = probe_runner(container)
    doorbell = doorbell_for(container.app.recorder)
    assert doorbell is not None
    with following(runner, container, poll_interval=30.0, doorbell=doorbell):
        container.tickets.issue_ticket(world.context, world.queue_id)
        head = log_positions(container)[-1]
        took = wait_until_covered(container, runner.tracking_name, head, timeout=10)
    assert took < 1.0  # a poll would have taken up to 30 s


def test_a_follower_whose_doorbell_stays_silent_still_polls_the_log(container, world):
    runner = probe_runner(container)
    recorder = container.app.recorder
    silent = doorbell_for(recorder)
    assert silent is not None
    silent.channel = f"nobody_notifies_{uuid.uuid4().hex[:8]}"  # the bell never rings
    with following(runner, container, poll_interval=0.1, doorbell=silent):
        container.tickets.issue_ticket(world.context, world.queue_id)
        head = log_positions(container)[-1]
        wait_until_covered(container, runner.tracking_name, head, timeout=10)


def test_the_doorbell_wakes_only_followers_behind_the_announced_position():
    doorbell = Doorbell(lambda: None, "unused")  # type: ignore[arg-type,return-value]
    doorbell.ring("41")
    started = time.monotonic()
    doorbell.wait(41, timeout=0.2)  # nothing newer than 41: waits out its timeout
    assert time.monotonic() - started >= 0.19
    started = time.monotonic()
    doorbell.wait(40, timeout=5)  # 41 is newer: returns at once
    assert time.monotonic() - started < 0.1


def test_a_notification_without_a_position_wakes_every_waiting_follower():
    doorbell = Doorbell(lambda: None, "unused")  # type: ignore[arg-type,return-value]
    woke = threading.Event()

    def wait() -> None:
        doorbell.wait(10**9, timeout=5)
        woke.set()

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.05)
    doorbell.ring("")
    assert woke.wait(1)
    waiter.join()
