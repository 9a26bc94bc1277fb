"""The hall display in headless Chromium when it gets no live updates (no WebSocket ticket):
it still shows its own site's queues, waiting counts and calls from the HTTP API, announces a
new call, and says it is not live."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages.conftest import device_page_url, register_device
from tests.e2e.support import ReadModels, Session, open_floor

pytestmark = pytest.mark.e2e

POLL_WAIT_MS = 15_000  # the 5 s poll plus the tickets read model's lag, with room


def test_without_live_updates_the_display_shows_its_site_from_the_api(
    page: Page, admin: Session, projections: ReadModels
):
    floor = open_floor(admin)
    service_b = admin.add_service("B")
    queue_b = admin.open_queue(floor.site["id"], [service_b["id"]], name="Queue B")
    annex = admin.add_site("Annex")
    admin.open_queue(annex["id"], [floor.service["id"]], name="Annex queue")
    for _ in range(3):
        admin.issue(floor.queue["id"])
    admin.issue(queue_b["id"])
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="4")
    first = agent.ok("POST", "agents/call-next/", {"queue_id": floor.queue["id"]})
    display = register_device(admin, floor.site["id"], "display", "Hall")
    page.route("**/ws-tickets/", lambda route: route.abort("connectionrefused"))

    page.goto(device_page_url("display", admin.tenant.slug, display))

    queues = page.get_by_test_id("queues")
    expect(queues.locator(f'[data-queue-id="{floor.queue["id"]}"] .waiting')).to_have_text(
        "2 waiting"
    )
    expect(queues.locator(f'[data-queue-id="{queue_b["id"]}"] .waiting')).to_have_text("1 waiting")
    expect(queues).not_to_contain_text("Annex queue")  # another site's
    now_serving = page.get_by_test_id("now-serving")
    expect(now_serving.locator(".latest .number")).to_have_text(first["number"])
    expect(now_serving.locator(".latest .counter")).to_have_text("Counter 4")
    expect(page.get_by_test_id("last-calls")).to_contain_text(first["number"])
    expect(page.locator("#status")).not_to_have_attribute("data-state", "live")

    agent.ok("POST", f"tickets/{first['id']}/start/")
    agent.ok("POST", f"tickets/{first['id']}/close/")
    second = agent.ok("POST", "agents/call-next/", {"queue_id": floor.queue["id"]})

    latest = now_serving.locator(".latest")
    expect(latest.locator(".number")).to_have_text(second["number"], timeout=POLL_WAIT_MS)
    expect(latest).to_have_class("now-item latest fresh")
    expect(page.get_by_test_id("announcer")).to_have_text(
        f"Ticket {second['number']}, please go to counter 4"
    )
    expect(now_serving).not_to_contain_text(first["number"])  # completed: no longer served
    expect(page.get_by_test_id("last-calls")).to_contain_text(first["number"])
    expect(queues.locator(f'[data-queue-id="{floor.queue["id"]}"] .waiting')).to_have_text(
        "1 waiting", timeout=POLL_WAIT_MS
    )

    page.get_by_role("button", name="Passer en français").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(latest.locator(".counter")).to_have_text("Guichet 4")
    expect(page.get_by_role("heading", name="Derniers appels")).to_be_visible()
    expect(queues.locator(f'[data-queue-id="{queue_b["id"]}"] .waiting')).to_have_text(
        "1 en attente"
    )


def test_a_kiosk_s_credentials_do_not_make_a_display(page: Page, admin: Session):
    floor = open_floor(admin)
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("display", admin.tenant.slug, kiosk, lang="fr"))
    expect(page.get_by_test_id("setup-error")).to_have_text(
        "Cet appareil est enregistré comme borne : ouvrez plutôt la page « borne »."
    )
