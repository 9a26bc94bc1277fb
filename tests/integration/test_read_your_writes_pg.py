"""Read your writes against the real tracking table: a query waits for the projection that is
catching up, and gives up (503, not stale data) on one that does not move."""

from __future__ import annotations

import threading
import time

import pytest

from application.consistency import Consistency, ReadModelBehind, tracking_positions
from infrastructure.container import Container
from infrastructure.following.positions import PostgresProjectionPositions
from tests.integration.conftest import TenantWorld
from tests.integration.projection_support import audit_runner

pytestmark = pytest.mark.integration


def test_a_command_notes_its_position_and_a_query_waits_for_the_projection_to_apply_it(
    own_container: Container, own_world: TenantWorld
):
    # A database of its own: on the session's, the e2e suites' projections process applies the
    # audit log too, and nothing would be left for this test's runner to wait for.
    container, world = own_container, own_world
    runner = audit_runner(container)
    runner.catch_up(container.read_engine)
    with tracking_positions() as positions:
        container.tickets.issue_ticket(world.context, world.queue_id)
    assert positions.written == container.app.recorder.max_notification_id()

    store = PostgresProjectionPositions(container.read_engine, container.app.recorder)
    assert store.positions(["audit_log"])["audit_log"] < positions.written
    late = threading.Timer(0.3, runner.catch_up, args=(container.read_engine,))
    started = time.monotonic()
    late.start()
    reached = Consistency(store, max_wait_seconds=5).await_position(
        ("audit_log",), positions.written
    )
    waited = time.monotonic() - started
    late.join()
    assert reached >= positions.written
    assert 0.25 <= waited < 3, waited  # it waited for the projection, and not for the bound


def test_a_projection_that_does_not_move_ends_the_wait_with_read_model_behind(
    container: Container, world: TenantWorld
):
    container.tickets.issue_ticket(world.context, world.queue_id)
    store = PostgresProjectionPositions(container.read_engine, container.app.recorder)
    head = store.head()
    assert store.positions(["nobody_runs_this"]) == {"nobody_runs_this": 0}
    started = time.monotonic()
    with pytest.raises(ReadModelBehind):
        Consistency(store, max_wait_seconds=0.5).await_position(("nobody_runs_this",), head)
    assert 0.5 <= time.monotonic() - started < 2
