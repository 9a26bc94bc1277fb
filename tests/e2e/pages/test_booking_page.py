"""The booking page in headless Chromium against a real ``smartqueue api``: a customer books a
slot in French and in English (the slot's free places drop in the availability API, the page
shows the booking code and links "my appointment"); a time taken meanwhile and a hold that ran
out are told in words and the customer chooses again."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import running_api
from tests.e2e.pages.conftest import new_page
from tests.e2e.support import API, Session, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

CODE = re.compile(r"^[A-Z0-9]+-[A-Z0-9]+$")
MY_APPOINTMENT = re.compile(r"/a/[A-Za-z0-9_.-]+\?lang=(en|fr)$")
# Every page request comes from 127.0.0.1: this module's API lets it book more than a customer.
GENEROUS_LIMITS = {
    "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS": "1000/hour",
    "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE": "1000/hour",
}


@pytest.fixture(scope="module")
def api_url(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """This module's own API process (the pages and ``admin`` talk to it)."""
    with running_api(database_url, redis_url, e2e_home, **GENEROUS_LIMITS) as base_url:
        yield base_url


def booking_floor(admin: Session, capacity: int = 1) -> tuple[str, dict]:
    """A site open at all times whose one service is booked ``capacity`` per slot: the booking
    page's path and the floor."""
    floor = open_floor(admin, code="BK")
    rules = {"booking": {"capacity": capacity}}
    admin.ok("PATCH", f"queues/services/{floor.service['id']}/", rules)
    admin.settle("directory")
    return f"/book/{admin.tenant.slug}/{floor.site['id']}", floor


def local_day(floor, start: str) -> str:
    """The site's local day of the instant ``start`` (ISO)."""
    zone = ZoneInfo(floor.site["timezone"])
    return datetime.fromisoformat(start).astimezone(zone).date().isoformat()


def free_places(admin: Session, floor, start: str) -> int:
    """The free places of the slot at ``start`` in the public availability API, once the
    availability read model caught up."""
    admin.settle("availability")
    day = local_day(floor, start)
    response = admin.client.get(
        f"{API}/public/{admin.tenant.slug}/sites/{floor.site['id']}/availability/",
        params={"service_id": floor.service["id"], "from": day, "to": day},
    )
    assert response.status_code == 200, response.text
    by_start = {item["start"]: item["free"] for item in response.json()["items"]}
    return by_start[start]


def listed(admin: Session, relative: str, **params: str) -> list[dict]:
    """The first page of a staff list route with these query parameters."""
    response = admin.get(relative, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def first_time(page: Page):
    return page.get_by_test_id("slots").locator("button").first


def test_a_customer_books_a_slot_in_french_and_gets_the_code(page: Page, admin: Session):
    path, floor = booking_floor(admin, capacity=2)
    page.goto(f"{path}?lang=fr")
    expect(page.get_by_test_id("site-name")).to_have_text("Head office")
    expect(page.get_by_role("heading", name="Choisissez un horaire")).to_be_visible()
    time = first_time(page)
    start = time.get_attribute("data-start")
    assert free_places(admin, floor, start) == 2

    time.click()
    expect(page.get_by_test_id("held")).to_contain_text("vous est réservé : encore 5 min")
    page.get_by_role("button", name="Confirmer mon rendez-vous").click()
    expect(page.get_by_test_id("book-error")).to_have_text("Saisissez votre nom.")
    page.get_by_label("Votre nom").fill("Ada Lovelace")
    page.get_by_label("Votre numéro de mobile").fill("+33 6 12 34 56 78")
    page.get_by_role("button", name="Confirmer mon rendez-vous").click()

    expect(page.get_by_test_id("booked-code")).to_have_text(CODE)
    expect(page.get_by_role("heading", name="Votre rendez-vous est réservé")).to_be_visible()
    link = page.get_by_test_id("booked-link")
    expect(link).to_have_attribute("href", MY_APPOINTMENT)
    assert free_places(admin, floor, start) == 1
    code = page.get_by_test_id("booked-code").inner_text()
    # The QR code for the kiosk's scanner, drawn (an image that failed has no width).
    qr = page.get_by_test_id("booked-qr")
    expect(qr).to_have_attribute("alt", f"QR code de votre code de réservation {code}")
    expect(page.get_by_text("Présentez ce QR code à la borne")).to_be_visible()
    page.wait_for_function("document.querySelector('#booked-qr').naturalWidth > 0")
    day = {"site_id": floor.site["id"], "day": local_day(floor, start)}
    booked = listed(admin, "appointments/", **day)
    assert [(item["code"], item["status"]) for item in booked] == [(code, "booked")]
    assert booked[0]["customer_id"] is not None

    link.click()
    page.wait_for_url(MY_APPOINTMENT)
    expect(page.get_by_test_id("appointment-code")).to_have_text(code)
    expect(page.get_by_test_id("appointment-status")).to_have_text("Réservé")
    assert "Ada" not in page.content()


def test_a_time_taken_meanwhile_is_told_and_another_is_booked_in_english(
    browser: Browser, api_url: str, admin: Session
):
    path, floor = booking_floor(admin)
    english, problems = new_page(browser, api_url, locale="en-GB")  # no ?lang: the browser's
    try:
        english.goto(path)
        time = first_time(english)
        taken = time.get_attribute("data-start")
        # Someone else holds that last place while this customer looks at the list.
        held = admin.client.post(
            f"{API}/public/{admin.tenant.slug}/sites/{floor.site['id']}/holds/",
            json={"service_id": floor.service["id"], "start": taken},
        )
        assert held.status_code == 201, held.text
        admin.settle("availability")  # the page's next read of the free times knows it

        time.click()
        expect(english.get_by_test_id("book-error")).to_have_text(
            "This time was just taken. Please choose another one."
        )
        expect(english.locator(f'[data-start="{taken}"]')).to_have_count(0)
        other = first_time(english)
        start = other.get_attribute("data-start")
        other.click()
        english.get_by_label("Your name").fill("Grace Hopper")
        english.get_by_label("Your email").fill("grace@example.com")
        english.get_by_role("button", name="Confirm my appointment").click()
        expect(english.get_by_test_id("booked-code")).to_have_text(CODE)
        expect(english.get_by_test_id("booked-link")).to_have_text(
            "See, move or cancel my appointment"
        )
    finally:
        english.context.close()
    assert problems.errors == []
    assert free_places(admin, floor, start) == 0


def test_a_hold_that_ran_out_is_told_and_frees_the_time(page: Page, admin: Session):
    path, floor = booking_floor(admin)
    page.clock.install()
    page.goto(f"{path}?lang=en")
    time = first_time(page)
    start = time.get_attribute("data-start")
    time.click()
    expect(page.get_by_test_id("held")).to_contain_text("5 min left to confirm")
    assert free_places(admin, floor, start) == 0

    with page.expect_response(lambda answer: answer.request.method == "DELETE") as freed:
        page.clock.fast_forward("05:01")
    assert freed.value.status in (204, 404)  # freed by the page, or expired by the API first

    expect(page.get_by_test_id("book-error")).to_have_text(
        "Your hold ran out and the time was freed. Please choose a time again."
    )
    expect(page.get_by_role("button", name="Confirm my appointment")).to_be_hidden()
    assert free_places(admin, floor, start) == 1
    expect(page.get_by_test_id("slots")).to_be_visible()


def test_an_unknown_booking_page_says_so(page: Page):
    page.goto("/book/no-such-tenant/0b1e7f0e-51d5-4a3b-9b85-3f0d7e1c2a44?lang=fr")

    expect(page.get_by_test_id("book-error")).to_have_text(
        "Cette page de réservation n'existe pas."
    )
    expect(page.get_by_role("button", name="Confirmer mon rendez-vous")).to_be_hidden()
