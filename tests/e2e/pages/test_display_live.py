"""The hall display in headless Chromium on the live fan-out (relay, broker, display gateway,
API processes with WebSockets): a call made through the API shows within 2 s, and after its API
process restarts the display reconnects and shows what happened while it was down."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Live, _free_port, running_api
from tests.e2e.pages.conftest import PageProblems, device_page_url, new_page, register_device
from tests.e2e.support import Session, open_floor

pytestmark = pytest.mark.e2e

CALL_SHOWN_SECONDS = 2.0
LATE_MS = 20_000  # how long a late call is still waited for, so a failure says how late
RECONNECT_MS = 30_000  # the API's start-up plus the 5 s back-off cap, with room


def shown_soon(number: Locator, text: str, since: float) -> None:
    """``number`` shows ``text`` within :data:`CALL_SHOWN_SECONDS` of ``since``; when it comes
    later, the failure says how much later (or that it never came)."""
    expect(number).to_have_text(text, timeout=LATE_MS)
    shown_after = time.monotonic() - since
    assert shown_after < CALL_SHOWN_SECONDS, f"{text} shown after {shown_after:.2f} s"


class DisplayScreen:
    """What a test reads off the display page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.status = page.locator("#status")
        self.latest = page.get_by_test_id("now-serving").locator(".latest")
        self.now_serving = page.get_by_test_id("now-serving")

    def waiting(self, queue_id: str):
        return self.page.get_by_test_id("queues").locator(f'[data-queue-id="{queue_id}"] .waiting')


def _open_display(browser: Browser, base_url: str, admin: Session, site_id: str, **query: str):
    display = register_device(admin, site_id, "display", "Hall")
    page, problems = new_page(browser, base_url)
    page.goto(device_page_url("display", admin.tenant.slug, display, **query))
    return page, problems


def _close(page: Page, problems: PageProblems) -> None:
    page.context.close()
    assert problems.errors == [], problems.errors


def test_a_ticket_called_through_the_api_appears_on_the_display_within_2_s(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    admin.issue(queue_id)
    admin.issue(queue_id)
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="2")
    page, problems = _open_display(browser, live.api_url, admin, floor.site["id"])
    try:
        screen = DisplayScreen(page)
        expect(screen.status).to_have_attribute("data-state", "live")
        expect(screen.waiting(queue_id)).to_have_text("2 waiting")

        started = time.monotonic()
        called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        shown_soon(screen.latest.locator(".number"), called["number"], started)
        expect(screen.latest.locator(".counter")).to_have_text("Counter 2")
        expect(page.get_by_test_id("announcer")).to_have_text(
            f"Ticket {called['number']}, please go to counter 2"
        )
        expect(screen.waiting(queue_id)).to_have_text("1 waiting")
        expect(screen.status).to_have_attribute("data-state", "live")
    finally:
        _close(page, problems)


def test_after_an_api_restart_the_display_reconnects_and_shows_the_calls_it_missed(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    for _ in range(3):
        admin.issue(queue_id)
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="5")
    port = _free_port()
    with live.api(port) as base_url:
        page, problems = _open_display(browser, base_url, admin, floor.site["id"])
        screen = DisplayScreen(page)
        expect(screen.status).to_have_attribute("data-state", "live")
        first = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        expect(screen.latest.locator(".number")).to_have_text(first["number"])
    try:
        # The display's API process is gone: the last state stays on screen.
        expect(screen.status).to_have_attribute("data-state", "reconnecting")
        expect(screen.latest.locator(".number")).to_have_text(first["number"])
        # Meanwhile, through another API process: the first is served, the next one called.
        agent.ok("POST", f"tickets/{first['id']}/start/")
        agent.ok("POST", f"tickets/{first['id']}/close/")
        second = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})

        with live.api(port):
            expect(screen.status).to_have_attribute("data-state", "live", timeout=RECONNECT_MS)
            expect(screen.latest.locator(".number")).to_have_text(second["number"])
            expect(screen.now_serving).not_to_contain_text(first["number"])
            expect(page.get_by_test_id("last-calls")).to_contain_text(first["number"])
            expect(screen.waiting(queue_id)).to_have_text("1 waiting")
            # And it is live again: the next call arrives over the new socket.
            agent.ok("POST", f"tickets/{second['id']}/start/")
            agent.ok("POST", f"tickets/{second['id']}/close/")
            started = time.monotonic()
            third = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
            shown_soon(screen.latest.locator(".number"), third["number"], started)
            expect(screen.waiting(queue_id)).to_have_text("0 waiting")
    finally:
        _close(page, problems)


def test_the_display_signs_in_again_before_its_token_expires_and_stays_live(
    browser: Browser, live: Live, admin: Session
):
    """Tokens of 6 s: the page signs in again at 80 % of that; the socket opened with the old
    token is closed (4401) when it expires, and the page reconnects with a ticket of the new one.
    """
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    for _ in range(2):
        admin.issue(queue_id)
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="9")
    short_tokens = {**live.env, "SMARTQUEUE_TOKEN_TTL_SECONDS": "6"}
    with running_api(live.database_url, live.redis_url, live.home, None, **short_tokens) as url:
        page, problems = _open_display(browser, url, admin, floor.site["id"])
        try:
            screen = DisplayScreen(page)
            expect(screen.status).to_have_attribute("data-state", "live")
            signed_in = page.evaluate(
                "performance.getEntriesByType('resource').filter("
                "entry => entry.name.endsWith('/auth/device/')).length"
            )
            page.wait_for_timeout(14_000)  # two token lifetimes

            expect(screen.status).to_have_attribute("data-state", "live", timeout=10_000)
            again = page.evaluate(
                "performance.getEntriesByType('resource').filter("
                "entry => entry.name.endsWith('/auth/device/')).length"
            )
            assert again >= signed_in + 2, (signed_in, again)
            expect(page.get_by_test_id("setup-error")).to_have_count(0)
            started = time.monotonic()
            called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
            shown_soon(screen.latest.locator(".number"), called["number"], started)
        finally:
            _close(page, problems)


def test_a_counter_display_shows_only_the_ticket_at_its_counter(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    for _ in range(3):
        admin.issue(queue_id)
    here = admin.add_agent([queue_id])
    here.set_status("available", counter="3")
    elsewhere = admin.add_agent([queue_id])
    elsewhere.set_status("available", counter="7")
    page, problems = _open_display(browser, live.api_url, admin, floor.site["id"], counter="3")
    try:
        screen = DisplayScreen(page)
        expect(screen.status).to_have_attribute("data-state", "live")
        expect(page.locator("#now-title")).to_have_text("Counter 3")
        expect(page).to_have_title("Counter 3 · SmartQueue")
        expect(page.get_by_test_id("last-calls")).to_be_hidden()
        expect(page.get_by_test_id("queues")).to_be_hidden()
        idle = page.locator("#now-empty")
        expect(idle).to_have_text("No ticket at this counter")

        other = elsewhere.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        started = time.monotonic()
        mine = here.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        shown_soon(screen.latest.locator(".number"), mine["number"], started)
        expect(page.get_by_test_id("announcer")).to_have_text(
            f"Ticket {mine['number']}, please go to counter 3"
        )
        expect(screen.now_serving.locator("li")).to_have_count(1)
        expect(screen.now_serving).not_to_contain_text(other["number"])
        expect(idle).to_be_hidden()

        # Served and closed: the counter is free again, though counter 7 still has its ticket.
        here.ok("POST", f"tickets/{mine['id']}/start/")
        here.ok("POST", f"tickets/{mine['id']}/close/")
        expect(idle).to_be_visible(timeout=CALL_SHOWN_SECONDS * 1000)
        expect(screen.now_serving.locator("li")).to_have_count(0)

        page.locator("#lang-toggle").click()
        expect(page.locator("#now-title")).to_have_text("Guichet 3")
        expect(idle).to_have_text("Aucun ticket à ce guichet")
    finally:
        _close(page, problems)
