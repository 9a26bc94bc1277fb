"""Check-in by QR code at the kiosk in headless Chromium against a real ``smartqueue api``: a
keyboard-wedge scanner typing ``SQ1:{booking code}`` and Enter at the home screen checks the
appointment in; an unknown or foreign scanned code is told in words, keys at a hand's pace keep
their old meaning, and the kiosk reads the booking code out of scanned texts. ("My appointment"
showing the QR code: ``test_appointment_walk.py``.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.pages.conftest import device_page_url, register_device
from tests.e2e.support import Session, open_floor
from tests.e2e.test_check_in import book, next_slot

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

SCANNER_DELAY_MS = 5  # a scanner types a key every few milliseconds
HAND_DELAY_MS = 250  # a quick hand on a keyboard


def scan(page: Page, text: str, delay: int = SCANNER_DELAY_MS) -> None:
    """A keyboard-wedge scanner reading ``text``: its characters, then Enter."""
    page.keyboard.type(text, delay=delay)
    page.keyboard.press("Enter")


def test_a_scan_at_the_kiosk_home_screen_checks_the_appointment_in(page: Page, admin: Session):
    floor = open_floor(admin, code="KQ")
    appointment = book(admin, floor, next_slot())
    kiosk = register_device(admin, floor.site["id"], "kiosk", "Entrance")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))
    choice = page.locator("button.choice", has_text="Queue KQ")
    choice.focus()  # the scanner's Enter must not press it (a walk-in ticket)

    scan(page, f"SQ1:{appointment['code']}")

    number = page.get_by_test_id("ticket-number")
    expect(number).to_have_text(re.compile(r"^KQ-\d{3}$"))
    expect(page.get_by_test_id("ticket-note")).to_contain_text("checked in for your")
    checked = admin.ok("GET", f"appointments/{appointment['id']}/")
    assert checked["status"] == "checked_in"
    assert admin.ticket(checked["ticket_id"])["number"] == number.inner_text()
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1

    # A scan on the ticket screen: a booking code no appointment holds, told in words.
    scan(page, "SQ1:KQ-ZZZZZ")
    error = page.get_by_test_id("check-in-error")
    expect(error).to_have_text(
        "We found no appointment today with this code. Check it, or ask at the desk."
    )
    expect(number).to_be_hidden()
    # A code of something else (a product's barcode): not a booking code, and nothing sent.
    scan(page, "4006381333931")
    expect(error).to_have_text(
        "This is not a booking code. Scan the QR code of your appointment, or type your "
        "booking code."
    )
    expect(page.get_by_role("textbox")).to_have_value("")
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_typing_at_a_hands_pace_keeps_the_keyboard_as_it_was(page: Page, admin: Session):
    floor = open_floor(admin, code="KH")
    appointment = book(admin, floor, next_slot())
    kiosk = register_device(admin, floor.site["id"], "kiosk")
    page.goto(device_page_url("kiosk", admin.tenant.slug, kiosk))
    page.locator("button.choice", has_text="Queue KH").focus()

    # Slow keys then Enter at the home screen: Enter presses the focused service, as before.
    scan(page, f"SQ1:{appointment['code']}", delay=HAND_DELAY_MS)
    expect(page.get_by_test_id("ticket-number")).to_have_text(re.compile(r"^KH-\d{3}$"))
    expect(page.get_by_test_id("ticket-note")).to_have_text("")
    assert admin.ok("GET", f"appointments/{appointment['id']}/")["status"] == "booked"

    # The code screen takes the QR code's text too (a slow scanner), and Enter still sends it.
    page.get_by_role("button", name="Done").click()
    page.get_by_role("button", name="I have an appointment").click()
    page.get_by_role("textbox").fill(f"sq1:{appointment['code']}")
    page.get_by_role("textbox").press("Enter")
    expect(page.get_by_test_id("ticket-note")).to_contain_text("checked in for your")
    assert admin.ok("GET", f"appointments/{appointment['id']}/")["status"] == "checked_in"


SCANNED_TEXTS = {
    "SQ1:DEP-K7QMX": "DEP-K7QMX",
    " sq1:dep-k7qmx ": "DEP-K7QMX",
    "A-K7QMX": "A-K7QMX",
    "SQ1:A-K7QMX": "A-K7QMX",
    "SQ2:DEP-K7QMX": None,
    "SQ1:DEPT-K7QMX": None,
    "SQ1:DEP-K7QM": None,
    "DEP K7QMX": None,
    "https://example.com/DEP-K7QMX": None,
    "4006381333931": None,
    "": None,
}


def test_the_kiosk_reads_a_booking_code_from_a_scanned_or_typed_text(page: Page, admin: Session):
    page.goto(f"/kiosk/{admin.tenant.slug}/")  # no device needed: the module alone
    module = page.evaluate(
        "document.querySelector('script[src$=\"/kiosk.js\"]').src"
        ".replace(/kiosk\\.js$/, 'kiosk_check_in.js')"
    )
    found = page.evaluate(
        "([module, texts]) => import(module).then((loaded) => texts.map(loaded.bookingCode))",
        [module, list(SCANNED_TEXTS)],
    )
    assert dict(zip(SCANNED_TEXTS, found, strict=True)) == SCANNED_TEXTS
