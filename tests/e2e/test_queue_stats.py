"""GET queues/{id}/stats/ and queues/stats/: a scripted day over HTTP, counted by a real
``smartqueue projections`` process, checked against the timestamps the API itself reports."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import (
    Session,
    Tenant,
    assert_problem,
    login,
    process_env,
    smartqueue_executable,
)

pytestmark = pytest.mark.e2e

TARGET_SECONDS = 60  # the smallest target a service takes: one minute
PROJECTION_SECONDS = 20


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _seconds(later: str, earlier: str) -> float:
    return (_moment(later) - _moment(earlier)).total_seconds()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _stats(session: Session, queue_id: str, wanted: Callable[[dict], bool], **params) -> dict:
    """The queue's statistics once the projection has caught up with ``wanted``."""
    deadline = time.monotonic() + PROJECTION_SECONDS
    while True:
        response = session.get(f"queues/{queue_id}/stats/", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        if wanted(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def _transferred_at(session: Session, ticket_id: str) -> str:
    """When the ticket was transferred, as the audit log reports the event."""
    deadline = time.monotonic() + PROJECTION_SECONDS
    while time.monotonic() < deadline:
        items = session.get("audit/", params={"aggregate_id": ticket_id}).json()["items"]
        moves = [item for item in items if item["event_type"] == "Ticket.Transferred"]
        if moves:
            return moves[0]["data"]["at"]
        time.sleep(0.1)
    raise AssertionError("the transfer never reached the audit log")


class Day:
    """The day's set-up: one site, two one-minute-target services, a queue each, two agents."""

    def __init__(self, admin: Session) -> None:
        self.admin = admin
        site = admin.add_site("Branch", "Europe/Paris")
        queues = []
        for code in ("A", "B"):
            service = admin.ok(
                "POST",
                "queues/services/",
                {"name": f"Counter {code}", "code": code, "target_wait_minutes": 1},
                status=201,
            )
            queues.append(admin.open_queue(site["id"], [service["id"]], name=f"Queue {code}"))
        self.q1, self.q2 = (queue["id"] for queue in queues)
        self.agents = [admin.add_agent([self.q1, self.q2]) for _ in range(2)]
        for agent in self.agents:
            agent.set_status("available")

    def call(self, agent: int, queue_id: str) -> dict:
        return self.agents[agent].ok("POST", "agents/call-next/", {"queue_id": queue_id})

    def act(self, agent: int, ticket: dict, action: str, json: Any = None) -> dict:
        response = self.agents[agent].act(ticket["id"], action, json)
        assert response.status_code == 200, (action, response.text)
        return response.json()


def test_a_scripted_day_is_counted_exactly(admin: Session, projections: None):
    day = Day(admin)
    q1, q2 = day.q1, day.q2
    t1, t2, t3, t4, t5 = (admin.issue(q1) for _ in range(5))
    t6 = admin.issue(q2)

    call1 = day.call(0, q1)
    assert call1["id"] == t1["id"]
    day.act(0, t1, "start")
    done1 = day.act(0, t1, "close")  # completed
    call2 = day.call(0, q1)
    assert call2["id"] == t2["id"]
    day.act(0, t2, "mark_no_show")
    day.act(0, t3, "cancel")  # abandoned within its target: not counted for SLA
    call4 = day.call(0, q1)
    assert call4["id"] == t4["id"]
    moved = day.act(0, t4, "transfer", {"queue_id": q2})  # now waits in q2
    assert (moved["status"], moved["queue_id"]) == ("waiting", q2)
    call6 = day.call(1, q2)
    assert call6["id"] == t6["id"]  # issued into q2 before t4 joined it
    day.act(1, t6, "start")  # still serving at the end
    t7 = admin.issue(q1)

    # Past the one-minute target (t7 came after t5): t5's call and t7's cancellation are both
    # SLA misses.
    time.sleep(max(0.0, TARGET_SECONDS + 1 - _seconds(_now(), t7["issued_at"])))
    call5 = day.call(0, q1)
    assert call5["id"] == t5["id"]
    assert admin.act(t7["id"], "cancel").status_code == 200

    one = _stats(admin, q1, lambda body: body["cancelled"] == 2 and body["called"] == 1)
    waits = [
        _seconds(call["called_at"], ticket["issued_at"])
        for call, ticket in ((call1, t1), (call2, t2), (call4, t4), (call5, t5))
    ]
    assert {key: one[key] for key in COUNTS} == {
        "issued": 6,
        "transferred_in": 0,
        "waiting": 0,
        "called": 1,
        "serving": 0,
        "paused": 0,
        "completed": 1,
        "no_show": 1,
        "cancelled": 2,
        "abandoned": 2,
        "transferred_out": 1,
        "waits_counted": 4,
        "services_counted": 1,
        "sla_met": 3,  # t1, t2 (a no-show counts by its call) and t4, called in time
        "sla_counted": 5,  # ... and t5 called late, t7 abandoned late; t3 left in time
    }
    assert one["sla_compliance"] == pytest.approx(3 / 5)
    assert one["wait_total_seconds"] == pytest.approx(sum(waits))
    assert one["average_wait_seconds"] == pytest.approx(sum(waits) / 4)
    assert one["shortest_wait_seconds"] == pytest.approx(min(waits))
    assert one["longest_wait_seconds"] == pytest.approx(max(waits))
    assert max(waits) > TARGET_SECONDS
    service = _seconds(done1["finished_at"], done1["service_started_at"])
    assert one["average_service_seconds"] == pytest.approx(service)
    assert one["longest_service_seconds"] == pytest.approx(service)
    assert one["oldest_waiting_since"] is None
    assert one["current_longest_wait_seconds"] is None
    today = datetime.now(ZoneInfo("Europe/Paris")).date().isoformat()
    assert (one["queue_id"], one["day"], one["timezone"]) == (q1, today, "Europe/Paris")

    two = _stats(admin, q2, lambda body: body["serving"] == 1)
    joined = _transferred_at(admin, t4["id"])
    assert {key: two[key] for key in COUNTS} == {
        "issued": 1,
        "transferred_in": 1,
        "waiting": 1,
        "called": 0,
        "serving": 1,
        "paused": 0,
        "completed": 0,
        "no_show": 0,
        "cancelled": 0,
        "abandoned": 0,
        "transferred_out": 0,
        "waits_counted": 1,
        "services_counted": 0,
        "sla_met": 1,
        "sla_counted": 1,
    }
    assert two["average_wait_seconds"] == pytest.approx(
        _seconds(call6["called_at"], t6["issued_at"])
    )
    assert two["average_service_seconds"] is None
    assert _moment(two["oldest_waiting_since"]) == _moment(joined)
    assert two["current_longest_wait_seconds"] == pytest.approx(_seconds(two["as_of"], joined))
    assert two["current_longest_wait_seconds"] > TARGET_SECONDS

    # The same day named explicitly; the dashboard lists both queues in opening order.
    assert _stats(admin, q1, lambda body: True, day=today)["issued"] == 6
    board = admin.get("queues/stats/", params={"day": today})
    assert board.status_code == 200, board.text
    assert [(row["queue_id"], row["issued"]) for row in board.json()] == [(q1, 6), (q2, 1)]


COUNTS = (
    "issued",
    "transferred_in",
    "waiting",
    "called",
    "serving",
    "paused",
    "completed",
    "no_show",
    "cancelled",
    "abandoned",
    "transferred_out",
    "waits_counted",
    "services_counted",
    "sla_met",
    "sla_counted",
)


def test_a_day_without_activity_is_a_row_of_zeros(admin: Session, projections: None):
    day = Day(admin)
    body = _stats(admin, day.q1, lambda body: True, day="2020-02-29")
    assert body["day"] == "2020-02-29"
    assert {body[key] for key in COUNTS} == {0}
    assert body["average_wait_seconds"] is None
    assert body["sla_compliance"] is None
    assert body["current_longest_wait_seconds"] is None


def test_bad_days_unknown_queues_other_tenants_and_agents_are_refused(
    admin: Session, http: httpx.Client, new_tenant: Callable[[], Tenant], projections: None
):
    day = Day(admin)
    assert_problem(admin.get(f"queues/{day.q1}/stats/", params={"day": "2026-02-30"}), 422)
    assert_problem(admin.get(f"queues/{day.q1}/stats/", params={"day": "yesterday"}), 400)
    assert_problem(admin.get("queues/stats/", params={"day": "2026-13-01"}), 422)
    assert_problem(admin.get(f"queues/{uuid4()}/stats/"), 404)

    stranger = new_tenant()
    other = login(http, stranger, stranger.admin_email, stranger.admin_password)
    assert_problem(other.get(f"queues/{day.q1}/stats/"), 404)  # their path, our queue
    foreign = http.get(
        admin.path(f"queues/{day.q1}/stats/"), headers={"Authorization": f"Bearer {other.token}"}
    )
    assert_problem(foreign, 404)
    assert_problem(day.agents[0].get(f"queues/{day.q1}/stats/"), 403)
    assert_problem(day.agents[0].get("queues/stats/"), 403)


def test_a_rebuild_while_the_projection_runs_keeps_the_counts_and_goes_on_counting(
    admin: Session,
    projections: None,
    database_url: str,
    owner_database_url: str,
    redis_url: str,
    e2e_home: Path,
):
    day = Day(admin)
    first = admin.issue(day.q1)
    assert day.call(0, day.q1)["id"] == first["id"]
    admin.issue(day.q1)
    before = _stats(admin, day.q1, lambda body: body["issued"] == 2 and body["called"] == 1)

    rebuilt = subprocess.run(
        [smartqueue_executable(), "projections", "rebuild", "queue_stats"],
        # A rebuild replaces tables: it runs as the schema owner, like `smartqueue migrate`.
        env={
            **process_env(database_url, e2e_home, redis_url),
            "MIGRATION_DATABASE_URL": owner_database_url,
        },
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "queue_stats: rebuilt up to position" in rebuilt.stdout
    after = admin.get(f"queues/{day.q1}/stats/").json()
    assert {key: after[key] for key in COUNTS} == {key: before[key] for key in COUNTS}

    # The live follower goes on from the rebuilt state: the visit opened before still counts.
    day.act(0, first, "start")
    day.act(0, first, "close")
    done = _stats(admin, day.q1, lambda body: body["completed"] == 1)
    assert (done["issued"], done["called"], done["completed"], done["waiting"]) == (2, 0, 1, 1)
