"""GET sites/{id}/availability/: free places per slot from the availability read model, kept by
a real ``smartqueue projections`` process; a booking lowers its slot's free places and a
cancellation raises them again (read with ``min_position``), a closed date has no slot, and the
days of the DST changes in Europe/Paris have the slots that elapsed time gives."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import Session, assert_problem

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
EVERY_DAY = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def floor(admin: Session, code: str, hours: tuple[str, str], **booking: int) -> tuple[str, str]:
    site = admin.add_site("Branch", "Europe/Paris")
    opening = {day: [{"open": hours[0], "close": hours[1]}] for day in EVERY_DAY}
    admin.ok("PATCH", f"sites/{site['id']}/", {"opening_hours": opening})
    service = admin.add_service(code)
    admin.ok("PATCH", f"queues/services/{service['id']}/", {"booking": booking})
    return site["id"], service["id"]


def availability(
    admin: Session, site_id: str, service_id: str, first: date, last: date, **extra
) -> httpx.Response:
    params = {"service_id": service_id, "from": first.isoformat(), "to": last.isoformat()}
    return admin.get(f"sites/{site_id}/availability/", params={**params, **extra})


def slots(admin: Session, site_id: str, service_id: str, day: date, **extra) -> dict:
    """``{start: free}`` of one day, the starts as aware datetimes."""
    response = availability(admin, site_id, service_id, day, day, **extra)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return {datetime.fromisoformat(item["start"]): item["free"] for item in items}


def last_sunday(after: date, month: int) -> date:
    """The first last-Sunday-of-``month`` after ``after`` (a DST change in Europe)."""
    year = after.year
    while True:
        day = date(year, month, 31)
        day -= timedelta(days=(day.weekday() - 6) % 7)
        if day > after:
            return day
        year += 1


def test_booking_lowers_the_free_places_and_cancelling_raises_them(
    admin: Session, projections: None
):
    site_id, service_id = floor(admin, "AV", ("09:00", "11:00"), slot_minutes=30, capacity=2)
    day = datetime.now(PARIS).date() + timedelta(days=3)
    start = datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS)
    before = slots(admin, site_id, service_id, day)
    assert list(before) == [
        start - timedelta(hours=1) + timedelta(minutes=30 * n) for n in range(4)
    ]
    assert set(before.values()) == {2}

    booked = admin.post(
        "appointments/",
        {"site_id": site_id, "service_id": service_id, "start": start.isoformat()},
    )
    assert booked.status_code == 201, booked.text
    position = booked.headers["X-Log-Position"]
    after = slots(admin, site_id, service_id, day, min_position=position)
    assert after == {**before, start: 1}

    cancelled = admin.post(f"appointments/{booked.json()['id']}/cancel/")
    assert cancelled.status_code == 200, cancelled.text
    again = slots(admin, site_id, service_id, day, min_position=cancelled.headers["X-Log-Position"])
    assert again == before


def test_a_closed_date_has_no_slot_and_a_range_lists_the_others_in_order(admin: Session):
    site_id, service_id = floor(admin, "CL", ("09:00", "10:00"), slot_minutes=60)
    first = datetime.now(PARIS).date() + timedelta(days=2)
    closed = first + timedelta(days=1)
    admin.ok("PATCH", f"sites/{site_id}/", {"closed_dates": [closed.isoformat()]})
    response = availability(admin, site_id, service_id, first, first + timedelta(days=2))
    assert response.status_code == 200, response.text
    days = [datetime.fromisoformat(item["start"]).date() for item in response.json()["items"]]
    assert days == [first, first + timedelta(days=2)]


def test_the_dst_days_of_europe_paris_have_the_slots_elapsed_time_gives(admin: Session):
    site_id, service_id = floor(admin, "DS", ("01:00", "04:00"), slot_minutes=60, horizon_days=366)
    today = datetime.now(PARIS).date()
    spring, autumn = last_sunday(today + timedelta(days=1), 3), last_sunday(today, 10)
    # 01:00 to 04:00 on the spring day is two hours: 02:00-03:00 never happens.
    assert list(slots(admin, site_id, service_id, spring)) == [
        datetime.fromisoformat(f"{spring}T01:00:00+01:00"),
        datetime.fromisoformat(f"{spring}T03:00:00+02:00"),
    ]
    # On the autumn day it is four: 02:00-03:00 happens twice.
    assert list(slots(admin, site_id, service_id, autumn)) == [
        datetime.fromisoformat(f"{autumn}T{local}")
        for local in ("01:00:00+02:00", "02:00:00+02:00", "02:00:00+01:00", "03:00:00+01:00")
    ]


def test_bad_ranges_and_unknown_sites_are_refused(admin: Session):
    site_id, service_id = floor(admin, "BD", ("09:00", "10:00"))
    today = datetime.now(PARIS).date()
    too_long = availability(admin, site_id, service_id, today, today + timedelta(days=62))
    assert_problem(too_long, 422, "invalid_input")
    fits = availability(admin, site_id, service_id, today, today + timedelta(days=61))
    assert fits.status_code == 200, fits.text
    backwards = availability(admin, site_id, service_id, today, today - timedelta(days=1))
    assert_problem(backwards, 422, "invalid_input")
    bad = admin.get(
        f"sites/{site_id}/availability/",
        params={"service_id": service_id, "from": "soon", "to": "later"},
    )
    assert_problem(bad, 422, "invalid_input")
    missing = admin.get(
        f"sites/{site_id}/availability/", params={"from": str(today), "to": str(today)}
    )
    assert_problem(missing, 422, "invalid_input")
    long_ago = availability(admin, site_id, service_id, date(1, 1, 1), date(1, 1, 5))
    assert long_ago.status_code == 200, long_ago.text
    assert long_ago.json() == {"items": []}
    unknown = availability(admin, "00000000-0000-4000-8000-000000000000", service_id, today, today)
    assert_problem(unknown, 404)
