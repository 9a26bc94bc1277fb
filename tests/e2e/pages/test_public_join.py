"""The public join and "my ticket" pages in headless Chromium against a real ``smartqueue api``:
join from a site's join page, follow the position, get called by an agent over the API (the page
shows the counter), ask for more time and cancel, in English and French; a ticket's link shows
that ticket only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages.conftest import new_page
from tests.e2e.support import API, Session, open_floor

# The join page reads its site's open queues from the directory read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

POLL_TIMEOUT_MS = 15_000
TOKEN_URL = re.compile(r"/t/[A-Za-z0-9_-]+\?lang=(en|fr)$")


def join_page(admin: Session) -> tuple[str, dict]:
    floor = open_floor(admin)
    admin.settle("directory")
    return f"/join/{admin.tenant.slug}/{floor.site['id']}", floor.queue


def join_over_api(admin: Session, site_path: str, service_id: str) -> str:
    """A ticket taken remotely by someone else: its token."""
    _, _, slug, site_id = site_path.split("/")
    response = admin.client.post(
        f"{API}/public/{slug}/sites/{site_id}/join/", json={"service_id": service_id}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def test_a_customer_joins_follows_the_line_and_sees_the_counter_when_called(
    page: Page, admin: Session
):
    path, queue = join_page(admin)
    ahead = admin.issue(queue["id"])  # someone already waits

    page.goto(f"{path}?lang=en")
    expect(page.get_by_test_id("site-name")).to_have_text("Head office")
    page.get_by_label("Your name (optional)").fill("Ada")
    page.get_by_role("button", name="Get my ticket").click()

    page.wait_for_url(TOKEN_URL)
    expect(page.get_by_test_id("ticket-number")).to_have_text("A-002")
    expect(page.get_by_test_id("ticket-position")).to_have_text("Your position in line: 2")
    assert "Ada" not in page.content()

    agent = admin.add_agent([queue["id"]])
    agent.set_status("available", counter="5")
    assert agent.ok("POST", "agents/call-next/", {"queue_id": queue["id"]})["id"] == ahead["id"]
    expect(page.get_by_test_id("ticket-position")).to_have_text(
        "You are next in line", timeout=POLL_TIMEOUT_MS
    )

    assert agent.act(ahead["id"], "start").status_code == 200
    assert agent.act(ahead["id"], "close").status_code == 200
    assert agent.ok("POST", "agents/call-next/", {"queue_id": queue["id"]})["number"] == "A-002"
    expect(page.get_by_test_id("ticket-call")).to_have_text(
        "It's your turn! Please go to counter 5", timeout=POLL_TIMEOUT_MS
    )
    expect(page.get_by_role("button", name="Cancel my ticket")).to_be_hidden()


def test_a_customer_asks_for_more_time_then_cancels_in_french(
    browser: Browser, api_url: str, admin: Session
):
    path, queue = join_page(admin)
    service_id = queue["service_ids"][0]
    french, problems = new_page(browser, api_url, locale="fr-FR")
    try:
        french.goto(path)
        french.get_by_label(
            "Votre numéro de mobile (facultatif, avec l'indicatif, ex. +33 6 12 34 56 78)"
        ).fill("12")
        french.get_by_role("button", name="Prendre mon ticket").click()
        expect(french.get_by_test_id("join-error")).to_contain_text("n'est pas valide")

        french.get_by_label(re.compile("Votre numéro de mobile")).fill("")
        french.get_by_role("button", name="Prendre mon ticket").click()
        french.wait_for_url(TOKEN_URL)
        for _ in range(3):
            join_over_api(admin, path, service_id)
        expect(french.get_by_test_id("ticket-position")).to_have_text(
            "Vous êtes le prochain", timeout=POLL_TIMEOUT_MS
        )

        french.get_by_role("button", name="J'ai besoin de plus de temps").click()
        expect(french.get_by_test_id("ticket-error")).to_have_text(
            "Vous avez été reculé : vous êtes maintenant numéro 4 dans la file"
        )
        expect(french.get_by_test_id("ticket-position")).to_have_text(
            "Votre position dans la file : 4"
        )
        expect(french.get_by_role("button", name="J'ai besoin de plus de temps")).to_be_disabled()

        french.get_by_role("button", name="Annuler mon ticket").click()
        expect(french.get_by_test_id("ticket-call")).to_have_text("Votre ticket est annulé")
        assert problems.errors == [], problems.errors
    finally:
        french.context.close()


def test_another_tickets_link_shows_nothing_of_this_one(page: Page, admin: Session):
    path, queue = join_page(admin)
    service_id = queue["service_ids"][0]
    mine = join_over_api(admin, path, service_id)
    theirs = join_over_api(admin, path, service_id)

    page.goto(f"/t/{theirs}?lang=en")
    expect(page.get_by_test_id("ticket-number")).to_have_text("A-002")
    expect(page.get_by_test_id("ticket-position")).to_have_text("Your position in line: 2")
    assert "A-001" not in page.content()

    forged = mine[:-3] + ("AAA" if not mine.endswith("AAA") else "BBB")
    page.goto(f"/t/{forged}?lang=en")
    expect(page.get_by_test_id("ticket-error")).to_have_text(
        "This ticket link is not valid or has expired."
    )
    expect(page.get_by_test_id("ticket-number")).to_be_hidden()
