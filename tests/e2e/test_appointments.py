"""Appointments over HTTP: booking rules on a service, book, list a day (a read model), move,
cancel, and the last places of a slot raced by many callers (real PostgreSQL behind the API)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import Session, assert_problem

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

PARIS = ZoneInfo("Europe/Paris")


def slot(days_ahead: int, hour: int = 10, minute: int = 0) -> str:
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS).isoformat()


def day_of(start: str) -> str:
    return start[:10]


def day_list(admin: Session, site_id: str, day: str, limit: int = 50, **filters: str) -> list:
    """Every appointment of the day, following the cursor page by page, once the read model
    has applied every command made so far."""
    admin.settle("appointments")
    items, cursor = [], None
    while True:
        params = {"site_id": site_id, "day": day, "limit": limit, **filters}
        if cursor:
            params["cursor"] = cursor
        response = admin.get("appointments/", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["items"])
        cursor = body["cursor"]
        if cursor is None:
            return items


def floor(admin: Session, code: str, **booking: int) -> tuple[dict, dict]:
    site = admin.add_site()
    service = admin.add_service(code)
    if booking:
        admin.ok("PATCH", f"queues/services/{service['id']}/", {"booking": booking})
    return site, service


def test_booking_rules_are_set_per_service_and_a_bad_one_is_a_422_naming_it(admin: Session):
    service = admin.add_service("BR")
    assert service["booking"] == {
        "slot_minutes": 15,
        "capacity": 1,
        "lead_minutes": 0,
        "horizon_days": 60,
        "early_minutes": 30,
        "late_minutes": 10,
        "cancel_cutoff_minutes": 0,
        "per_customer_per_day": 1,
        "hold_minutes": 5,
    }
    path = f"queues/services/{service['id']}/"
    changed = admin.ok("PATCH", path, {"booking": {"slot_minutes": 30, "capacity": 3}})
    assert changed["booking"]["slot_minutes"] == 30 and changed["booking"]["capacity"] == 3
    assert changed["booking"]["late_minutes"] == 10
    assert admin.ok("GET", path)["booking"] == changed["booking"]

    refused = assert_problem(admin.patch(path, {"booking": {"capacity": 0}}), 422, "invalid_input")
    assert "booking.capacity" in refused["detail"]
    too_long = assert_problem(admin.patch(path, {"booking": {"hold_minutes": 31}}), 422)
    assert "booking.hold_minutes" in too_long["detail"]
    assert_problem(admin.patch(path, {"booking": {"seats": 2}}), 400)
    assert admin.ok("GET", path)["booking"] == changed["booking"]


def test_a_staff_member_books_lists_moves_and_cancels_an_appointment(admin: Session):
    site, service = floor(admin, "AP", capacity=2)
    start = slot(2)
    body = {"site_id": site["id"], "service_id": service["id"], "start": start}

    first = admin.ok("POST", "appointments/", body, status=201)
    second = admin.ok("POST", "appointments/", body, status=201)
    full = assert_problem(admin.post("appointments/", body), 409, "slot_full")
    french = admin.post("appointments/", body, headers={"Accept-Language": "fr"})
    assert assert_problem(french, 409, "slot_full")["title"] != full["title"]

    assert first["status"] == "booked" and first["code"].startswith("AP-")
    assert first["code"] != second["code"]
    assert datetime.fromisoformat(first["start"]) == datetime.fromisoformat(start)
    assert admin.ok("GET", f"appointments/{first['id']}/") == first

    listed = day_list(admin, site["id"], day_of(start), limit=1)
    assert [item["id"] for item in listed] == sorted([first["id"], second["id"]])

    later = slot(3, 11, 15)
    moved = admin.ok("POST", f"appointments/{first['id']}/reschedule/", {"start": later})
    assert moved["status"] == "rescheduled" and moved["day"] == day_of(later)
    assert [item["id"] for item in day_list(admin, site["id"], day_of(start))] == [second["id"]]
    admin.ok("POST", "appointments/", body, status=201)  # the freed place

    cancelled = admin.ok("POST", f"appointments/{first['id']}/cancel/")
    assert cancelled["status"] == "cancelled"
    assert_problem(admin.post(f"appointments/{first['id']}/cancel/"), 409, "appointment_closed")
    assert day_list(admin, site["id"], day_of(later)) == []
    cancelled_ones = day_list(admin, site["id"], day_of(later), status="cancelled")
    assert [item["id"] for item in cancelled_ones] == [first["id"]]


def test_each_booking_rule_refuses_with_its_own_code(admin: Session):
    site, service = floor(admin, "RU", lead_minutes=24 * 60, horizon_days=5)
    hours = {"monday": [], "tuesday": []}
    hours.update(
        {day: [{"open": "09:00", "close": "17:00"}] for day in ("wednesday", "thursday", "friday")}
    )
    admin.ok("PATCH", f"sites/{site['id']}/", {"opening_hours": hours})

    def book(start: str) -> httpx.Response:
        return admin.post(
            "appointments/",
            {"site_id": site["id"], "service_id": service["id"], "start": start},
        )

    today = datetime.now(PARIS).date()
    open_day = next(
        today + timedelta(days=n)
        for n in range(2, 6)
        if (today + timedelta(days=n)).weekday() in (2, 3, 4)
    )
    ahead = (open_day - today).days
    assert_problem(book(slot(ahead, 18)), 409, "outside_opening_hours")
    assert_problem(book(slot(ahead - 7, 10)), 409, "too_late_to_book")  # a week ago
    assert_problem(book(slot(ahead + 7, 10)), 409, "beyond_horizon")  # in a week
    assert_problem(book(slot(ahead, 10, 5)), 422, "invalid_input")
    assert_problem(book(slot(ahead, 10)[:19]), 422, "invalid_input")  # no offset
    assert book(slot(ahead, 10)).status_code == 201
    bad_day = admin.get("appointments/", params={"site_id": site["id"], "day": "tomorrow"})
    assert_problem(bad_day, 422, "invalid_input")
    assert_problem(admin.get("appointments/"), 422, "invalid_input")
    assert_problem(admin.get("appointments/", params={"site_id": site["id"]}), 422)


def test_fifty_callers_racing_for_three_places_three_get_201_the_rest_409_slot_full(
    api_url: str, admin: Session
):
    site, service = floor(admin, "RC", capacity=3)
    body = {"site_id": site["id"], "service_id": service["id"], "start": slot(4, 9, 30)}
    go = threading.Event()

    def book(_: int) -> int:
        with httpx.Client(base_url=api_url, timeout=60.0, headers=admin.headers) as client:
            go.wait(timeout=30)
            for _ in range(20):
                response = client.post(admin.path("appointments/"), json=body)
                if response.status_code != 503:  # contention: the documented retry
                    break
            if response.status_code == 409:
                assert response.json()["code"] == "slot_full"
            return response.status_code

    with ThreadPoolExecutor(25) as pool:
        futures = [pool.submit(book, n) for n in range(50)]
        go.set()
        statuses = [future.result() for future in futures]

    assert sorted(statuses) == [201] * 3 + [409] * 47
    listed = day_list(admin, site["id"], day_of(body["start"]))
    assert len(listed) == 3 and len({item["code"] for item in listed}) == 3
    assert date.fromisoformat(listed[0]["day"]) == date.fromisoformat(day_of(body["start"]))
