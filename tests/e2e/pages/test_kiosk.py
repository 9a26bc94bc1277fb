"""The kiosk page in headless Chromium against a real ``smartqueue api``: provisioning by the
URL fragment, a tap that issues a ticket the API knows, French and English, refusals shown in
words, and a double tap that is one ticket."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages.conftest import device_page_url, new_page, register_device
from tests.e2e.support import ReadModels, Session, open_floor

pytestmark = pytest.mark.e2e


def _queue_button(page: Page, name: str):
    return page.locator("button.choice", has_text=name)


def test_a_tap_on_a_service_issues_a_ticket_the_api_knows(
    page: Page, admin: Session, projections: ReadModels
):
    floor = open_floor(admin)
    admin.issue(floor.queue["id"])  # someone is already waiting
    kiosk = register_device(admin, floor.site["id"], "kiosk", "Entrance")

    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))
    _queue_button(page, "Queue A").click()

    number = page.get_by_test_id("ticket-number")
    expect(number).to_have_text(re.compile(r"^A-\d{3}$"))
    expect(page.get_by_test_id("ticket-position")).to_have_text("Your position in line: 2")
    admin.settle()
    issued = admin.list(f"tickets/?queue_id={floor.queue['id']}")
    mine = [ticket for ticket in issued if ticket["number"] == number.inner_text()]
    assert len(mine) == 1, issued
    ticket = admin.ticket(mine[0]["id"])
    assert (ticket["status"], ticket["position"], ticket["channel"]) == ("waiting", 2, "kiosk")
    # The secret left the address bar and lives in the page's storage.
    assert "#" not in page.url and "secret" not in page.url
    stored = page.evaluate(f"localStorage.getItem('smartqueue:kiosk:{admin.tenant.slug}')")
    assert kiosk["secret"] in stored
    # The kiosk pinged: it shows as online to managers.
    device = admin.ok("GET", f"devices/{kiosk['device']['id']}/")
    assert device["online"] is True and device["last_seen_at"] is not None
    # Back to the start by itself, ready for the next customer.
    expect(page.locator("#start")).to_be_visible(timeout=15_000)
    expect(number).to_be_hidden()


def test_the_kiosk_speaks_french_or_english_as_asked(
    browser: Browser, api_url: str, admin: Session
):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")

    french, problems = new_page(browser, api_url, locale="en-GB")
    try:
        french.goto(device_page_url("kiosk", admin.tenant.slug, kiosk, lang="fr"))
        expect(french.locator("h2#choose-title")).to_have_text("Choisissez un service")
        expect(french.locator("html")).to_have_attribute("lang", "fr")
        expect(_queue_button(french, "Queue A")).to_be_visible()
        french.get_by_role("button", name="Switch to English").click()
        expect(french.locator("h2#choose-title")).to_have_text("Choose a service")
        expect(french.locator("html")).to_have_attribute("lang", "en")
        assert "lang=en" in french.url
        _queue_button(french, "Queue A").click()
        expect(french.get_by_test_id("ticket-position")).to_have_text("You are next in line")
        french.get_by_role("button", name="Passer en français").click()
        expect(french.get_by_test_id("ticket-position")).to_have_text("Vous êtes le prochain")
    finally:
        french.context.close()
    assert problems.errors == []

    # No ?lang=: the browser's language decides.
    browser_french, problems = new_page(browser, api_url, locale="fr-FR")
    try:
        browser_french.goto(device_page_url("kiosk", admin.tenant.slug, kiosk, lang=None))
        expect(browser_french.locator("h2#choose-title")).to_have_text("Choisissez un service")
        expect(browser_french.locator("html")).to_have_attribute("lang", "fr")
    finally:
        browser_french.context.close()
    assert problems.errors == []


def test_a_paused_queue_shows_the_refusal_in_words_and_issues_nothing(page: Page, admin: Session):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk, lang="fr"))
    button = _queue_button(page, "Queue A")
    expect(button).to_be_visible()

    admin.ok("POST", f"queues/{floor.queue['id']}/pause/")
    button.click()

    expect(page.get_by_test_id("kiosk-error")).to_have_text(
        "Désolé, ce service ne délivre pas de tickets pour le moment. Adressez-vous à l'accueil."
    )
    expect(page.get_by_test_id("ticket-number")).to_be_hidden()
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0
    # Resumed: the next tap (a new intent, so a new Idempotency-Key) gets a ticket.
    admin.ok("POST", f"queues/{floor.queue['id']}/resume/")
    button.click()
    expect(page.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^A-\d{3}$"))
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_a_double_tap_issues_one_ticket(page: Page, admin: Session):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))

    _queue_button(page, "Queue A").dblclick()

    expect(page.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^A-\d{3}$"))
    page.wait_for_timeout(500)  # room for a second request, had one been sent
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_a_retried_tap_replays_the_same_ticket_through_its_idempotency_key(
    page: Page, admin: Session
):
    """The network lost the first answer: the retry carries the same key and shows the ticket the
    first request made, instead of a second one."""
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))
    keys: list[str] = []

    def lose_first_answer(route):
        keys.append(route.request.headers["idempotency-key"])
        response = route.fetch()  # the server handles it...
        if len(keys) == 1:
            route.abort("connectionreset")  # ...but the kiosk never hears back
        else:
            route.fulfill(response=response)

    page.route("**/tickets/", lose_first_answer)
    button = _queue_button(page, "Queue A")
    button.click()
    expect(page.get_by_test_id("kiosk-error")).to_have_text(
        "Connection problem. Please try again in a moment."
    )
    button.click()

    expect(page.get_by_test_id("ticket-number")).to_have_text("A-001")
    assert len(keys) == 2 and keys[0] == keys[1]
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_without_credentials_the_kiosk_asks_for_them_and_refuses_a_wrong_secret(
    page: Page, admin: Session
):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("kiosk", admin.tenant.slug, None))

    page.get_by_label("Device id").fill(kiosk["device"]["id"])
    page.get_by_label("Secret").fill("not-the-secret")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("setup-error")).to_have_text(
        "The device id or secret was refused. Check them, or ask for a new secret."
    )

    page.get_by_label("Device id").fill(kiosk["device"]["id"])
    page.get_by_label("Secret").fill(kiosk["secret"])
    page.get_by_role("button", name="Sign in").click()
    expect(_queue_button(page, "Queue A")).to_be_visible()


def test_a_display_s_credentials_do_not_make_a_kiosk(page: Page, admin: Session):
    floor = open_floor(admin)
    display = register_device(admin, floor.site["id"], "display")
    page.goto(device_page_url("kiosk", admin.tenant.slug, display))
    expect(page.get_by_test_id("setup-error")).to_have_text(
        "This device is registered as a display: open the display page instead."
    )


def test_a_queue_serving_two_services_offers_each_and_issues_under_the_one_chosen(
    page: Page, admin: Session
):
    floor = open_floor(admin)
    second = admin.add_service("L", name="Loans")
    both = admin.ok(
        "PATCH",
        f"queues/{floor.queue['id']}/",
        {"service_ids": [floor.service["id"], second["id"]]},
    )
    assert len(both["service_ids"]) == 2
    kiosk = register_device(admin, floor.site["id"], "kiosk")

    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))
    expect(page.locator("button.choice")).to_have_count(2)
    loans = page.locator("button.choice", has_text="Loans")
    expect(loans).to_contain_text("Queue A")  # the queue is named under the service
    loans.click()

    number = page.get_by_test_id("ticket-number")
    expect(number).to_have_text(re.compile(r"^L-\d{3}$"))  # the chosen service's numbering
