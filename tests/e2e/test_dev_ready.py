"""``smartqueue dev`` announces itself only once every role is ready: a call made the moment it
says so reaches an open queue socket (issue 12, defect 14). Before, it announced as soon as the
API answered, while the display gateway's new consumer group was still joining and then started
at the topics' ends: the first calls never reached the displays."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, _stop
from tests.e2e.support import (
    API,
    LiveSocket,
    Session,
    create_tenant,
    login,
    open_floor,
    process_env,
    relay_published_so_far,
    smartqueue_executable,
)

pytestmark = pytest.mark.e2e

READY_LINE = "ready: "
STARTUP_SECONDS = 90.0


def _wait_for_announcement(process: subprocess.Popen, stdout: Path, stderr: Path) -> str:
    """The whole standard output once it holds the ready line (fails if dev dies first)."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        text = stdout.read_text(errors="replace") if stdout.exists() else ""
        if READY_LINE in text:
            return text
        if process.poll() is not None:
            pytest.fail(f"smartqueue dev exited with {process.returncode}:\n{stderr.read_text()}")
        time.sleep(0.05)
    pytest.fail(f"smartqueue dev never announced itself:\n{stderr.read_text()[-4000:]}")


def test_a_call_made_the_moment_dev_announces_itself_reaches_an_open_queue_socket(
    api_url: str, database_url: str, redis_url: str, kafka_bootstrap: str, e2e_home: Path
):
    # The floor exists before dev starts (made through the session's API process), so nothing
    # but the call itself happens after the announcement.
    tenant = create_tenant(database_url, e2e_home, redis_url)
    admin = login(httpx.Client(base_url=api_url, timeout=30), tenant, tenant.admin_email)
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="1")
    waiting = admin.issue(floor.queue["id"])

    relay_published_so_far(database_url)  # dev relays what happens from here on
    port = _free_port()
    stdout, stderr = e2e_home / f"dev-ready-{port}.out", e2e_home / f"dev-ready-{port}.err"
    env = {
        **process_env(database_url, e2e_home, redis_url),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        # A new consumer group: the case of a first start.
        "SMARTQUEUE_GATEWAY_GROUP": f"e2e-dev-ready-{uuid.uuid4().hex[:8]}",
    }
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [smartqueue_executable(), "dev", "--no-demo", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=err,
        )
    try:
        announcement = _wait_for_announcement(process, stdout, stderr)
        assert f"http://127.0.0.1:{port}" in announcement
        base_url = f"http://127.0.0.1:{port}"
        dev_admin = Session(
            httpx.Client(base_url=base_url, timeout=30), tenant, admin.token, admin.user
        )
        dev_agent = Session(
            httpx.Client(base_url=base_url, timeout=30), tenant, agent.token, agent.user
        )
        ready = httpx.get(f"{base_url}{API}/health/ready", timeout=10).json()
        assert ready["status"] == "ok", ready
        with LiveSocket(base_url, dev_admin, f"queues/{floor.queue['id']}") as socket:
            assert socket.receive(timeout=10)["type"] == "snapshot"
            called = dev_agent.post("agents/call-next/", {"queue_id": floor.queue["id"]})
            assert called.status_code == 200, called.text
            assert called.json()["id"] == waiting["id"]
            change = socket.until(
                lambda message: (
                    message.get("type") == "change"
                    and message.get("event") == "Ticket.Called"
                    and message["ticket"]["id"] == waiting["id"]
                ),
                timeout=20,
            )
            assert change["ticket"]["status"] == "called"
            assert change["ticket"]["counter"] == "1"
    finally:
        _stop(process)
