"""Check-in over HTTP: staff check an appointment in by id, a kiosk by its booking code; too
early is refused with when it opens, a second check-in is refused and issues no second ticket
(real PostgreSQL behind the API)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import Session, assert_problem, open_floor
from tests.e2e.test_devices import _device_session, _register

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

PARIS = ZoneInfo("Europe/Paris")


def next_slot() -> str:
    """The next 15-minute slot start (a site without hours is open all day): inside the
    default check-in window (30 minutes early) right now."""
    now = datetime.now(PARIS)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    return (start + timedelta(minutes=15)).isoformat()


def slot_in(days: int) -> str:
    day = datetime.now(PARIS).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS).isoformat()


def book(admin: Session, floor, start: str) -> dict:
    body = {"site_id": floor.site["id"], "service_id": floor.service["id"], "start": start}
    return admin.ok("POST", "appointments/", body, status=201)


def test_staff_check_an_appointment_in_once_and_too_early_is_refused(admin: Session):
    floor = open_floor(admin, code="CK")
    admin.ok("PATCH", f"queues/services/{floor.service['id']}/", {"booking": {"capacity": 2}})
    appointment = book(admin, floor, next_slot())

    checked = admin.ok("POST", f"appointments/{appointment['id']}/check-in/", status=201)
    assert checked["placement"] == "booked_time"
    assert checked["appointment"]["status"] == "checked_in"
    ticket = checked["ticket"]
    assert ticket["status"] == "waiting" and ticket["queue_id"] == floor.queue["id"]
    assert ticket["number"].startswith("CK") and ticket["channel"] == "counter"
    assert admin.ticket(ticket["id"])["status"] == "waiting"

    again = admin.post(f"appointments/{appointment['id']}/check-in/")
    assert_problem(again, 409, "already_checked_in")
    got = admin.ok("GET", f"appointments/{appointment['id']}/")
    assert got["status"] == "checked_in"

    later = book(admin, floor, slot_in(2))
    early = assert_problem(admin.post(f"appointments/{later['id']}/check-in/"), 409, "too_early")
    opens_at = datetime.fromisoformat(early["opens_at"])
    assert opens_at == datetime.fromisoformat(later["start"]) - timedelta(minutes=30)
    french = admin.post(f"appointments/{later['id']}/check-in/", headers={"Accept-Language": "fr"})
    assert "pas encore ouvert" in assert_problem(french, 409, "too_early")["title"]
    assert_problem(admin.post(f"appointments/{admin.tenant.id}/check-in/"), 404)


def test_a_kiosk_checks_in_with_the_booking_code_of_its_own_site(
    http: httpx.Client, admin: Session
):
    floor = open_floor(admin, code="KI")
    appointment = book(admin, floor, next_slot())
    kiosk = _device_session(http, admin, _register(admin, floor.site["id"], "kiosk"))

    assert_problem(kiosk.post("appointments/check-in/", {"code": "KI-AAAAA"}), 404)
    assert_problem(kiosk.post("appointments/check-in/", {"code": ""}), 400)
    assert_problem(kiosk.post(f"appointments/{appointment['id']}/check-in/"), 403)

    checked = kiosk.post("appointments/check-in/", {"code": appointment["code"].lower()})
    assert checked.status_code == 201, checked.text
    body = checked.json()
    assert body["appointment"]["id"] == appointment["id"]
    assert body["ticket"]["channel"] == "kiosk" and body["placement"] == "booked_time"
    again = kiosk.post("appointments/check-in/", {"code": appointment["code"]})
    assert_problem(again, 409, "already_checked_in")

    # Staff name the site; without it, 422.
    assert_problem(admin.post("appointments/check-in/", {"code": appointment["code"]}), 422)
    by_staff = admin.post(
        "appointments/check-in/", {"code": appointment["code"], "site_id": floor.site["id"]}
    )
    assert_problem(by_staff, 409, "already_checked_in")


def test_racing_check_ins_of_one_appointment_issue_one_ticket(admin: Session):
    floor = open_floor(admin, code="RC")
    appointment = book(admin, floor, next_slot())
    path = f"appointments/{appointment['id']}/check-in/"
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(lambda _: admin.post(path).status_code, range(8)))
    assert statuses == [201] + [409] * 7
    admin.settle()
    listed = admin.get("tickets/", params={"queue_id": floor.queue["id"]})
    assert listed.status_code == 200, listed.text
    assert len(listed.json()["items"]) == 1


def test_completing_the_check_ins_ticket_serves_the_appointment_in_the_day_list(admin: Session):
    floor = open_floor(admin, code="SV")
    admin.ok("PATCH", f"queues/services/{floor.service['id']}/", {"booking": {"capacity": 2}})
    served, kept = book(admin, floor, next_slot()), book(admin, floor, next_slot())
    ticket = admin.ok("POST", f"appointments/{served['id']}/check-in/", status=201)["ticket"]
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="Desk 1")
    assert (
        agent.ok("POST", "agents/call-next/", {"queue_id": floor.queue["id"]})["id"]
        == (ticket["id"])
    )
    assert agent.act(ticket["id"], "start").status_code == 200
    closed = agent.act(ticket["id"], "close")
    assert closed.json()["status"] == "completed"
    assert admin.ok("GET", f"appointments/{served['id']}/")["status"] == "served"

    params = {
        "site_id": floor.site["id"],
        "day": served["day"],
        "min_position": closed.headers["X-Log-Position"],
    }
    for status, expected in (("served", [served["id"]]), ("live", [kept["id"]])):
        listed = admin.get("appointments/", params={**params, "status": status})
        assert listed.status_code == 200, listed.text
        assert [item["id"] for item in listed.json()["items"]] == expected
        assert int(listed.headers["X-Read-Position"]) >= int(params["min_position"])
    (row,) = admin.get("appointments/", params={**params, "status": "served"}).json()["items"]
    assert (row["ticket_id"], row["placement"]) == (ticket["id"], "booked_time")


def test_a_queue_that_boosts_appointments_puts_the_check_in_ahead_of_earlier_walk_ins(
    admin: Session,
):
    floor = open_floor(admin, algorithm="priority", code="PB")
    queue_id = floor.queue["id"]
    assert (floor.queue["appointment_placement"], floor.queue["appointment_priority"]) == (
        "booked_time",
        None,
    )
    boost = {"appointment_placement": "priority", "appointment_priority": 4}
    assert admin.ok("PATCH", f"queues/{queue_id}/", boost) == {**floor.queue, **boost}
    assert admin.ok("GET", f"queues/{queue_id}/") == {**floor.queue, **boost}
    refused = admin.patch(f"queues/{queue_id}/", {"algorithm": "fifo"})
    assert "set appointment_placement to 'booked_time'" in assert_problem(refused, 422)["detail"]

    walk_ins = [admin.issue(queue_id)["id"], admin.issue(queue_id)["id"]]
    appointment = book(admin, floor, next_slot())
    checked = admin.ok("POST", f"appointments/{appointment['id']}/check-in/", status=201)

    assert checked["placement"] == "priority_boost"
    assert checked["appointment"]["placement"] == "priority_boost"
    ticket = checked["ticket"]
    assert (ticket["priority"], ticket["position"]) == (4, 1)
    assert [admin.ticket(ticket_id)["position"] for ticket_id in walk_ins] == [2, 3]
    got = admin.ok("GET", f"appointments/{appointment['id']}/")
    assert (got["placement"], got["ticket_id"]) == ("priority_boost", ticket["id"])
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="Desk 1")
    assert agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})["id"] == ticket["id"]
