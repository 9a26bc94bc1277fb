"""A projection follower whose thread dies of an unexpected error (not a database error, not an
event it fails on) is started again by the role's supervisor and catches up; the status probe
says silent, then ok again."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Connection

from infrastructure.container import Container
from infrastructure.following.process import Follower
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.roles.health import roles_health
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import SupervisionSettings
from interfaces.http.app import create_app
from tests.integration.conftest import TenantWorld, on_own_database
from tests.integration.projection_support import (
    audit_positions,
    audit_runner,
    log_positions,
    tracked,
)

pytestmark = pytest.mark.integration

container, world = on_own_database()


class DiesOnce:
    """The audit log's view, whose first ``flush`` kills the follower's thread."""

    deaths = 0

    def __init__(self, view: Any) -> None:
        self.view = view

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)

    def flush(self, connection: Connection) -> None:
        if DiesOnce.deaths == 0:
            DiesOnce.deaths += 1
            raise RuntimeError("a bug outside any event")
        self.view.flush(connection)


def test_a_follower_thread_killed_by_an_unexpected_error_is_restarted_and_catches_up(
    container: Container, world: TenantWorld
):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    model = read_models()["audit_log"]
    runner = ProjectionRunner(
        replace(model, make_view=lambda tables: DiesOnce(model.make_view(tables))),
        container.app.recorder,
        container.app.mapper,
    )
    follower_engine = sqlalchemy_engine(container.database_url, pool_size=1)
    stop = threading.Event()
    supervisor = Supervisor(stop, backoff_seconds=0.2)
    supervisor.add(
        "projection-audit_log", Follower(runner, follower_engine, poll_interval=0.05).run
    )
    try:
        for _ in range(3):
            container.tickets.issue_ticket(world.context, world.queue_id)
        head = log_positions(container)[-1]
        deadline = time.monotonic() + 30
        while tracked(engine) < head:
            assert time.monotonic() < deadline, "the audit log never caught up"
            time.sleep(0.05)
        [status] = supervisor.statuses()
        assert DiesOnce.deaths == 1
        assert status.restarts == 1 and status.state == "running"
        assert status.last_error == "RuntimeError: a bug outside any event"
        assert not supervisor.gave_up.is_set()
    finally:
        stop.set()
        supervisor.join(10)
        follower_engine.dispose()
    assert audit_positions(engine) == log_positions(container)


def test_status_calls_a_projection_that_stopped_checking_in_silent_or_stalled(
    container: Container, world: TenantWorld
):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    recorder = container.app.recorder
    quick = SupervisionSettings(silent_seconds=1.0, max_lag=2)

    def audit() -> Any:
        return roles_health(engine, recorder, ["audit_log"], quick)[0]

    time.sleep(1.5)  # nobody follows the audit log now: its last check-in ages
    assert audit().problem.startswith("silent (no check-in for")
    for _ in range(2):
        container.tickets.issue_ticket(world.context, world.queue_id)
    assert audit().problem.startswith("stalled (no check-in for")
    # Readiness reports it too: degraded, still 200 (the API itself serves).
    quick_settings = replace(container.settings, supervision=quick)
    with TestClient(
        create_app(quick_settings, replace(container, settings=quick_settings))
    ) as client:
        ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "degraded"
    assert ready.json()["roles"]["audit_log"].startswith("stalled (no check-in for")

    follower_engine = sqlalchemy_engine(container.database_url, pool_size=1)
    stop = threading.Event()
    supervisor = Supervisor(stop)
    supervisor.add("projection-audit_log", Follower(audit_runner(container), follower_engine).run)
    try:
        deadline = time.monotonic() + 30
        while (health := audit()).problem is not None:
            assert time.monotonic() < deadline, health
            time.sleep(0.1)
        assert health.behind == 0
    finally:
        stop.set()
        supervisor.join(10)
        follower_engine.dispose()
    for _ in range(3):
        container.tickets.issue_ticket(world.context, world.queue_id)
    lagging = roles_health(engine, recorder, ["audit_log"], replace(quick, silent_seconds=60))
    assert lagging[0].problem.startswith("behind (")
