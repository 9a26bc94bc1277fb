"""The agent console in headless Chromium: an agent signs in, takes a counter and queues, and
runs a ticket cycle by keys while the live fan-out (relay, broker, gateway) brings the tickets
the test issues through the API; a transfer leaves the agent and lengthens the target queue live;
refusals are shown in words, in French for a French browser. The page over plain HTTP too."""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Live, running_api
from tests.e2e.pages.conftest import PageProblems, new_page
from tests.e2e.support import PASSWORD, ReadModels, Session, open_floor

pytestmark = pytest.mark.e2e

LIVE_MS = 5_000  # a change made through the API shows on the page well within this


class Console:
    """What a test does on and reads off the console page."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.error = page.get_by_test_id("console-error")
        self.info = page.get_by_test_id("console-info")
        self.number = page.get_by_test_id("ticket-number")
        self.ticket_status = page.get_by_test_id("ticket-status")
        self.status = page.locator("#status")

    def sign_in(self, email: str) -> None:
        self.page.get_by_label(re.compile("^(Email|E-mail)$")).fill(email)
        self.page.get_by_label(re.compile("^(Password|Mot de passe)$")).fill(PASSWORD)
        self.page.locator("#sign-in-submit").click()
        expect(self.page.locator("#console")).to_be_visible()

    def queue(self, queue_id: str):
        return self.page.get_by_test_id("my-queues").locator(f'[data-queue-id="{queue_id}"]')

    def key(self, key: str) -> None:
        self.page.keyboard.press(key)


def _open(browser: Browser, base_url: str, slug: str, locale: str = "en-GB", lang: str = "en"):
    page, problems = new_page(browser, base_url, locale=locale)
    page.goto(f"/console/{slug}/" + (f"?lang={lang}" if lang else ""))
    return page, problems


def _close(page: Page, problems: PageProblems) -> None:
    page.context.close()
    assert problems.errors == [], problems.errors


def test_an_agent_runs_a_ticket_cycle_by_keys_and_a_transfer_shows_live(
    browser: Browser, live: Live, admin: Session
):
    floor = open_floor(admin)
    queue_a = floor.queue["id"]
    service_b = admin.add_service("B")
    queue_b = admin.open_queue(floor.site["id"], [service_b["id"]], name="Queue B")["id"]
    agent = admin.add_user("agent")
    admin.settle("directory")
    page, problems = _open(browser, live.api_url, admin.tenant.slug)
    try:
        console = Console(page)
        console.sign_in(agent["email"])
        expect(console.status).to_have_attribute("data-state", "live", timeout=LIVE_MS)

        page.get_by_label("Counter").fill("7")
        page.get_by_role("button", name="Set counter").click()
        expect(console.info).to_have_text("You are now at counter 7.")
        page.get_by_role("button", name="Available").click()
        expect(page.get_by_test_id("agent-status")).to_have_text("Available")
        page.get_by_label("Queue A").check()
        page.get_by_label("Queue B").check()
        page.get_by_role("button", name="Save my queues").click()
        expect(console.info).to_have_text("Your queues are saved.")
        expect(console.queue(queue_a).locator(".waiting")).to_have_text("0 waiting")
        expect(console.queue(queue_b).locator(".waiting")).to_have_text("0 waiting")
        # The socket was closed (4409: my queues changed) and follows the new ones.
        expect(console.status).to_have_attribute("data-state", "live", timeout=LIVE_MS)

        issued = admin.issue(queue_a)
        expect(console.queue(queue_a).locator(".waiting")).to_have_text(
            "1 waiting", timeout=LIVE_MS
        )
        expect(console.queue(queue_a).locator(".next")).to_have_text(f"Next: {issued['number']}")

        page.get_by_role("heading", name="Actions").click()  # focus out of every field
        console.key("n")
        expect(console.number).to_have_text(issued["number"])
        expect(console.ticket_status).to_have_text("Called")
        expect(page.get_by_test_id("ticket-service")).to_have_text("Service: Service A")
        expect(page.get_by_test_id("ticket-waited")).to_have_text("Waited less than a minute")
        expect(console.queue(queue_a).locator(".waiting")).to_have_text("0 waiting")
        console.key("s")
        expect(console.ticket_status).to_have_text("Being served")
        console.key("c")
        expect(console.info).to_have_text(f"Ticket {issued['number']} closed.")
        expect(console.number).to_be_hidden()
        ticket = admin.ticket(issued["id"])
        assert ticket["status"] == "completed"
        assert ticket["counter"] == "7"

        # A second ticket, called by key and transferred to queue B: it leaves the agent and
        # queue B's length changes over the socket.
        second = admin.issue(queue_a)
        expect(console.queue(queue_a).locator(".waiting")).to_have_text(
            "1 waiting", timeout=LIVE_MS
        )
        console.key("n")
        expect(console.number).to_have_text(second["number"])
        console.key("t")
        target = page.get_by_label("To queue")
        expect(target).to_be_focused()
        target.select_option(label="Queue B")
        page.get_by_label("Place in that queue").select_option("first")
        page.get_by_role("button", name="Transfer", exact=True).press("Enter")
        expect(console.info).to_have_text(f"Ticket {second['number']} transferred to Queue B.")
        expect(console.number).to_be_hidden()
        expect(console.queue(queue_b).locator(".waiting")).to_have_text(
            "1 waiting", timeout=LIVE_MS
        )
        expect(console.queue(queue_b).locator(".next")).to_have_text(f"Next: {second['number']}")
        moved = admin.ticket(second["id"])
        assert (moved["status"], moved["queue_id"]) == ("waiting", queue_b)
        expect(console.error).to_be_hidden()
    finally:
        _close(page, problems)


def test_refusals_are_shown_in_words_and_shortcuts_do_not_fire_while_typing(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels
):
    floor = open_floor(admin)
    agent = admin.add_user("agent", [floor.queue["id"]])
    admin.settle("directory")
    page, problems = _open(browser, api_url, admin.tenant.slug)
    try:
        console = Console(page)
        console.sign_in(agent["email"])
        expect(page.get_by_test_id("shortcuts")).to_contain_text("Call next")

        page.get_by_role("heading", name="Actions").click()
        console.key("n")  # an agent starts offline: 409 agent_unavailable
        expect(console.error).to_have_text(
            "You are on break or offline: set your status to Available first."
        )
        page.get_by_role("button", name="Available").click()
        expect(console.error).to_be_hidden()
        page.get_by_role("heading", name="Actions").click()
        console.key("n")  # 204: nobody waits
        expect(console.error).to_have_text("Nobody is waiting in your queues.")

        # Typing an "n" in a field types it; it calls nobody.
        admin.issue(floor.queue["id"])
        page.get_by_label("Counter").fill("")
        page.get_by_label("Counter").press("n")
        expect(page.get_by_label("Counter")).to_have_value("n")
        expect(console.number).to_be_hidden()

        # An agent chooses their own queues (PUT agents/me/queues/).
        page.get_by_role("button", name="Save my queues").click()
        expect(console.info).to_have_text("Your queues are saved.")
        expect(console.error).to_be_hidden()
    finally:
        _close(page, problems)


def test_the_french_page_shows_french_labels_and_french_errors(
    browser: Browser, api_url: str, admin: Session, projections: ReadModels
):
    floor = open_floor(admin)
    agent = admin.add_user("agent", [floor.queue["id"]])
    admin.settle("directory")
    page, problems = _open(browser, api_url, admin.tenant.slug, locale="fr-FR", lang="")
    try:
        console = Console(page)
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        page.get_by_label("Mot de passe").fill("wrong password")
        page.get_by_label("E-mail").fill(agent["email"])
        page.get_by_role("button", name="Se connecter").click()
        expect(console.error).to_have_text("E-mail ou mot de passe incorrect.")

        console.sign_in(agent["email"])
        expect(page.get_by_role("heading", name="Console agent")).to_be_visible()
        expect(page.get_by_role("button", name="Appeler le suivant")).to_be_visible()
        expect(page.get_by_test_id("shortcuts")).to_contain_text("Clôturer")
        page.get_by_role("button", name="Disponible").click()
        page.get_by_role("heading", name="Actions").click()
        console.key("n")
        expect(console.error).to_have_text("Personne n'attend dans vos files.")

        page.get_by_role("button", name="English").click()
        expect(page.get_by_role("heading", name="Agent console")).to_be_visible()
        expect(console.error).to_have_text("Nobody is waiting in your queues.")
    finally:
        _close(page, problems)


def test_the_console_renews_its_token_and_stays_signed_in_across_a_reload(
    browser: Browser,
    database_url: str,
    redis_url: str,
    e2e_home: Path,
    admin: Session,
    projections: ReadModels,
):
    """Tokens of 4 s: the page renews them before they expire (and on a 401), so an action
    after two lifetimes still works; the tab keeps them, so a reload needs no new sign-in."""
    floor = open_floor(admin)
    agent = admin.add_user("agent", [floor.queue["id"]])
    admin.settle("directory")
    short = {"SMARTQUEUE_TOKEN_TTL_SECONDS": "4"}
    with running_api(database_url, redis_url, e2e_home, None, **short) as base_url:
        page, problems = _open(browser, base_url, admin.tenant.slug)
        try:
            console = Console(page)
            console.sign_in(agent["email"])
            time.sleep(8)
            page.get_by_role("button", name="Available").click()
            expect(console.info).to_have_text("Your status is now: Available.")
            page.reload()
            expect(page.locator("#console")).to_be_visible()
            expect(page.get_by_test_id("agent-status")).to_have_text("Available")
            expect(page.locator("#sign-in")).to_be_hidden()
            expect(console.error).to_be_hidden()
        finally:
            _close(page, problems)


def test_the_console_page_is_served_and_an_impossible_slug_is_not_found(http: httpx.Client):
    for path in ("/console/demo-bank/", "/console/demo-bank"):
        response = http.get(path)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-cache"
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', response.text)
    assert {asset.rsplit("/", 1)[1] for asset in assets} == {"console.css", "console.js"}
    for asset in assets:
        served = http.get(asset)
        assert served.status_code == 200
        assert "immutable" in served.headers["cache-control"]
    prefix = assets[0].rsplit("/", 1)[0]
    for module in ("console.api.js", "console.live.js", "console.i18n.js"):
        assert http.get(f"{prefix}/{module}").status_code == 200, module

    refused = http.get("/console/Not_A_Slug/")
    assert refused.status_code == 404
    assert refused.headers["content-type"].startswith("application/problem+json")
