"""A projection process killed (SIGKILL) mid-batch: after a restart no event is lost and none
is applied twice."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from infrastructure.following.process import Follower
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


def test_a_projection_killed_mid_batch_resumes_without_loss_or_repeat(container, world):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    before = tracked(engine)
    for _ in range(4):
        container.tickets.issue_ticket(world.context, world.queue_id)

    victim = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.projection_victim", container.database_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert victim.stdout is not None
        assert victim.stdout.readline().strip() == "flushed"
    finally:
        victim.kill()
        victim.wait(10)

    # The killed session's transaction is rolled back by the server: no rows, no position.
    assert tracked(engine) == before
    assert max(audit_positions(engine), default=0) <= before

    audit_runner(container).catch_up(engine)
    assert audit_positions(engine) == log_positions(container)


def test_a_standby_takes_over_within_seconds_when_the_active_process_is_killed(container, world):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    container.tickets.issue_ticket(world.context, world.queue_id)
    victim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.projection_victim",
            container.database_url,
            "follow",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    standby_engine = sqlalchemy_engine(container.database_url, pool_size=1)
    standby = Follower(audit_runner(container), standby_engine, standby_interval=0.2)
    stop = threading.Event()
    thread = threading.Thread(target=standby.run, args=(stop,), daemon=True)
    try:
        assert victim.stdout is not None
        # It holds the lock and is mid-batch once it says so (after any log lines).
        assert any(line.strip() == "flushed" for line in iter(victim.stdout.readline, ""))
        thread.start()
        time.sleep(1.0)
        assert not standby.active.is_set()

        victim.kill()
        victim.wait(10)
        killed_at = time.monotonic()
        assert standby.active.wait(10)
        took_over = time.monotonic() - killed_at
        head = log_positions(container)[-1]
        while tracked(engine) < head and time.monotonic() < killed_at + 20:
            time.sleep(0.05)
    finally:
        victim.kill()
        stop.set()
        if thread.ident is not None:
            thread.join(10)
        standby_engine.dispose()
    assert took_over < 5
    assert audit_positions(engine) == log_positions(container)
