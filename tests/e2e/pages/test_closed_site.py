"""A closed site in headless Chromium: the kiosk and the join page say so in words, with the
day and time the site opens again (in the page's language), and nothing is issued."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages.conftest import TIMEOUT_MS, PageProblems, device_page_url, register_device
from tests.e2e.support import Session, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def paris_page(browser: Browser, api_url: str) -> Iterator[Page]:
    """A page whose browser is in Paris (the times it writes are Paris times)."""
    context = browser.new_context(base_url=api_url, locale="fr-FR", timezone_id="Europe/Paris")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems = PageProblems()
    page.on("console", problems.console)
    page.on("pageerror", problems.page_error)
    yield page
    context.close()
    assert problems.errors == [], problems.errors


def close_for_today(admin: Session, site_id: str) -> str:
    """Close the site for its local day; the day of the month it opens again (at midnight)."""
    today = datetime.now(PARIS).date()
    admin.ok("PATCH", f"sites/{site_id}/", {"closed_dates": [today.isoformat()]})
    return str((today + timedelta(days=1)).day)


def reopens(day: str) -> str:
    """The pattern of "Réouverture le lundi 7 décembre à 00:00." for that day of the month."""
    return rf"Réouverture le \w+ {day} \S+ à 00:00\."


def test_the_kiosk_of_a_closed_site_says_when_it_opens_again(paris_page: Page, admin: Session):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    paris_page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk, lang="fr"))
    button = paris_page.locator("button.choice", has_text="Queue A")
    expect(button).to_be_visible()

    day = close_for_today(admin, floor.site["id"])
    button.click()

    expect(paris_page.get_by_test_id("kiosk-error")).to_have_text(
        re.compile(rf"^Désolé, nous sommes fermés pour le moment\. {reopens(day)}$")
    )
    expect(paris_page.get_by_test_id("ticket-number")).to_be_hidden()
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0


def test_the_join_page_shows_a_closed_site_and_a_join_refused_meanwhile(
    paris_page: Page, admin: Session
):
    floor = open_floor(admin)
    admin.settle("directory")
    paris_page.goto(f"/join/{admin.tenant.slug}/{floor.site['id']}?lang=fr")
    expect(paris_page.get_by_test_id("site-state")).to_have_text("Ouvert en ce moment")

    # The site closes while the customer fills in the form: the join is refused in words.
    day = close_for_today(admin, floor.site["id"])
    paris_page.get_by_role("button", name="Prendre mon ticket").click()
    expect(paris_page.get_by_test_id("join-error")).to_have_text(
        re.compile(rf"^Le site est fermé pour le moment\. {reopens(day)}$")
    )
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0

    # Loaded again, the page shows it closed, with when it opens, and offers no join.
    paris_page.reload()
    expect(paris_page.get_by_test_id("site-state")).to_have_text(
        re.compile(rf"^Fermé en ce moment : pas de ticket à distance\. {reopens(day)}$")
    )
    expect(paris_page.get_by_role("button", name="Prendre mon ticket")).to_be_disabled()
