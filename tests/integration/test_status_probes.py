"""``smartqueue projections status`` and ``smartqueue relay status`` as probes: exit 1 while the
role is silent, stalled or behind the threshold, 0 once it runs and keeps up."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
from collections.abc import Callable

import pytest

from infrastructure.container import Container
from infrastructure.following.process import start_followers
from infrastructure.following.runner import read_models
from infrastructure.kafka.relay import start_relay
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.roles.supervisor import Supervisor
from tests.e2e.support import smartqueue_executable
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database

pytestmark = pytest.mark.integration

container, world = on_own_database()
kafka_bootstrap = on_own_broker()


def _status(container: Container, role: str, *options: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": container.database_url,
        "SMARTQUEUE_HOME": str(container.settings.home),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "WARNING",
        **({"REDIS_URL": container.settings.redis.url} if container.settings.redis.url else {}),
    }
    return subprocess.run(
        [smartqueue_executable(), role, "status", *options],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _until_exit(
    container: Container, role: str, code: int, *options: str, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    deadline = time.monotonic() + timeout
    while (status := _status(container, role, *options)).returncode != code:
        assert time.monotonic() < deadline, (status.returncode, status.stdout, status.stderr)
        time.sleep(0.5)
    return status


def _running(start: Callable[[Supervisor], object]) -> tuple[threading.Event, Supervisor]:
    stop = threading.Event()
    supervisor = Supervisor(stop)
    start(supervisor)
    return stop, supervisor


def test_projections_status_fails_until_every_projection_runs_and_after_they_stop(
    container: Container, world: TenantWorld
):
    container.tickets.issue_ticket(world.context, world.queue_id)
    nobody = _status(container, "projections")
    assert nobody.returncode == 1
    assert "stalled (never checked in" in nobody.stdout or "stalled (no check-in" in nobody.stdout

    engine = sqlalchemy_engine(container.database_url, pool_size=len(read_models()) + 1)
    app = container.app
    stop, supervisor = _running(lambda s: start_followers(engine, app.recorder, app.mapper, s))
    try:
        running = _until_exit(container, "projections", 0)
        lines = running.stdout.splitlines()
        assert [line.split("\t")[0] for line in lines] == sorted(read_models())
        assert all(line.endswith("\tok") for line in lines), running.stdout
    finally:
        stop.set()
        supervisor.join(10)
        engine.dispose()
    time.sleep(1.5)
    silent = _status(container, "projections", "--silent-seconds", "1")
    assert silent.returncode == 1
    assert "silent (no check-in for" in silent.stdout
    container.tickets.issue_ticket(world.context, world.queue_id)
    behind = _status(container, "projections", "--max-lag", "0", "--silent-seconds", "600")
    assert behind.returncode == 1
    assert "behind (" in behind.stdout


def test_relay_status_fails_while_the_relay_is_silent_or_behind(
    container: Container, world: TenantWorld, kafka_bootstrap: str
):
    container.tickets.issue_ticket(world.context, world.queue_id)
    never = _status(container, "relay")
    assert never.returncode == 1, never.stdout + never.stderr
    assert never.stdout.startswith("kafka_relay\t")
    assert "stalled (" in never.stdout

    settings = dataclasses.replace(container.settings.kafka, bootstrap_servers=kafka_bootstrap)
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    app = container.app
    stop, supervisor = _running(
        lambda s: start_relay(engine, app.recorder, app.mapper, settings, s)
    )
    try:
        # Alive and within the threshold is enough for the probe; then it catches up.
        deadline = time.monotonic() + 60
        while "\tlag 0\t" not in (running := _until_exit(container, "relay", 0)).stdout:
            assert time.monotonic() < deadline, running.stdout
            time.sleep(0.5)
        assert running.stdout.rstrip().endswith("\tok")
    finally:
        stop.set()
        supervisor.join(10)
        engine.dispose()
    time.sleep(1.5)
    silent = _status(container, "relay", "--silent-seconds", "1")
    assert silent.returncode == 1 and "silent (no check-in for" in silent.stdout
    container.tickets.issue_ticket(world.context, world.queue_id)
    behind = _status(container, "relay", "--max-lag", "0", "--silent-seconds", "600")
    assert behind.returncode == 1 and "behind (" in behind.stdout
