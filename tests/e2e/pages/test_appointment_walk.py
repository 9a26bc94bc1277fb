"""The "my appointment" page and the walk of issue 15 in headless Chromium against a real
``smartqueue api``: a customer moves then cancels an appointment from its link, checks in from
it when the window is open, and it shows the QR code of ``SQ1:{booking code}`` for the kiosk's
scanner; and the whole visit: booked on the booking page, checked in at the kiosk with the code,
called, served and completed by staff over the API, then feedback given
from its link and read by staff."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from application.public_booking import check_in_payload
from interfaces.http.join_qr import qr_svg
from tests.e2e.conftest import running_api
from tests.e2e.pages.conftest import device_page_url, new_page, register_device
from tests.e2e.pages.test_booking_page import (
    CODE,
    GENEROUS_LIMITS,
    booking_floor,
    first_time,
)
from tests.e2e.support import API, Session, assert_problem, login
from tests.e2e.test_check_in import next_slot, slot_in
from tests.e2e.test_feedback import feedback_token

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


@pytest.fixture(scope="module")
def api_url(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """This module's own API process (the pages and ``admin`` talk to it)."""
    with running_api(database_url, redis_url, e2e_home, **GENEROUS_LIMITS) as base_url:
        yield base_url


def book_publicly(admin: Session, floor, start: str) -> dict:
    """Hold and book ``start`` over the public API, as the booking page does: ``{appointment,
    token, url}``."""
    site = f"{API}/public/{admin.tenant.slug}/sites/{floor.site['id']}"
    held = admin.client.post(
        f"{site}/holds/", json={"service_id": floor.service["id"], "start": start}
    )
    assert held.status_code == 201, held.text
    body = {"hold_token": held.json()["hold_token"], "name": "Ada", "email": "ada@example.com"}
    booked = admin.client.post(f"{site}/appointments/", json=body)
    assert booked.status_code == 201, booked.text
    return booked.json()


def public_appointment(admin: Session, token: str) -> dict:
    answer = admin.client.get(f"{API}/public/appointments/{token}/")
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_customer_moves_then_cancels_the_appointment_from_its_link(page: Page, admin: Session):
    _, floor = booking_floor(admin)
    booked = book_publicly(admin, floor, slot_in(2))
    page.goto(f"{booked['url']}?lang=en")
    expect(page.get_by_test_id("appointment-code")).to_have_text(booked["appointment"]["code"])
    expect(page.get_by_test_id("appointment-what")).to_have_text("Service BK at Head office")
    # 10:00 in Paris, whatever the browser's zone: the site's time.
    when = page.get_by_test_id("appointment-when")
    expect(when).to_contain_text("10:00")
    expect(when).to_contain_text("10:15")
    expect(page.get_by_test_id("appointment-status")).to_have_text("Booked")

    page.get_by_role("button", name="Change the time").click()
    # Its own day offers every time but its own.
    original = datetime.fromisoformat(booked["appointment"]["start"])
    page.locator(f'[data-day="{original.date().isoformat()}"]').click()
    expect(first_time(page)).to_be_visible()
    own = original.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    expect(page.locator(f'[data-start="{own}"]')).to_have_count(0)
    new_time = first_time(page)
    new_start = new_time.get_attribute("data-start")
    new_time.click()
    expect(page.get_by_test_id("appointment-notice")).to_contain_text(
        "Your appointment was moved to"
    )
    moved = public_appointment(admin, booked["token"])
    assert datetime.fromisoformat(moved["start"]) == datetime.fromisoformat(new_start)
    assert moved["status"] == "rescheduled"
    expect(page.get_by_test_id("appointment-when")).to_contain_text("00:00")

    page.get_by_role("button", name="Cancel my appointment").click()
    page.get_by_role("button", name="No, keep it").click()
    assert public_appointment(admin, booked["token"])["status"] == "rescheduled"
    page.get_by_role("button", name="Cancel my appointment").click()
    page.get_by_role("button", name="Yes, cancel it").click()

    expect(page.get_by_test_id("appointment-notice")).to_have_text("Your appointment is cancelled.")
    expect(page.get_by_test_id("appointment-status")).to_have_text("Cancelled")
    expect(page.get_by_role("button", name="Change the time")).to_be_hidden()
    assert public_appointment(admin, booked["token"])["status"] == "cancelled"


def test_my_appointment_shows_the_qr_code_of_its_booking_code(page: Page, admin: Session):
    _, floor = booking_floor(admin)
    booked = book_publicly(admin, floor, slot_in(2))
    code = booked["appointment"]["code"]
    page.goto(f"{booked['url']}?lang=fr")

    qr = page.get_by_test_id("appointment-qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("alt", f"QR code de votre code de réservation {code}")
    expect(page.get_by_text("Présentez ce QR code à la borne")).to_be_visible()
    page.wait_for_function("document.querySelector('#qr').naturalWidth > 0")
    src = qr.get_attribute("src") or ""
    assert src.startswith(f"{API}/public/appointments/{booked['token']}/qr.svg"), src

    answer = admin.client.get(f"{API}/public/appointments/{booked['token']}/qr.svg")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("image/svg+xml")
    assert answer.headers["cache-control"] == "private, no-cache"
    assert answer.content == qr_svg(f"SQ1:{code}") == qr_svg(check_in_payload(code))
    assert b"Ada" not in answer.content and b"example.com" not in answer.content
    again = admin.client.get(
        f"{API}/public/appointments/{booked['token']}/qr.svg",
        headers={"If-None-Match": answer.headers["etag"]},
    )
    assert again.status_code == 304 and again.content == b""
    assert_problem(admin.client.get(f"{API}/public/appointments/not-a-token/qr.svg"), 404)


def test_a_cancel_past_the_cut_off_is_refused_in_words(page: Page, admin: Session):
    _, floor = booking_floor(admin)
    booked = book_publicly(admin, floor, slot_in(2))
    page.goto(f"{booked['url']}?lang=fr")
    expect(page.get_by_test_id("appointment-cutoff")).to_contain_text("jusqu'au")

    # The service's cut-off grows to three days while the page is open.
    rules = {"booking": {"cancel_cutoff_minutes": 3 * 24 * 60}}
    admin.ok("PATCH", f"queues/services/{floor.service['id']}/", rules)
    page.get_by_role("button", name="Annuler mon rendez-vous").click()
    page.get_by_role("button", name="Oui, l'annuler").click()

    expect(page.get_by_test_id("appointment-error")).to_have_text(
        "Il est trop tard pour modifier ou annuler ce rendez-vous en ligne. Contactez le site."
    )
    assert public_appointment(admin, booked["token"])["status"] == "booked"
    page.reload()
    expect(page.get_by_test_id("appointment-cutoff")).to_have_text(
        "Il ne peut plus être déplacé ni annulé en ligne."
    )
    expect(page.get_by_role("button", name="Annuler mon rendez-vous")).to_be_hidden()


def test_a_customer_checks_in_from_the_page_when_the_window_is_open(page: Page, admin: Session):
    _, floor = booking_floor(admin)
    later = book_publicly(admin, floor, slot_in(1))
    page.goto(f"{later['url']}?lang=en")
    expect(page.get_by_test_id("appointment-window")).to_contain_text("You can check in here")
    expect(page.get_by_role("button", name="I'm here: check in")).to_be_hidden()

    soon = book_publicly(admin, floor, next_slot())
    page.goto(f"{soon['url']}?lang=en")
    page.get_by_role("button", name="I'm here: check in").click()

    ticket = page.get_by_test_id("appointment-ticket")
    expect(ticket).to_have_text(re.compile(r"^BK-\d{3}$"))
    expect(page.get_by_test_id("appointment-status")).to_have_text("Checked in")
    expect(page.get_by_role("link", name="Follow my ticket")).to_have_attribute(
        "href", re.compile(r"^/t/[A-Za-z0-9_-]+\?lang=en$")
    )
    checked = public_appointment(admin, soon["token"])
    assert checked["status"] == "checked_in" and checked["ticket"]["number"] == ticket.inner_text()
    admin.settle()
    waiting = admin.list(f"tickets/?queue_id={floor.queue['id']}")
    assert [item["number"] for item in waiting] == [ticket.inner_text()]


def test_the_walk_book_check_in_at_the_kiosk_be_served_and_give_feedback(
    browser: Browser, api_url: str, page: Page, admin: Session, e2e_home: Path
):
    path, floor = booking_floor(admin)
    # 1. Booked on the booking page: the first free time is the next slot, inside its window.
    page.goto(f"{path}?lang=en")
    first_time(page).click()
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Your mobile number").fill("+33 6 12 34 56 78")
    page.get_by_role("button", name="Confirm my appointment").click()
    expect(page.get_by_test_id("booked-code")).to_have_text(CODE)
    code = page.get_by_test_id("booked-code").inner_text()

    # 2. Checked in at the kiosk with the code.
    kiosk_device = register_device(admin, floor.site["id"], "kiosk", "Entrance")
    kiosk, problems = new_page(browser, api_url, timezone=floor.site["timezone"])
    try:
        kiosk.goto(device_page_url("kiosk", admin.tenant.slug, kiosk_device))
        kiosk.get_by_role("button", name="I have an appointment").click()
        kiosk.get_by_label("Your booking code").fill(code)
        kiosk.get_by_role("button", name="Check in", exact=True).click()
        number = kiosk.get_by_test_id("ticket-number")
        expect(number).to_have_text(re.compile(r"^BK-\d{3}$"))
        ticket_number = number.inner_text()
    finally:
        kiosk.context.close()
    assert problems.errors == []

    # 3. The ticket is in the queue; staff call, start and complete it over the API.
    admin.settle()
    (ticket,) = admin.list(f"tickets/?queue_id={floor.queue['id']}")
    assert (ticket["number"], ticket["status"], ticket["channel"]) == (
        ticket_number,
        "waiting",
        "kiosk",
    )
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1
    agent = login(admin.client, admin.tenant, admin.add_user("agent", [floor.queue["id"]])["email"])
    agent.set_status("available", counter="Desk 1")
    assert (
        agent.ok("POST", "agents/call-next/", {"queue_id": floor.queue["id"]})["id"]
        == (ticket["id"])
    )
    assert agent.act(ticket["id"], "start").status_code == 200
    assert agent.act(ticket["id"], "close").json()["status"] == "completed"

    # 4. The feedback link of the completed visit, answered on the feedback page.
    token = feedback_token(e2e_home, admin.tenant.id, ticket["id"])
    page.goto(f"/feedback/{token}?lang=en")
    expect(page.get_by_test_id("feedback-visit")).to_contain_text(ticket_number)
    page.get_by_role("group", name=re.compile("satisfied")).get_by_label("5", exact=True).check()
    page.get_by_role("group", name=re.compile("recommend")).get_by_label("10", exact=True).check()
    page.get_by_role("button", name="Send my opinion").click()
    expect(page.get_by_test_id("feedback-done")).to_have_text(
        "Thank you! Your opinion was received."
    )

    # 5. Staff read it.
    admin.settle("feedback")
    given = admin.list(f"feedback/?site_id={floor.site['id']}")
    assert [(item["ticket_id"], item["csat"], item["nps"]) for item in given] == [
        (ticket["id"], 5, 10)
    ]


def test_a_forged_appointment_link_says_it_is_not_valid(page: Page):
    page.goto("/a/not-a-real-token?lang=en")

    expect(page.get_by_test_id("appointment-error")).to_have_text(
        "This appointment link is not valid or has expired."
    )
    expect(page.get_by_role("button", name="Cancel my appointment")).to_be_hidden()
