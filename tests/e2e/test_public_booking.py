"""The public booking API against a real ``smartqueue api`` and projections: a customer with no
token holds a slot, confirms it with a name and a phone or email, reads "my appointment" by its
capability token, moves it, cancels it and checks in from the phone; racing holds of the last
place give one hold; a released hold frees its place; forged tokens and another tenant's slug
read as missing; no answer carries personal data.

Client addresses come from ``X-Forwarded-For`` (this module's API trusts 127.0.0.1 as a proxy),
so each test has addresses of its own in the session's shared Redis counts."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import (
    API,
    ReadModels,
    Session,
    Tenant,
    assert_problem,
    create_tenant,
    login,
    open_floor,
)

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
BOOKINGS_PER_ADDRESS = 6
NAME, PHONE, EMAIL = "Ada Lovelace", "+33 6 12 34 56 78", "ada@example.com"
PUBLIC_APPOINTMENT_FIELDS = {
    "slug",
    "site_id",
    "service_id",
    "site_name",
    "service_name",
    "timezone",
    "start",
    "end",
    "code",
    "status",
    "check_in_opens_at",
    "check_in_closes_at",
    "can_check_in",
    "can_cancel",
    "cancel_until",
    "ticket",
}


@pytest.fixture(scope="module")
def booking_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    env = {
        "SMARTQUEUE_TRUSTED_PROXIES": "127.0.0.1",
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS": f"{BOOKINGS_PER_ADDRESS}/minute",
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE": "20/minute",
    }
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield base_url


@pytest.fixture
def admin(
    booking_api: str, database_url: str, redis_url: str, e2e_home: Path, projections: ReadModels
) -> Iterator[Session]:
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=booking_api, timeout=30.0) as client:
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


def an_address() -> str:
    """A client address no other test uses."""
    raw = uuid.uuid4().bytes
    return f"10.{raw[0]}.{raw[1]}.{raw[2]}"


class Booker:
    """Someone booking from a phone: no token, one address."""

    def __init__(self, client: httpx.Client, slug: str, site_id: str) -> None:
        self.client = client
        self.address = an_address()
        self.site = f"{slug}/sites/{site_id}"

    def request(self, method: str, path: str, body: Any = None, **params: str) -> httpx.Response:
        return self.client.request(
            method,
            f"{API}/public/{path}",
            json=body,
            params=params or None,
            headers={"X-Forwarded-For": self.address},
        )

    def page(self) -> httpx.Response:
        return self.request("GET", f"{self.site}/booking/")

    def free(self, service_id: str, day: date) -> dict[datetime, int]:
        response = self.request(
            "GET",
            f"{self.site}/availability/",
            service_id=service_id,
            **{"from": day.isoformat(), "to": day.isoformat()},
        )
        assert response.status_code == 200, response.text
        return {datetime.fromisoformat(i["start"]): i["free"] for i in response.json()["items"]}

    def hold(self, service_id: str, start: datetime) -> httpx.Response:
        body = {"service_id": service_id, "start": start.isoformat()}
        return self.request("POST", f"{self.site}/holds/", body)

    def held(self, service_id: str, start: datetime) -> dict:
        response = self.hold(service_id, start)
        assert response.status_code == 201, response.text
        return response.json()

    def book(self, hold_token: str, **contact: str) -> httpx.Response:
        body = {"hold_token": hold_token, "name": NAME, **contact}
        return self.request("POST", f"{self.site}/appointments/", body)

    def booked(self, hold_token: str, **contact: str) -> dict:
        response = self.book(hold_token, **contact)
        assert response.status_code == 201, response.text
        return response.json()

    def appointment(self, token: str, action: str = "", body: Any = None) -> httpx.Response:
        method = "POST" if action else "GET"
        return self.request(method, f"appointments/{token}/{action}", body)


def booking_floor(admin: Session, **rules: int) -> tuple[str, str, str]:
    """slug, site id, service id of a fresh floor (a site open at all times, a service with
    ``rules``, an open queue serving it), once the directory lists it."""
    floor = open_floor(admin, code="BK")
    if rules:
        admin.ok("PATCH", f"queues/services/{floor.service['id']}/", {"booking": rules})
    admin.settle("directory")
    return admin.tenant.slug, floor.site["id"], floor.service["id"]


def a_slot(days_ahead: int = 2, hour: int = 10) -> datetime:
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=PARIS)


def eventually(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def assert_nothing_personal(*answers: Any) -> None:
    text = json.dumps(answers)
    for personal in (NAME, "Ada", "612345678", EMAIL, "customer_id"):
        assert personal not in text, (personal, text)


def test_a_customer_holds_confirms_reads_moves_and_cancels_an_appointment(admin):
    slug, site_id, service_id = booking_floor(admin, hold_minutes=7, capacity=2)
    booker = Booker(admin.client, slug, site_id)

    page = booker.page()
    assert page.status_code == 200, page.text
    service = admin.ok("GET", f"queues/services/{service_id}/")
    assert page.json() == {
        "site": {"id": site_id, "name": "Head office", "timezone": "Europe/Paris"},
        "languages": ["fr", "en"],
        "services": [
            {
                "id": service_id,
                "name": service["name"],
                "code": "BK",
                "slot_minutes": 15,
                "lead_minutes": 0,
                "horizon_days": 60,
                "hold_minutes": 7,
            }
        ],
    }

    start = a_slot()
    held = booker.held(service_id, start)
    assert set(held) == {"hold_token", "start", "end", "expires_at"}
    assert datetime.fromisoformat(held["start"]) == start
    assert datetime.fromisoformat(held["end"]) == start + timedelta(minutes=15)
    lasts = datetime.fromisoformat(held["expires_at"]) - datetime.now(PARIS)
    assert timedelta(minutes=6) < lasts <= timedelta(minutes=7)

    booked = booker.booked(held["hold_token"], phone=PHONE, email=EMAIL, language="fr")
    assert set(booked) == {"appointment", "token", "url"}
    assert booked["url"] == f"/a/{booked['token']}"
    mine = booked["appointment"]
    assert set(mine) == PUBLIC_APPOINTMENT_FIELDS
    assert (mine["site_name"], mine["service_name"]) == ("Head office", service["name"])
    assert datetime.fromisoformat(mine["start"]) == start
    assert mine["status"] == "booked" and mine["code"].startswith("BK-")
    assert (mine["can_cancel"], mine["can_check_in"], mine["ticket"]) == (True, False, None)
    assert datetime.fromisoformat(mine["check_in_opens_at"]) == start - timedelta(minutes=30)

    # Staff see it (the day list is a read model), with the customer profile the booking made
    # (phone, email, language).
    admin.settle("appointments")
    [staff_view] = admin.ok("GET", f"appointments/?site_id={site_id}&day={start.date()}")["items"]
    customer = admin.ok("GET", f"customers/{staff_view['customer_id']}/")
    assert (customer["name"], customer["phone"], customer["email"]) == (
        NAME,
        "+33612345678",
        EMAIL,
    )
    assert customer["preferences"]["language"] == "fr"

    read = booker.appointment(booked["token"])
    assert read.status_code == 200, read.text
    assert read.json() == mine

    later = start + timedelta(hours=1)
    moved = booker.appointment(booked["token"], "reschedule/", {"start": later.isoformat()})
    assert moved.status_code == 200, moved.text
    assert datetime.fromisoformat(moved.json()["start"]) == later
    assert moved.json()["status"] == "rescheduled"

    cancelled = booker.appointment(booked["token"], "cancel/")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["can_cancel"] is False
    assert_problem(booker.appointment(booked["token"], "cancel/"), 409, "appointment_closed")
    assert_nothing_personal(page.json(), held, booked, read.json(), moved.json(), cancelled.json())

    admin.settle("audit_log")
    events = admin.ok("GET", f"audit/?aggregate_id={staff_view['id']}")["items"]
    assert {event["actor_role"] for event in events} == {"customer"}


def test_racing_holds_of_the_last_place_give_one_hold_and_the_rest_slot_full(admin):
    slug, site_id, service_id = booking_floor(admin, capacity=1)
    start = a_slot(days_ahead=3)
    bookers = [Booker(admin.client, slug, site_id) for _ in range(5)]

    def race(booker: Booker) -> httpx.Response:
        with httpx.Client(base_url=str(admin.client.base_url), timeout=30.0) as client:
            booker.client = client
            return booker.hold(service_id, start)

    with ThreadPoolExecutor(max_workers=5) as pool:
        answers = list(pool.map(race, bookers))
    assert sorted(answer.status_code for answer in answers) == [201, 409, 409, 409, 409]
    for answer in answers:
        if answer.status_code == 409:
            assert_problem(answer, 409, "slot_full")


def test_a_released_hold_frees_its_place_and_cannot_be_booked(admin):
    slug, site_id, service_id = booking_floor(admin, capacity=2)
    booker = Booker(admin.client, slug, site_id)
    start = a_slot(days_ahead=4)
    assert booker.free(service_id, start.date())[start] == 2

    held = booker.held(service_id, start)
    eventually(lambda: booker.free(service_id, start.date())[start] == 1)

    released = booker.request("DELETE", f"holds/{held['hold_token']}/")
    assert released.status_code == 204, released.text
    eventually(lambda: booker.free(service_id, start.date())[start] == 2)
    assert_problem(booker.request("DELETE", f"holds/{held['hold_token']}/"), 404, "not_found")
    assert_problem(booker.book(held["hold_token"], phone=PHONE), 409, "hold_expired")

    # A hold that becomes a booking is counted once.
    again = booker.held(service_id, start)
    booker.booked(again["hold_token"], email=EMAIL)
    eventually(lambda: booker.free(service_id, start.date())[start] == 1)
    admin.settle("availability")
    assert booker.free(service_id, start.date())[start] == 1
    assert_problem(booker.book(again["hold_token"], phone=PHONE), 409, "hold_expired")


def test_a_booking_needs_a_phone_or_an_email(admin):
    slug, site_id, service_id = booking_floor(admin)
    booker = Booker(admin.client, slug, site_id)
    held = booker.held(service_id, a_slot(days_ahead=5))
    problem = assert_problem(booker.book(held["hold_token"]), 422)
    assert "phone or email" in problem["detail"]
    assert booker.book(held["hold_token"], phone=PHONE).status_code == 201


def test_a_full_slot_and_rules_refuse_a_hold_as_they_refuse_a_booking(admin):
    slug, site_id, service_id = booking_floor(admin, horizon_days=3)
    booker = Booker(admin.client, slug, site_id)
    assert_problem(booker.hold(service_id, a_slot(days_ahead=10)), 409, "beyond_horizon")
    assert_problem(booker.hold(service_id, a_slot(days_ahead=-1)), 409, "too_late_to_book")
    booker.held(service_id, a_slot(days_ahead=1))
    assert_problem(booker.hold(service_id, a_slot(days_ahead=1)), 409, "slot_full")
    span = booker.request(
        "GET",
        f"{booker.site}/availability/",
        service_id=service_id,
        **{"from": "2030-01-01", "to": "2030-03-01"},
    )
    assert_problem(span, 422)


def test_forged_tokens_and_another_tenants_slug_read_as_not_found(admin, database_url):
    slug, site_id, service_id = booking_floor(admin)
    booker = Booker(admin.client, slug, site_id)
    held = booker.held(service_id, a_slot(days_ahead=6))
    booked = booker.booked(held["hold_token"], phone=PHONE)
    token = booked["token"]

    forged = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert_problem(booker.appointment(forged), 404, "not_found")
    assert_problem(booker.appointment(forged, "cancel/"), 404)
    assert_problem(booker.request("DELETE", f"holds/{forged}/"), 404, "not_found")
    # An appointment's token is no hold's, and a hold's no appointment's.
    assert_problem(booker.request("DELETE", f"holds/{token}/"), 404)
    assert_problem(booker.appointment(held["hold_token"]), 404)

    other = Booker(admin.client, f"other-{uuid.uuid4().hex[:8]}", site_id)
    assert_problem(other.page(), 404)
    assert_problem(other.hold(service_id, a_slot(days_ahead=6)), 404)
    again = booker.held(service_id, a_slot(days_ahead=6, hour=11))
    assert_problem(other.book(again["hold_token"], phone=PHONE), 404)
    assert booker.appointment(token).json()["status"] == "booked"


def test_a_customer_checks_in_from_the_phone_within_the_window_only(admin):
    slug, site_id, service_id = booking_floor(admin, capacity=5)
    booker = Booker(admin.client, slug, site_id)
    now = datetime.now(PARIS)
    soon = now.replace(second=0, microsecond=0) + timedelta(minutes=15 - now.minute % 15)
    booked = booker.booked(booker.held(service_id, soon)["hold_token"], phone=PHONE)
    assert booked["appointment"]["can_check_in"] is True

    checked = booker.appointment(booked["token"], "check-in/")
    assert checked.status_code == 201, checked.text
    ticket = checked.json()["ticket"]
    assert ticket["number"].startswith("BK-") and ticket["url"].startswith("/t/")
    assert checked.json()["appointment"]["status"] == "checked_in"
    assert checked.json()["appointment"]["ticket"] == ticket
    mine = booker.request("GET", f"tickets/{ticket['url'].removeprefix('/t/')}/")
    assert mine.status_code == 200 and mine.json()["number"] == ticket["number"]
    assert_problem(booker.appointment(booked["token"], "check-in/"), 409, "already_checked_in")

    later = booker.booked(booker.held(service_id, a_slot(days_ahead=2))["hold_token"], email=EMAIL)
    early = assert_problem(booker.appointment(later["token"], "check-in/"), 409, "too_early")
    assert datetime.fromisoformat(early["opens_at"]) == datetime.fromisoformat(
        later["appointment"]["check_in_opens_at"]
    )
    assert_nothing_personal(checked.json(), later)


def test_holds_and_bookings_are_limited_per_address(admin):
    slug, site_id, service_id = booking_floor(admin, capacity=20)
    booker = Booker(admin.client, slug, site_id)
    start = a_slot(days_ahead=7)
    for _ in range(BOOKINGS_PER_ADDRESS):
        assert booker.hold(service_id, start).status_code == 201
    refused = assert_problem(booker.hold(service_id, start), 429)
    assert "from this address" in refused["detail"]
