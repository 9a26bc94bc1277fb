"""The manager dashboard in headless Chromium: a manager signs in and sees a call an agent makes
through the API within 2 s (the queue's waiting count and the agent's status, over the live
fan-out); for the chosen site, the range's charts, heat map and agent table carry the KPI API's
rows (read from the series and values given to the page, not from pixels) and the exports
download the API's KPIs and visits as CSV and Parquet; French labels; an agent is told the
dashboard needs a manager. The page over plain HTTP too."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Live, _free_port
from tests.e2e.pages.conftest import PageProblems, new_page
from tests.e2e.support import PASSWORD, ReadModels, Session, open_floor
from tests.e2e.test_feedback import feedback_token, public

pytestmark = pytest.mark.e2e

CALL_MS = 2_000  # the issue's bound: a call shows on the dashboard within 2 s
LIVE_MS = 5_000
RECONNECT_MS = 30_000  # the API's start-up plus the 5 s back-off cap, with room
PROJECTION_SECONDS = 20
HEADLINES = ("arrivals", "served", "sla_compliance", "wait_mean_seconds", "csat_mean", "nps")


def _open(browser: Browser, base_url: str, slug: str, locale: str = "en-GB", lang: str = "en"):
    page, problems = new_page(browser, base_url, locale=locale)
    page.goto(f"/dashboard/{slug}/" + (f"?lang={lang}" if lang else ""))
    return page, problems


def _close(page: Page, problems: PageProblems) -> None:
    page.context.close()
    assert problems.errors == [], problems.errors


def _sign_in(page: Page, email: str) -> None:
    page.get_by_label(re.compile("^(Email|E-mail)$")).fill(email)
    page.get_by_label(re.compile("^(Password|Mot de passe)$")).fill(PASSWORD)
    page.locator("#sign-in-submit").click()


def _range() -> dict[str, str]:
    today = date.today()  # the site's day is within a day of the test's
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


def _rows(session: Session, group_by: str | None, **params: str) -> list[dict]:
    if group_by:
        params["group_by"] = group_by
    response = session.get("analytics/kpis/", params={**_range(), **params, "limit": "200"})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


def test_a_manager_sees_a_call_on_the_dashboard_within_two_seconds(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue = floor.queue["id"]
    agent = admin.add_agent([queue])
    agent.set_status("available", counter="4")
    agent_id = agent.me()["id"]
    manager = admin.add_user("manager")
    issued = admin.issue(queue)
    admin.settle("directory")
    admin.settle("agent_board")
    admin.settle("queue_stats")
    page, problems = _open(browser, live.api_url, admin.tenant.slug)
    try:
        _sign_in(page, manager["email"])
        expect(page.locator("#dashboard")).to_be_visible()
        expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-state", "live", timeout=LIVE_MS
        )
        row = page.get_by_test_id("today-queues").locator(f'[data-queue-id="{queue}"]')
        agent_row = page.get_by_test_id("today-agents").locator(f'[data-agent-id="{agent_id}"]')
        expect(row.locator(".waiting")).to_have_text("1")
        expect(agent_row.locator(".agent-status")).to_have_text("Available")
        expect(page.get_by_test_id("agent-counts")).to_contain_text("Available 1")

        started = time.monotonic()
        called = agent.ok("POST", "agents/call-next/", {"queue_id": queue})
        assert called["id"] == issued["id"]
        expect(row.locator(".waiting")).to_have_text("0", timeout=CALL_MS)
        expect(agent_row.locator(".agent-status")).to_have_text("Busy", timeout=CALL_MS)
        expect(agent_row.locator(".agent-ticket")).to_have_text(issued["number"], timeout=CALL_MS)
        assert time.monotonic() - started < CALL_MS / 1000 + 0.5  # the page's own checks too
        expect(page.get_by_test_id("agent-counts")).to_contain_text("Busy 1")
        expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "live")
        expect(page.get_by_test_id("dashboard-error")).to_be_hidden()
    finally:
        _close(page, problems)


def test_after_its_api_restarts_the_dashboard_reconnects_and_shows_what_it_missed(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue = floor.queue["id"]
    agent = admin.add_agent([queue])
    agent.set_status("available")
    agent_id = agent.me()["id"]
    manager = admin.add_user("manager")
    for _ in range(2):
        admin.issue(queue)
    admin.settle("directory")
    admin.settle("agent_board")
    port = _free_port()
    with live.api(port) as base_url:
        page, problems = _open(browser, base_url, admin.tenant.slug)
        _sign_in(page, manager["email"])
        connection = page.get_by_test_id("connection")
        expect(connection).to_have_attribute("data-state", "live", timeout=LIVE_MS)
        expect(connection).to_have_text("Live")
        waiting = page.get_by_test_id("today-queues").locator(f'[data-queue-id="{queue}"] .waiting')
        status = page.get_by_test_id("today-agents").locator(
            f'[data-agent-id="{agent_id}"] .agent-status'
        )
        expect(waiting).to_have_text("2")
    try:
        # Its API process is gone: the figures stay, the header says so.
        expect(connection).to_have_attribute("data-state", "reconnecting")
        expect(connection).to_have_text("Reconnecting…")
        expect(waiting).to_have_text("2")
        called = agent.ok("POST", "agents/call-next/", {"queue_id": queue})  # another API
        with live.api(port):
            expect(connection).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
            expect(waiting).to_have_text("1", timeout=LIVE_MS)
            expect(status).to_have_text("Busy", timeout=LIVE_MS)
            assert called["number"]
    finally:
        _close(page, problems)


class TwoSites:
    """A scripted day at two sites. At the first: an agent goes available, serves one visit
    (given CSAT 4 and NPS 9 afterwards), one visit is cancelled, one still waits, and the agent
    goes offline (their time on duty is whole). At a second site, another agent serves one visit."""

    def __init__(self, admin: Session, home: Path) -> None:
        floor = open_floor(admin)
        self.site, self.queue = floor.site["id"], floor.queue["id"]
        self.agent = admin.add_agent([self.queue])
        self.agent.set_status("available")
        self.agent_id = self.agent.me()["id"]
        served, cancelled, waiting = (admin.issue(self.queue) for _ in range(3))
        self.tickets = {served["id"], cancelled["id"], waiting["id"]}
        assert (
            self.agent.ok("POST", "agents/call-next/", {"queue_id": self.queue})["id"]
            == (served["id"])
        )
        for action in ("start", "close"):
            assert self.agent.act(served["id"], action).status_code == 200
        assert admin.act(cancelled["id"], "cancel").status_code == 200
        token = feedback_token(home, admin.tenant.id, served["id"])
        given = public(admin.client, "POST", token, {"csat": 4, "nps": 9})
        assert given.status_code == 201, given.text
        self.agent.set_status("offline")

        other_site = admin.add_site("Other branch")
        self.other_queue = admin.open_queue(
            other_site["id"], [admin.add_service("B")["id"]], name="Queue B"
        )["id"]
        self.other_agent = admin.add_agent([self.other_queue])
        self.other_agent.set_status("available")
        other = admin.issue(self.other_queue)
        assert self.other_agent.ok("POST", "agents/call-next/", {"queue_id": self.other_queue})
        for action in ("start", "close"):
            assert self.other_agent.act(other["id"], action).status_code == 200
        self.manager = admin.add_user("manager")
        for projection in ("directory", "kpis", "tickets", "agent_board"):
            admin.settle(projection)
        (whole,) = _rows(admin, None)
        assert (whole["arrivals"], whole["served"], whole["csat_responses"]) == (4, 2, 1)


def _show_range(page: Page, email: str) -> dict[str, str]:
    _sign_in(page, email)
    expect(page.locator("#dashboard")).to_be_visible()
    span = _range()
    page.get_by_label("From").fill(span["from"])
    page.get_by_label("To", exact=True).fill(span["to"])
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("range-summary")).to_have_attribute("data-from", span["from"])
    return span


def _shown(text: str) -> float | None:
    """A number as the page shows it (en-GB: "1,234.5"; "—" for null)."""
    return None if text == "—" else float(text.replace(",", ""))


def test_the_charts_and_tables_carry_the_kpi_rows_of_the_chosen_site(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    page, problems = _open(browser, api_url, admin.tenant.slug)
    try:
        _show_range(page, day.manager["email"])
        summary = page.get_by_test_id("range-summary")
        expect(summary).to_contain_text(
            "4 arrivals, 2 served, SLA 100 %; "
            "CSAT 4 out of 5 (responses: 1), NPS 100 (responses: 1)"
        )
        today = page.get_by_test_id("today-queues")
        agents = page.get_by_test_id("agent-table")
        expect(today.locator(f'[data-queue-id="{day.other_queue}"]')).to_be_visible()
        expect(agents).to_contain_text(day.other_agent.user["name"])

        # One site: its queues today, its rows over the range (the API's, asked with site_id).
        page.get_by_label("Site").select_option(day.site)
        expect(summary).to_contain_text(
            "3 arrivals, 1 served, SLA 100 %; "
            "CSAT 4 out of 5 (responses: 1), NPS 100 (responses: 1)"
        )
        expect(today.locator(f'[data-queue-id="{day.other_queue}"]')).to_have_count(0)
        expect(today.locator(f'[data-queue-id="{day.queue}"]')).to_be_visible()
        expect(agents).to_contain_text(day.agent.user["name"])
        expect(agents).not_to_contain_text(day.other_agent.user["name"])

        def site_rows(group_by: str) -> list[dict]:
            return _rows(admin, group_by, site_id=day.site)

        # Arrivals and mean wait by hour: what uPlot was given is the API's rows, hour by hour.
        hours = json.loads(page.get_by_test_id("chart-hour").get_attribute("data-series"))
        assert hours[0] == list(range(24))
        by_hour = {row["hour"]: row for row in site_rows("hour")}
        assert hours[1] == [by_hour[h]["arrivals"] if h in by_hour else 0 for h in range(24)]
        assert sum(hours[1]) == 3
        for hour in range(24):
            mean = by_hour.get(hour, {}).get("wait_mean_seconds")
            assert hours[2][hour] == (None if mean is None else pytest.approx(mean / 60))
        assert page.locator("#chart-hour canvas").count() == 1  # uPlot drew it

        # SLA by day: one point per day of the range, the API's compliance in %.
        sla = json.loads(page.get_by_test_id("chart-sla").get_attribute("data-series"))
        by_day = {row["day"]: row for row in site_rows("day")}
        span = _range()
        days = [str(date.fromisoformat(span["from"]) + timedelta(days=n)) for n in range(3)]
        assert len(sla[0]) == len(sla[1]) == 3
        for index, one in enumerate(days):
            share = by_day.get(one, {}).get("sla_compliance")
            assert sla[1][index] == (None if share is None else pytest.approx(share * 100))

        # The heat map: 7 weekdays (Monday first) by 24 hours, each cell one weekday,hour row.
        cells = json.loads(page.get_by_test_id("heat-map").get_attribute("data-cells"))
        by_cell = {(row["weekday"], row["hour"]): row for row in site_rows("weekday,hour")}
        assert len(cells) == 7 and all(len(weekday) == 24 for weekday in cells)
        for weekday in range(7):
            for hour in range(24):
                row = by_cell.get((weekday + 1, hour), {})
                assert cells[weekday][hour] == {
                    "arrivals": row.get("arrivals", 0),
                    "wait": row.get("wait_mean_seconds"),
                    "p90": row.get("wait_p90_seconds"),
                }, (weekday, hour)
        assert sum(cell["arrivals"] for weekday in cells for cell in weekday) == 3
        assert page.get_by_test_id("heat-map").locator("td.heat-4").count() >= 1

        # The agent over the range: the API's figures, raw on data-value and shown rounded.
        (mine,) = [row for row in site_rows("agent") if row["agent_id"] == day.agent_id]
        assert mine["utilisation"] is not None and mine["csat_mean"] == 4 and mine["nps"] == 100
        line = agents.locator(f'tr[data-agent-id="{day.agent_id}"]')
        expect(line.locator("th")).to_have_text(day.agent.user["name"])
        shown_as = {  # the API's value -> the page's unit, and how many decimals it shows
            "served": (1, 0),
            "handle_mean_seconds": (1 / 60, 1),
            "utilisation": (100, 1),
            "served_per_agent_hour": (1, 1),
            "on_duty_seconds": (1 / 3600, 2),
            "csat_mean": (1, 2),
            "nps": (1, 0),
        }
        for kpi, (unit, digits) in shown_as.items():
            cell = line.locator(f'td[data-kpi="{kpi}"]')
            assert json.loads(cell.get_attribute("data-value")) == mine[kpi], kpi
            assert _shown(cell.inner_text()) == pytest.approx(
                mine[kpi] * unit, abs=0.5 * 10**-digits + 1e-9
            ), kpi
        nobody = agents.locator('tr[data-agent-id=""]')  # visits never called: no time on duty
        expect(nobody.locator('td[data-kpi="utilisation"]')).to_have_text("—")
        page.get_by_test_id("chart-hour").get_by_text("Show the data").click()
        expect(page.get_by_test_id("chart-hour").locator("details table")).to_be_visible()

        # The address keeps the range and the site: a reload (or a shared link) shows them again.
        assert f"site={day.site}" in page.url and f"from={span['from']}" in page.url
        page.reload()
        expect(page.get_by_label("Site")).to_have_value(day.site)
        expect(summary).to_contain_text("3 arrivals, 1 served, SLA 100 %")
    finally:
        _close(page, problems)


def _compared(session: Session, span: dict[str, str], before: dict[str, str], group_by: str | None):
    """The API's rows of ``span`` and of the period ``before`` (its compare_items), in one query."""
    params = {**span, "compare_from": before["from"], "compare_to": before["to"], "limit": "200"}
    if group_by:
        params["group_by"] = group_by
    response = session.get("analytics/kpis/", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"], response.json()["compare_items"]


def test_compared_with_the_previous_period_the_page_shows_the_apis_figures_of_both(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    # Tickets are issued now: the three days after tomorrow hold nothing, and the period of as
    # many days just before them (yesterday to tomorrow) holds the scripted day.
    before = _range()
    first = date.fromisoformat(before["to"]) + timedelta(days=1)
    span = {"from": str(first), "to": str(first + timedelta(days=2))}
    page, problems = _open(browser, api_url, admin.tenant.slug)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        _sign_in(page, day.manager["email"])
        expect(page.locator("#dashboard")).to_be_visible()
        compare = page.get_by_label("Compare with the previous period")
        expect(compare).not_to_be_checked()
        page.get_by_label("From").fill(span["from"])
        page.get_by_label("To", exact=True).fill(span["to"])
        compare.check()  # shows the range again, with the comparison
        shown = page.get_by_test_id("range-compare")
        expect(shown).to_be_visible()
        expect(shown.locator("caption")).to_have_text(
            f"{span['from']} to {span['to']} compared with the previous period, "
            f"{before['from']} to {before['to']}"
        )
        assert "compare=1" in page.url

        # The summary: each headline figure of both periods is the API's (no row: nothing).
        now, (then,) = _compared(admin, span, before, None)
        assert now == [] and (then["arrivals"], then["served"]) == (4, 2)
        for kpi in HEADLINES:
            line = shown.locator(f'tr[data-kpi="{kpi}"]')
            current = line.locator("td.period-current").get_attribute("data-value")
            assert json.loads(current) == (0 if kpi in ("arrivals", "served") else None), kpi
            previous = line.locator("td.period-previous")
            assert json.loads(previous.get_attribute("data-value")) == then[kpi], kpi
        arrivals = shown.locator('tr[data-kpi="arrivals"]')
        expect(arrivals.locator("th")).to_have_text("Arrivals")
        expect(arrivals.locator("td.period-previous")).to_have_text("4")
        expect(arrivals.locator("td.change")).to_have_text("\u2212100 % (down)")
        expect(shown.locator('tr[data-kpi="csat_mean"] td.period-previous')).to_have_text("4")
        expect(shown.locator('tr[data-kpi="nps"] td.change')).to_have_text("—")
        wait = shown.locator('tr[data-kpi="wait_mean_seconds"] td.period-previous').inner_text()
        assert _shown(wait) == pytest.approx(then["wait_mean_seconds"] / 60, abs=0.05 + 1e-9)

        # The hour chart: the previous period's arrivals as a fourth series, and in its table.
        chart = page.get_by_test_id("chart-hour")
        hours = json.loads(chart.get_attribute("data-series"))
        _, earlier = _compared(admin, span, before, "hour")
        by_hour = {row["hour"]: row["arrivals"] for row in earlier}
        assert len(hours) == 4 and hours[1] == [0] * 24
        assert hours[3] == [by_hour.get(hour, 0) for hour in range(24)] and sum(hours[3]) == 4
        expect(chart.locator("details thead th").nth(3)).to_have_text("Arrivals, previous period")

        # The agents: what each served in the previous period, the API's.
        table = page.get_by_test_id("agent-table")
        _, earlier = _compared(admin, span, before, "agent")
        expect(table.locator("tbody tr")).to_have_count(len(earlier))
        for row in earlier:
            cell = table.locator(
                f'tr[data-agent-id="{row["agent_id"] or ""}"] td[data-kpi="previous_served"]'
            )
            assert json.loads(cell.get_attribute("data-value")) == row["served"]
        expect(table).to_contain_text(day.other_agent.user["name"])

        # The address keeps it; off, nothing of the comparison is asked or shown.
        page.reload()
        expect(page.get_by_label("Compare with the previous period")).to_be_checked()
        expect(page.get_by_test_id("range-compare")).to_be_visible()
        asked.clear()
        page.get_by_label("Compare with the previous period").uncheck()  # shows the range again
        expect(page.get_by_test_id("range-compare")).to_be_hidden()
        expect(page.get_by_test_id("range-summary")).to_contain_text("0 arrivals, 0 served")
        assert len(json.loads(chart.get_attribute("data-series"))) == 3
        expect(chart.locator("details thead th")).to_have_count(3)
        expect(table.locator('td[data-kpi="previous_served"]')).to_have_count(0)
        expect(table.locator("tbody tr")).to_have_count(0)
        assert "compare" not in page.url
        kpi_requests = [url for url in asked if "/analytics/kpis/" in url]
        assert kpi_requests and not any("compare_" in url for url in kpi_requests)
    finally:
        _close(page, problems)


def test_the_exports_download_the_kpis_and_the_visits_of_the_chosen_site(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    page, problems = _open(browser, api_url, admin.tenant.slug)
    slug = admin.tenant.slug
    try:
        span = _show_range(page, day.manager["email"])
        page.get_by_label("Site").select_option(day.site)
        expect(page.get_by_test_id("range-summary")).to_contain_text("3 arrivals")

        def download(name: str) -> tuple[str, bytes]:
            with page.expect_download() as downloading:
                page.get_by_role("button", name=name).click()
            saved = downloading.value
            expect(page.get_by_test_id("dashboard-info")).to_have_text(
                f"Exported {saved.suggested_filename}."
            )
            return saved.suggested_filename, saved.path().read_bytes()

        # KPIs as CSV: the API's export for the site, by site and day, line for line.
        name, body = download("Export KPIs (CSV)")
        assert name == f"kpis-{slug}-{span['from']}-{span['to']}.csv"
        kpis = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        expected = admin.get(
            "analytics/kpis/export.csv",
            params={**span, "group_by": "site,day", "site_id": day.site},
        )
        assert expected.status_code == 200
        assert kpis == list(csv.DictReader(io.StringIO(expected.text)))
        assert {line["site_id"] for line in kpis} == {day.site}
        assert sum(int(line["arrivals"]) for line in kpis) == 3
        assert "utilisation" in kpis[0] and "nps" in kpis[0]

        # KPIs as Parquet: the same rows, typed.
        name, body = download("Export KPIs (Parquet)")
        assert name == f"kpis-{slug}-{span['from']}-{span['to']}.parquet"
        assert body[:4] == b"PAR1"
        table = pq.read_table(io.BytesIO(body)).to_pylist()
        assert [str(row["day"]) for row in table] == [line["day"] for line in kpis]
        assert {row["site_id"] for row in table} == {day.site}
        assert [row["arrivals"] for row in table] == [int(line["arrivals"]) for line in kpis]

        # The visits (one row per ticket) of the site: its three tickets, not the other site's.
        name, body = download("Export visits (CSV)")
        assert name == f"tickets-{slug}-{span['from']}-{span['to']}.csv"
        visits = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
        assert {line["ticket_id"] for line in visits} == day.tickets
        assert sorted(line["outcome"] for line in visits) == ["abandoned", "served", "waiting"]
        name, body = download("Export visits (Parquet)")
        assert name == f"tickets-{slug}-{span['from']}-{span['to']}.parquet"
        assert body[:4] == b"PAR1"
        rows = pq.read_table(io.BytesIO(body)).to_pylist()
        assert {row["ticket_id"] for row in rows} == day.tickets
        assert {row["site_id"] for row in rows} == {day.site}
    finally:
        _close(page, problems)


def test_the_french_page_shows_french_labels(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels
):
    open_floor(admin)
    manager = admin.add_user("manager")
    admin.settle("directory")
    page, problems = _open(browser, api_url, admin.tenant.slug, locale="fr-FR", lang="")
    try:
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        _sign_in(page, manager["email"])
        expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
        expect(page.get_by_role("heading", name="Aujourd'hui, en direct")).to_be_visible()
        expect(page.get_by_role("button", name="Exporter les indicateurs (CSV)")).to_be_visible()
        expect(page.get_by_role("button", name="Exporter les visites (Parquet)")).to_be_visible()
        expect(page.get_by_role("group", name="Exporter la période")).to_be_visible()
        expect(page.get_by_test_id("chart-hour")).to_contain_text(
            "Arrivées et attente moyenne par heure"
        )
        expect(page.get_by_test_id("heat-map")).to_contain_text("Lundi")
        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Today, live")).to_be_visible()
    finally:
        _close(page, problems)


def test_an_agent_is_told_in_words_that_the_dashboard_needs_a_manager(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels
):
    floor = open_floor(admin)
    agent = admin.add_user("agent", [floor.queue["id"]])
    admin.settle("directory")
    page, problems = _open(browser, api_url, admin.tenant.slug)
    try:
        _sign_in(page, agent["email"])
        expect(page.get_by_test_id("dashboard-error")).to_have_text(
            "The dashboard needs a manager or an administrator account. "
            "Sign in with one, or ask a manager."
        )
        expect(page.locator("#dashboard")).to_be_hidden()
    finally:
        _close(page, problems)


def test_the_dashboard_is_served_like_the_other_pages(http: httpx.Client):
    console = http.get("/console/demo-bank/")
    for path in ("/dashboard/demo-bank/", "/dashboard/demo-bank"):
        response = http.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        for header in (
            "content-security-policy",
            "x-content-type-options",
            "referrer-policy",
            "x-frame-options",
            "cache-control",
        ):
            assert response.headers[header] == console.headers[header], header
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
    assert {asset.rsplit("/", 1)[1] for asset in assets} == {
        "vendor.uplot.min.css",
        "dashboard.css",
        "vendor.uplot.min.js",
        "dashboard.js",
    }
    for asset in assets:
        served = http.get(asset)
        assert served.status_code == 200
        assert served.headers["x-content-type-options"] == "nosniff"
        assert "immutable" in served.headers["cache-control"]
    prefix = assets[0].rsplit("/", 1)[0]
    for module in ("dashboard.charts.js", "console.live.js", "dashboard.i18n.js", "console.css"):
        assert http.get(f"{prefix}/{module}").status_code == 200, module

    refused = http.get("/dashboard/Not_A_Slug/")
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
