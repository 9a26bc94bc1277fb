"""PostgreSQL cuts every application connection (``pg_terminate_backend``) while clients issue
tickets over HTTP, with the API, projections, relay and display gateway running: commands answer
2xx or 503 with Retry-After (never 500), no ticket is lost or doubled, every role resumes within
10 s, and the read models equal a rebuild afterwards."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import Live
from tests.e2e.outage_support import (
    RESUME_SECONDS,
    Load,
    assert_nothing_lost_or_doubled,
    assert_only_success_or_unavailable,
    assert_reaches_socket,
    assert_read_models_equal_a_rebuild,
    issue_until_accepted,
    terminate_application_connections,
    wait_caught_up,
)
from tests.e2e.support import LiveSocket, Tenant, login, open_floor

pytestmark = pytest.mark.e2e


def test_terminating_every_connection_under_load_loses_nothing(
    live: Live, new_tenant: Callable[[], Tenant]
):
    tenant = new_tenant()
    with httpx.Client(base_url=live.api_url, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        queue_id = open_floor(admin).queue["id"]
        with LiveSocket(live.api_url, admin, f"queues/{queue_id}") as socket:
            socket.receive()  # the snapshot
            load = Load(live.api_url, admin, queue_id).start()
            killed = 0
            for _ in range(2):
                time.sleep(1.5)
                killed += terminate_application_connections(live.database_url)
            last_cut = time.monotonic()
            time.sleep(1.0)
            requests = load.finish()
            assert killed >= 5, f"only {killed} connections were cut"

            # Every role is back: a new command is accepted, projected, relayed and pushed.
            deadline = last_cut + RESUME_SECONDS
            probe = issue_until_accepted(admin, queue_id, deadline)
            assert_reaches_socket(socket, probe, deadline)
            wait_caught_up(live.database_url, timeout=max(0.5, deadline - time.monotonic()))

    assert_only_success_or_unavailable(requests)
    assert_nothing_lost_or_doubled(requests, live.database_url, tenant.id)
    assert_read_models_equal_a_rebuild(live.database_url, live.home, live.redis_url, tenant.id)
