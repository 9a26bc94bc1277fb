"""The kiosk's "I have an appointment" entry in headless Chromium against a real ``smartqueue
api``: the booking code checks the appointment in and shows its ticket; an unknown code, a code
too early and a second check-in are told in words, in French and English."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.pages.conftest import device_page_url, new_page, register_device
from tests.e2e.support import Session, open_floor
from tests.e2e.test_check_in import book, next_slot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def _check_in(
    page: Page, code: str, entry: str = "I have an appointment", submit: str = "Check in"
):
    page.get_by_role("button", name=entry).click()
    page.get_by_role("textbox").fill(code)
    page.get_by_role("button", name=submit, exact=True).click()


def test_a_booking_code_typed_at_the_kiosk_checks_in_and_shows_the_ticket(
    page: Page, admin: Session
):
    floor = open_floor(admin, code="KC")
    appointment = book(admin, floor, next_slot())
    kiosk = register_device(admin, floor.site["id"], "kiosk", "Entrance")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))

    _check_in(page, appointment["code"].lower())

    number = page.get_by_test_id("ticket-number")
    expect(number).to_have_text(re.compile(r"^KC-\d{3}$"))
    expect(page.get_by_test_id("ticket-note")).to_contain_text("checked in for your")
    expect(page.locator("#ticket-queue")).to_have_text("Queue KC")
    checked = admin.ok("GET", f"appointments/{appointment['id']}/")
    assert checked["status"] == "checked_in" and checked["placement"] == "booked_time"
    ticket = admin.ticket(checked["ticket_id"])
    assert (ticket["number"], ticket["channel"], ticket["status"]) == (
        number.inner_text(),
        "kiosk",
        "waiting",
    )

    # The same code again: already checked in, and no second ticket.
    page.get_by_role("button", name="Done").click()
    _check_in(page, appointment["code"])
    expect(page.get_by_test_id("check-in-error")).to_have_text(
        "This appointment is already checked in: watch the screens for your number."
    )
    expect(number).to_be_hidden()
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_an_unknown_or_early_code_is_refused_in_words_in_french(
    browser: Browser, api_url: str, admin: Session
):
    floor = open_floor(admin, code="KE")
    tomorrow = datetime.fromisoformat(next_slot()) + timedelta(days=1)
    early = book(admin, floor, tomorrow.isoformat())
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    # The kiosk stands at its site: its clock is the site's (Europe/Paris).
    page, problems = new_page(browser, api_url, timezone=floor.site["timezone"])
    try:
        _early_and_unknown_codes(page, admin, floor, early, kiosk)
    finally:
        page.context.close()
    assert problems.errors == []


def _early_and_unknown_codes(page: Page, admin: Session, floor, early: dict, kiosk: dict):
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk, lang="fr"))

    _check_in(page, "KE-ZZZZZ", entry="J'ai un rendez-vous", submit="Enregistrer mon arrivée")
    error = page.get_by_test_id("check-in-error")
    expect(error).to_have_text(
        "Aucun rendez-vous aujourd'hui avec ce code. Vérifiez-le, ou adressez-vous à l'accueil."
    )

    page.get_by_role("textbox").fill(early["code"])
    page.get_by_role("button", name="Enregistrer mon arrivée").click()
    expect(error).to_contain_text("Il est trop tôt pour enregistrer votre arrivée")
    opens = datetime.fromisoformat(early["start"]) - timedelta(minutes=30)
    expect(error).to_contain_text(f"{opens.hour:02d}:{opens.minute:02d}")
    page.get_by_role("button", name="Switch to English").click()
    expect(error).to_contain_text("It is too early to check in. You can check in from")

    page.get_by_role("button", name="Back").click()
    expect(page.locator("button.choice", has_text="Queue KE")).to_be_visible()
    assert admin.ok("GET", f"appointments/{early['id']}/")["status"] == "booked"
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0
