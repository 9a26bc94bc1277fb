"""The dashboard's "any range" part in headless Chromium, for a scripted day at two sites: the
range's charts, heat map and agent table carry the KPI API's rows for the chosen site (read from
the series and values given to the page, not from pixels), the comparison with the previous
period carries the API's compare_items, and the exports download the API's KPIs and visits as
CSV and Parquet."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.pages.dashboard_support import (
    TwoSites,
    close_page,
    compared,
    kpi_range,
    kpi_rows,
    number_shown,
    open_dashboard,
    show_range,
    sign_in,
)
from tests.e2e.support import ReadModels, Session

pytestmark = pytest.mark.e2e

HEADLINES = ("arrivals", "served", "sla_compliance", "wait_mean_seconds", "csat_mean", "nps")


def test_the_charts_and_tables_carry_the_kpi_rows_of_the_chosen_site(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    page, problems = open_dashboard(browser, api_url, admin.tenant.slug)
    try:
        show_range(page, day.manager["email"])
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
            return kpi_rows(admin, group_by, site_id=day.site)

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
        span = kpi_range()
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
            assert number_shown(cell.inner_text()) == pytest.approx(
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
        close_page(page, problems)


def test_compared_with_the_previous_period_the_page_shows_the_apis_figures_of_both(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    # Tickets are issued now: the three days after tomorrow hold nothing, and the period of as
    # many days just before them (yesterday to tomorrow) holds the scripted day.
    before = kpi_range()
    first = date.fromisoformat(before["to"]) + timedelta(days=1)
    span = {"from": str(first), "to": str(first + timedelta(days=2))}
    page, problems = open_dashboard(browser, api_url, admin.tenant.slug)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    try:
        sign_in(page, day.manager["email"])
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
        now, (then,) = compared(admin, span, before, None)
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
        assert number_shown(wait) == pytest.approx(then["wait_mean_seconds"] / 60, abs=0.05 + 1e-9)

        # The hour chart: the previous period's arrivals as a fourth series, and in its table.
        chart = page.get_by_test_id("chart-hour")
        hours = json.loads(chart.get_attribute("data-series"))
        _, earlier = compared(admin, span, before, "hour")
        by_hour = {row["hour"]: row["arrivals"] for row in earlier}
        assert len(hours) == 4 and hours[1] == [0] * 24
        assert hours[3] == [by_hour.get(hour, 0) for hour in range(24)] and sum(hours[3]) == 4
        expect(chart.locator("details thead th").nth(3)).to_have_text("Arrivals, previous period")

        # The agents: what each served in the previous period, the API's.
        table = page.get_by_test_id("agent-table")
        _, earlier = compared(admin, span, before, "agent")
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
        close_page(page, problems)


def test_the_exports_download_the_kpis_and_the_visits_of_the_chosen_site(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels, e2e_home: Path
):
    day = TwoSites(admin, e2e_home)
    page, problems = open_dashboard(browser, api_url, admin.tenant.slug)
    slug = admin.tenant.slug
    try:
        span = show_range(page, day.manager["email"])
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
        close_page(page, problems)
