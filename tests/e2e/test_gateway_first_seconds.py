"""A display gateway whose consumer group is new never skips what was published after it
started: a call made the moment it starts (the group joins seconds later) reaches an open queue
socket. Also: a malformed record on a topic is skipped, counted and shown by ``gateway status``,
and the changes after it still flow."""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable

import httpx
import pytest
from kafka import KafkaProducer

from tests.e2e.conftest import Live
from tests.e2e.support import (
    LiveSocket,
    Session,
    Tenant,
    login,
    open_floor,
    process_env,
    smartqueue_executable,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
def first_api(live: Live) -> httpx.Client:
    with httpx.Client(base_url=live.api_urls[0], timeout=30.0) as client:
        yield client


def _admin(new_tenant: Callable[[], Tenant], client: httpx.Client) -> Session:
    tenant = new_tenant()
    return login(client, tenant, tenant.admin_email, tenant.admin_password)


def _called(message: dict) -> bool:
    return message.get("event") == "Ticket.Called"


def _gateways(live: Live) -> list[subprocess.Popen]:
    return [p for p in live.processes if p.args[1] == "gateway"]


def _stop(processes: list[subprocess.Popen], live: Live) -> None:
    for process in processes:
        process.terminate()
        process.wait(15)
        live.processes.remove(process)


def _status(live: Live, group: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [smartqueue_executable(), "gateway", "status"],
        env={
            **process_env(live.database_url, live.home, live.redis_url),
            **live.env,
            "SMARTQUEUE_GATEWAY_GROUP": group,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def _skipped(status: subprocess.CompletedProcess[str]) -> int:
    for line in status.stdout.splitlines():
        if line.startswith("malformed records skipped "):
            return int(line.split("\t")[0].rsplit(" ", 1)[1])
    return 0


def test_a_call_made_the_moment_a_new_gateway_group_starts_reaches_an_open_socket(
    live: Live, new_tenant: Callable[[], Tenant], first_api: httpx.Client
) -> None:
    admin = _admin(new_tenant, first_api)
    queue_id = open_floor(admin).queue["id"]
    admin.issue(queue_id)
    agent = admin.add_agent(queue_ids=[queue_id])
    agent.set_status("available", counter="2")
    admin.settle()
    _stop(_gateways(live), live)
    try:
        with LiveSocket(live.api_url, admin, f"queues/{queue_id}") as socket:
            assert socket.receive()["type"] == "snapshot"
            live.start_role(
                "gateway",
                SMARTQUEUE_GATEWAY_GROUP=f"new-{uuid.uuid4().hex[:8]}",
                SMARTQUEUE_LOG_LEVEL="INFO",  # where the new group starts, in its log
            )
            called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
            # The group joins in seconds (more on a busy machine); the change must come then.
            change = socket.until(_called, timeout=45)
            assert change["ticket"]["id"] == called["id"]
            assert change["ticket"]["status"] == "called"
    finally:  # the session's gateway back, flowing, whatever happened above
        _stop(_gateways(live), live)
        live.start_role("gateway")
        live.wait_until_flowing(new_tenant())


def test_a_malformed_record_is_skipped_counted_and_the_changes_after_it_flow(
    live: Live, new_tenant: Callable[[], Tenant], first_api: httpx.Client
) -> None:
    admin = _admin(new_tenant, first_api)
    queue_id = open_floor(admin).queue["id"]
    admin.issue(queue_id)
    agent = admin.add_agent(queue_ids=[queue_id])
    agent.set_status("available", counter="4")
    admin.settle()
    group = live.env["SMARTQUEUE_GATEWAY_GROUP"]
    before = _status(live, group)
    assert before.returncode == 0, before.stdout + before.stderr
    producer = KafkaProducer(bootstrap_servers=live.env["KAFKA_BOOTSTRAP_SERVERS"])
    try:
        for partition in range(3):  # whichever partition the next events land on
            producer.send("smartqueue.ticket.v1", b"{not json", partition=partition)
            producer.send("smartqueue.ticket.v1", b'{"event_type": 1}', partition=partition)
        producer.flush(30)
    finally:
        producer.close()
    with LiveSocket(live.api_url, admin, f"queues/{queue_id}") as socket:
        socket.receive()
        called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        change = socket.until(_called, timeout=30)
        assert change["ticket"]["id"] == called["id"]
    deadline = time.monotonic() + 30
    while _skipped(status := _status(live, group)) < 6:  # a batch read again counts again
        assert time.monotonic() < deadline, status.stdout + status.stderr
        time.sleep(1)
    assert status.returncode == 0
    assert "JSON" in status.stdout or "Expected" in status.stdout  # why, for the operator
    assert all(p.poll() is None for p in _gateways(live))
