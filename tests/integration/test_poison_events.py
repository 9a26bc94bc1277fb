"""A projection that fails on one event: after a few attempts the event becomes a dead letter,
the events after it are applied, status and readiness say so, and ``smartqueue projections
retry`` applies it once the cause is fixed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Connection, text

from infrastructure.container import Container
from infrastructure.following.dead_letters import dead_letters
from infrastructure.following.process import Follower
from infrastructure.following.retry import retry_dead_letters
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.sql import sqlalchemy_engine
from interfaces.http.app import create_app
from tests.integration.conftest import TenantWorld, on_own_database
from tests.integration.projection_support import (
    audit_positions,
    audit_runner,
    log_positions,
    notifications,
    tracked,
)

pytestmark = pytest.mark.integration

container, world = on_own_database()

POISON = "Ticket.Called"


class Breakable:
    """The audit log's own view, except that it raises on ``POISON`` while ``broken``."""

    broken = True

    def __init__(self, view: Any) -> None:
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)

    def append(self, entry: Any) -> None:
        if Breakable.broken and entry.event_type == POISON:
            raise RuntimeError("the audit log cannot take a call today")
        self.view.append(entry)


def _breakable_runner(container: Container) -> ProjectionRunner:
    model = read_models()["audit_log"]

    def breakable_view(tables: dict[str, Any]) -> Any:
        return Breakable(model.make_view(tables))

    return ProjectionRunner(
        replace(model, make_view=breakable_view), container.app.recorder, container.app.mapper
    )


def _until(condition, timeout: float = 30.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def _smartqueue(container: Container, *arguments: str) -> subprocess.CompletedProcess[str]:
    settings = container.settings
    env = {
        **os.environ,
        "DATABASE_URL": container.database_url,
        "SMARTQUEUE_HOME": str(settings.home),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "WARNING",
    }
    if settings.redis.url:
        env["REDIS_URL"] = settings.redis.url
    executable = Path(sys.executable).with_name("smartqueue")
    return subprocess.run(
        [str(executable), *arguments], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def breakable_follower(container: Container) -> Iterator[Follower]:
    """The audit projection, failing on calls, followed in a thread; the other projections
    followed as they are (so only the audit log can be what status reports)."""
    audit_runner(container).catch_up(container.read_engine)
    Breakable.broken = True
    engine = sqlalchemy_engine(container.database_url, pool_size=len(read_models()) + 1)
    stop = threading.Event()
    followers = [Follower(_breakable_runner(container), engine, poll_interval=0.05)]
    followers += [
        Follower(ProjectionRunner(model, container.app.recorder, container.app.mapper), engine)
        for name, model in read_models().items()
        if name != "audit_log"
    ]
    threads = [threading.Thread(target=f.run, args=(stop,), daemon=True) for f in followers]
    for thread in threads:
        thread.start()
    try:
        yield followers[0]
    finally:
        stop.set()
        for thread in threads:
            thread.join(10)
        engine.dispose()
        with container.read_engine.begin() as connection:
            connection.execute(text("DELETE FROM projection_dead_letters"))


def _call_and_more(container: Container, world: TenantWorld) -> int:
    """Issue two tickets, call one (the poison) and issue two more; the call's position."""
    container.tickets.issue_ticket(world.context, world.queue_id)
    container.tickets.issue_ticket(world.context, world.queue_id)
    agent_id = world.add_available_agent()
    start = log_positions(container)[-1]
    assert container.staffing.call_next(world.context, agent_id, world.queue_id) is not None
    container.tickets.issue_ticket(world.context, world.queue_id)
    container.tickets.issue_ticket(world.context, world.queue_id)
    [called] = [
        n.id
        for n in notifications(container)
        if n.id > start and n.topic.endswith(":Ticket.Called")
    ]
    return called


def _letters(container: Container) -> list[Any]:
    connection: Connection
    with container.read_engine.connect() as connection:
        return dead_letters(connection)


def test_a_poison_event_is_set_aside_and_the_events_after_it_are_applied(
    container: Container, world: TenantWorld, breakable_follower: Follower
):
    called = _call_and_more(container, world)
    head = log_positions(container)[-1]
    engine = container.read_engine

    _until(lambda: tracked(engine) >= head, what="the audit log to pass the poison event")

    [letter] = _letters(container)
    assert (letter.projection, letter.position, letter.attempts) == ("audit_log", called, 3)
    assert letter.topic.endswith(":Ticket.Called")
    assert letter.error == "RuntimeError: the audit log cannot take a call today"
    assert letter.first_failed_at <= letter.last_failed_at
    assert ":" in letter.event_id
    # Every event but the poison one is in the audit log, the ones after it included.
    assert audit_positions(engine) == [p for p in log_positions(container) if p != called]


def test_status_and_readiness_report_dead_letters_and_retry_applies_them_once_fixed(
    container: Container, world: TenantWorld, breakable_follower: Follower
):
    called = _call_and_more(container, world)
    head = log_positions(container)[-1]
    _until(lambda: _letters(container) and tracked(container.read_engine) >= head)

    listed = _smartqueue(container, "projections", "dead-letters")
    assert listed.returncode == 0, listed.stderr
    assert f"audit_log\tposition {called}\t" in listed.stdout
    assert "attempts 3" in listed.stdout and "RuntimeError" in listed.stdout

    def status_line() -> str:
        status = _smartqueue(container, "projections", "status")
        assert status.returncode == 0, status.stdout + status.stderr  # dead letters: not a failure
        return next(line for line in status.stdout.splitlines() if line.startswith("audit_log"))

    assert "\tok\tdead letters 1" in status_line()

    with TestClient(create_app(container.settings, container)) as client:
        ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["dead_letters"] == {"audit_log": 1}
    assert ready.json()["roles"]["audit_log"] == "ok"

    # Retried before the fix (the breakable projection, in this process): it stays, counted.
    models = {"audit_log": _breakable_runner(container).model}
    [outcome] = retry_dead_letters(
        container.read_engine, container.app.recorder, container.app.mapper, models
    )
    assert outcome.error == "RuntimeError: the audit log cannot take a call today"
    [letter] = _letters(container)
    assert letter.attempts == 4

    # The fixed code (the stock projection of the command line) applies it and removes it.
    Breakable.broken = False
    retried = _smartqueue(container, "projections", "retry", "--projection", "audit_log", "--all")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"audit_log\tposition {called}\tapplied" in retried.stdout
    assert _letters(container) == []
    assert called in audit_positions(container.read_engine)
    assert "dead letters" not in status_line()
    with TestClient(create_app(container.settings, container)) as client:
        assert client.get("/api/v1/health/ready").json()["status"] == "ok"
