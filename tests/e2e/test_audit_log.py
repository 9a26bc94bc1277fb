"""GET audit/: the tenant's events with actor and correlation id, filtered and paginated, fed by
a real ``smartqueue projections`` process."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import (
    Session,
    Tenant,
    assert_problem,
    login,
    open_floor,
    process_env,
    smartqueue_executable,
)

pytestmark = pytest.mark.e2e


def _entries(session: Session, wanted: Callable[[list[dict]], bool], **params: str) -> list[dict]:
    """The first page of audit entries, once the projection has caught up with ``wanted``."""
    deadline = time.monotonic() + 15
    while True:
        response = session.get("audit/", params=params)
        assert response.status_code == 200, response.text
        items = response.json()["items"]
        if wanted(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.1)


def test_commands_appear_in_the_audit_log_with_actor_and_correlation_id(
    admin: Session, projections: None
):
    floor = open_floor(admin)
    issued = admin.post(
        "tickets/", {"queue_id": floor.queue["id"]}, headers={"X-Correlation-Id": "audit-e2e-1"}
    )
    assert issued.status_code == 201, issued.text
    ticket = issued.json()

    items = _entries(admin, lambda items: any(i["aggregate_id"] == ticket["id"] for i in items))
    [entry] = [i for i in items if i["event_type"] == "Ticket.Issued"]
    assert entry["aggregate_id"] == ticket["id"]
    assert entry["actor_id"] == admin.user["id"]
    assert entry["actor_role"] == "admin"
    assert entry["correlation_id"] == "audit-e2e-1"
    assert entry["data"]["number"] == ticket["number"]
    positions = [i["position"] for i in items]
    assert positions == sorted(positions, reverse=True)  # newest first


def test_filters_narrow_the_audit_log_and_pages_follow_the_cursor(
    admin: Session, projections: None
):
    floor = open_floor(admin)
    tickets = [admin.issue(floor.queue["id"]) for _ in range(3)]
    last = tickets[-1]["id"]
    _entries(admin, lambda items: any(i["aggregate_id"] == last for i in items))

    by_type, cursor, pages = [], None, 0
    while pages == 0 or cursor is not None:
        params = {
            "event_type": "Ticket.Issued",
            "limit": "2",
            **({"cursor": cursor} if cursor else {}),
        }
        body = admin.get("audit/", params=params).json()
        by_type += body["items"]
        cursor, pages = body["cursor"], pages + 1
    assert pages == 2  # three tickets, two per page
    assert {i["aggregate_id"] for i in by_type} == {t["id"] for t in tickets}
    assert {i["event_type"] for i in by_type} == {"Ticket.Issued"}

    one = admin.get("audit/", params={"aggregate_id": last}).json()["items"]
    assert one and {i["aggregate_id"] for i in one} == {last}

    mine = admin.get("audit/", params={"actor_id": admin.user["id"], "limit": 200}).json()
    assert mine["items"] and {i["actor_id"] for i in mine["items"]} == {admin.user["id"]}

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert admin.get("audit/", params={"since": future}).json()["items"] == []
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    assert admin.get("audit/", params={"until": past}).json()["items"] == []
    assert_problem(admin.get("audit/", params={"since": future, "until": past}), 422)
    assert_problem(admin.get("audit/", params={"cursor": "not-a-cursor"}), 422)


def test_another_tenant_gets_404_and_an_agent_gets_403(
    admin: Session,
    http: httpx.Client,
    new_tenant: Callable[[], Tenant],
    projections: None,
):
    stranger = new_tenant()
    other = login(http, stranger, stranger.admin_email, stranger.admin_password)
    response = http.get(admin.path("audit/"), headers={"Authorization": f"Bearer {other.token}"})
    assert_problem(response, 404)

    agent = admin.add_agent()
    assert_problem(agent.get("audit/"), 403)


def test_a_rebuild_while_the_projection_runs_keeps_the_entries_and_the_follower_going(
    admin: Session,
    projections: None,
    database_url: str,
    owner_database_url: str,
    redis_url: str,
    e2e_home: Path,
):
    floor = open_floor(admin)
    before = admin.issue(floor.queue["id"])["id"]
    _entries(admin, lambda items: any(i["aggregate_id"] == before for i in items))
    # A rebuild replaces tables: it runs as the schema owner, like `smartqueue migrate`.
    env = {
        **process_env(database_url, e2e_home, redis_url),
        "MIGRATION_DATABASE_URL": owner_database_url,
    }

    rebuilt = subprocess.run(
        [smartqueue_executable(), "projections", "rebuild", "audit_log"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "audit_log: rebuilt up to position" in rebuilt.stdout

    assert admin.get("audit/", params={"aggregate_id": before}).json()["items"]
    after = admin.issue(floor.queue["id"])["id"]  # the follower writes into the new table
    items = _entries(admin, lambda items: any(i["aggregate_id"] == after for i in items))
    assert any(i["aggregate_id"] == after for i in items)

    status = subprocess.run(
        [smartqueue_executable(), "projections", "status"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert status.returncode == 0, status.stderr
    [line] = [line for line in status.stdout.splitlines() if line.startswith("audit_log\t")]
    assert line.startswith("audit_log\tposition ")
    assert "\tlag " in line
