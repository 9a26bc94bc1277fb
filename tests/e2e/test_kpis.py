"""GET analytics/kpis/ and its CSV export over HTTP, counted by the session's real
``smartqueue projections`` process (which follows every read model, ``kpis`` included)."""

from __future__ import annotations

import csv
import io
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.e2e.support import Session, assert_problem, process_env, smartqueue_executable

pytestmark = pytest.mark.e2e

PROJECTION_SECONDS = 20


def _range() -> dict[str, str]:
    today = date.today()  # the site's day is within a day of the test's
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


def _kpis(session: Session, wanted, **params: str) -> dict:
    deadline = time.monotonic() + PROJECTION_SECONDS
    while True:
        response = session.get("analytics/kpis/", params={**_range(), **params})
        assert response.status_code == 200, response.text
        body = response.json()
        if wanted(body) or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


class Branch:
    """One site, a one-minute-target service and its queue, one agent; one visit served."""

    def __init__(self, admin: Session) -> None:
        site = admin.add_site("Branch", "America/Montreal")
        service = admin.ok(
            "POST",
            "queues/services/",
            {"name": "Counter", "code": "K", "target_wait_minutes": 1},
            status=201,
        )
        self.queue = admin.open_queue(site["id"], [service["id"]], name="Queue K")["id"]
        self.site, self.service = site["id"], service["id"]
        self.agent = admin.add_agent([self.queue])
        self.agent.set_status("available")
        served = admin.issue(self.queue)
        waiting = admin.issue(self.queue)
        called = self.agent.ok("POST", "agents/call-next/", {"queue_id": self.queue})
        assert called["id"] == served["id"]
        for action in ("start", "close"):
            assert self.agent.act(served["id"], action).status_code == 200
        assert admin.act(waiting["id"], "cancel").status_code == 200


def test_the_kpis_of_a_served_and_an_abandoned_visit_and_their_csv(
    admin: Session, projections: None
):
    branch = Branch(admin)
    body = _kpis(
        admin,
        lambda body: sum(row["served"] + row["abandonments"] for row in body["items"]) == 2,
        group_by="queue,agent",
        compare_from="2020-01-01",
        compare_to="2020-01-31",
    )
    rows = {row["agent_id"]: row for row in body["items"]}
    assert body["group_by"] == ["queue", "agent"]
    assert body["relative_accuracy"] == 0.01
    assert body["compare_items"] == []  # nothing happened then
    assert body["next_cursor"] is None
    served = next(row for agent, row in rows.items() if agent is not None)
    assert served["queue_id"] == branch.queue
    assert (served["arrivals"], served["served"], served["waits_counted"]) == (1, 1, 1)
    assert served["served_rate"] == 1.0
    assert served["wait_p50_seconds"] is not None
    assert served["wait_p95_seconds"] <= served["wait_max_seconds"] * 1.01
    assert served["service_mean_seconds"] is not None
    assert served["sla_compliance"] == 1.0  # called at once: within the minute
    abandoned = rows[None]
    assert (abandoned["arrivals"], abandoned["abandonments"], abandoned["served"]) == (1, 1, 0)
    assert abandoned["wait_p50_seconds"] is None

    export = admin.get(
        "analytics/kpis/export.csv", params={**_range(), "group_by": "site,queue,agent"}
    )
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert len(table) == 2
    assert {line["queue_id"] for line in table} == {branch.queue}
    assert {line["period"] for line in table} == {"current"}
    assert sorted(int(line["arrivals"]) for line in table) == [1, 1]
    assert sum(int(line["arrivals_api"]) for line in table) == 2

    paged = admin.get("analytics/kpis/", params={**_range(), "group_by": "agent", "limit": 1})
    first = paged.json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = admin.get(
        "analytics/kpis/",
        params={**_range(), "group_by": "agent", "limit": 1, "cursor": first["next_cursor"]},
    ).json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None


def test_an_agents_time_on_duty_utilisation_a_site_filter_and_the_heat_map(
    admin: Session, projections: None
):
    branch = Branch(admin)
    elsewhere = admin.add_site("Elsewhere", "Europe/Paris")["id"]
    offline = branch.agent.post("agents/set-status/", json={"status": "offline"})
    assert offline.status_code == 200, offline.text  # the period on duty ends: whole
    body = _kpis(
        admin,
        lambda body: True,
        group_by="agent",
        site_id=branch.site,
        min_position=offline.headers["X-Log-Position"],
    )
    (agent,) = [row for row in body["items"] if row["agent_id"] is not None]
    assert agent["served"] == 1 and agent["handles_counted"] == 1
    # available before the call, offline after the close: the service lies within the duty
    assert 0 < agent["utilisation"] <= 1
    assert agent["served_per_agent_hour"] == pytest.approx(
        3600 / agent["on_duty_seconds"], rel=1e-9
    )
    assert agent["handle_mean_seconds"] >= agent["service_mean_seconds"]
    by_service = _kpis(admin, lambda body: True, group_by="service", site_id=branch.site)
    assert [row["on_duty_seconds"] for row in by_service["items"]] == [None]
    assert _kpis(admin, lambda body: True, site_id=elsewhere)["items"] == []

    cells = _kpis(admin, lambda body: True, group_by="weekday,hour", site_id=branch.site)
    assert sum(row["arrivals"] for row in cells["items"]) == 2
    assert {row["weekday"] for row in cells["items"]} <= set(range(1, 8))
    export = admin.get(
        "analytics/kpis/export.csv",
        params={**_range(), "group_by": "weekday,hour", "site_id": branch.site},
    )
    table = list(csv.DictReader(io.StringIO(export.text)))
    assert sum(int(line["arrivals"]) for line in table) == 2
    assert {"weekday", "utilisation", "nps", "csat_mean"} <= set(table[0])


def test_bad_ranges_and_groups_are_400_and_agents_are_403(admin: Session, projections: None):
    branch = Branch(admin)
    for params in (
        {"from": "2026-03-02", "to": "2026-03-01"},  # to before from
        {"from": "2025-01-01", "to": "2026-03-01"},  # more than 400 days
        {"from": "2026-03-01", "to": "2026-03-02", "group_by": "site,planet"},
        {"from": "2026-03-01", "to": "2026-03-02", "compare_from": "2026-02-01"},
        {"from": "yesterday", "to": "2026-03-02"},
        {"to": "2026-03-02"},
    ):
        assert_problem(admin.get("analytics/kpis/", params=params), 400)
        assert_problem(admin.get("analytics/kpis/export.csv", params=params), 400)
    assert_problem(branch.agent.get("analytics/kpis/", params=_range()), 403)
    assert_problem(branch.agent.get("analytics/kpis/export.csv", params=_range()), 403)


def test_smartqueue_projections_rebuild_kpis_answers_the_same_rows(
    admin: Session,
    projections: None,
    database_url: str,
    owner_database_url: str,
    redis_url: str,
    e2e_home: Path,
):
    Branch(admin)
    done = lambda body: sum(row["served"] + row["abandonments"] for row in body["items"]) == 2  # noqa: E731
    before = _kpis(admin, done, group_by="site,queue,agent,hour")
    assert done(before)
    rebuilt = subprocess.run(
        [smartqueue_executable(), "projections", "rebuild", "kpis"],
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
    assert "kpis: rebuilt up to position" in rebuilt.stdout
    after = admin.get("analytics/kpis/", params={**_range(), "group_by": "site,queue,agent,hour"})
    assert after.json()["items"] == before["items"]
