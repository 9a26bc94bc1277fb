"""What the dashboard's page tests share: opening and signing in to the page, the KPI API's rows
to compare it with, and a scripted day at two sites."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages.conftest import PageProblems, new_page
from tests.e2e.support import PASSWORD, Session, open_floor
from tests.e2e.test_feedback import feedback_token, public


def open_dashboard(
    browser: Browser, base_url: str, slug: str, locale: str = "en-GB", lang: str = "en"
):
    page, problems = new_page(browser, base_url, locale=locale)
    page.goto(f"/dashboard/{slug}/" + (f"?lang={lang}" if lang else ""))
    return page, problems


def close_page(page: Page, problems: PageProblems) -> None:
    page.context.close()
    assert problems.errors == [], problems.errors


def sign_in(page: Page, email: str) -> None:
    page.get_by_label(re.compile("^(Email|E-mail)$")).fill(email)
    page.get_by_label(re.compile("^(Password|Mot de passe)$")).fill(PASSWORD)
    page.locator("#sign-in-submit").click()


def kpi_range() -> dict[str, str]:
    today = date.today()  # the site's day is within a day of the test's
    return {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}


def kpi_rows(session: Session, group_by: str | None, **params: str) -> list[dict]:
    if group_by:
        params["group_by"] = group_by
    response = session.get("analytics/kpis/", params={**kpi_range(), **params, "limit": "200"})
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"]


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
        (whole,) = kpi_rows(admin, None)
        assert (whole["arrivals"], whole["served"], whole["csat_responses"]) == (4, 2, 1)


def show_range(page: Page, email: str) -> dict[str, str]:
    sign_in(page, email)
    expect(page.locator("#dashboard")).to_be_visible()
    span = kpi_range()
    page.get_by_label("From").fill(span["from"])
    page.get_by_label("To", exact=True).fill(span["to"])
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_test_id("range-summary")).to_have_attribute("data-from", span["from"])
    return span


def number_shown(text: str) -> float | None:
    """A number as the page shows it (en-GB: "1,234.5"; "—" for null)."""
    return None if text == "—" else float(text.replace(",", ""))


def compared(session: Session, span: dict[str, str], before: dict[str, str], group_by: str | None):
    """The API's rows of ``span`` and of the period ``before`` (its compare_items), in one query."""
    params = {**span, "compare_from": before["from"], "compare_to": before["to"], "limit": "200"}
    if group_by:
        params["group_by"] = group_by
    response = session.get("analytics/kpis/", params=params)
    assert response.status_code == 200, response.text
    assert response.json()["next_cursor"] is None
    return response.json()["items"], response.json()["compare_items"]
