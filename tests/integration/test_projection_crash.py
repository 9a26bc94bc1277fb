"""A projection process killed (SIGKILL) mid-batch: after a restart no event is lost and none
is applied twice."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.integration.projection_support import (
    audit_positions,
    audit_runner,
    log_positions,
    tracked,
)

pytestmark = pytest.mark.integration


def test_a_projection_killed_mid_batch_resumes_without_loss_or_repeat(container, world):
    engine = container.read_engine
    audit_runner(container).catch_up(engine)
    before = tracked(engine)
    for _ in range(4):
        container.app.issue_ticket(world.context, world.queue_id)

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
