"""Opening hours enforced over HTTP: a site whose hours were never set shows ``null`` and takes
tickets at any time; once set, staff and kiosks get ``409 site_closed`` (with when it opens
next, titled in the caller's language) outside them, and staff who may manage queues can
override, which the ticket's event records."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from time import monotonic, sleep
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import API, Session, assert_problem, open_floor

pytestmark = pytest.mark.e2e

WEEK = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
CLOSED_WEEK = {day: [] for day in WEEK}
PARIS = ZoneInfo("Europe/Paris")


def _kiosk(http: httpx.Client, admin: Session, site_id: str) -> Session:
    registered = admin.ok(
        "POST", "devices/", {"site_id": site_id, "kind": "kiosk", "name": "Kiosk"}, status=201
    )
    response = http.post(
        f"{API}/auth/device/",
        json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    return Session(http, admin.tenant, body["access_token"], body["device"])


def _closed_today(admin: Session, site_id: str) -> datetime:
    """Close the site for its local day; return the next local midnight, when it opens."""
    today = datetime.now(PARIS).date()
    admin.ok("PATCH", f"sites/{site_id}/", {"closed_dates": [today.isoformat()]})
    return datetime.combine(today + timedelta(days=1), time(0), PARIS)


def test_a_site_without_hours_shows_null_and_set_hours_show_the_whole_week(admin: Session):
    site = admin.add_site()
    assert site["opening_hours"] is None
    assert admin.ok("GET", f"sites/{site['id']}/")["opening_hours"] is None

    explicit = admin.ok("POST", "sites/", {"name": "Null", "opening_hours": None}, status=201)
    assert explicit["opening_hours"] is None

    closed = admin.ok("PATCH", f"sites/{site['id']}/", {"opening_hours": {}})
    assert closed["opening_hours"] == CLOSED_WEEK


def test_a_site_without_hours_issues_tickets_at_any_time(admin: Session):
    floor = open_floor(admin)
    ticket = admin.issue(floor.queue["id"])
    assert ticket["number"] == "A-001"


def test_a_closed_site_answers_409_site_closed_with_its_next_opening_and_issues_nothing(
    admin: Session,
):
    floor = open_floor(admin)
    opens_at = _closed_today(admin, floor.site["id"])

    refused = admin.post(
        "tickets/", {"queue_id": floor.queue["id"]}, headers={"Accept-Language": "fr"}
    )

    body = assert_problem(refused, 409, "site_closed")
    assert body["title"] == "Le site est fermé pour le moment"
    assert datetime.fromisoformat(body["opens_at"]) == opens_at
    assert body["detail"].startswith("Head office is closed now; it opens at ")
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0


def test_a_week_of_closed_days_refuses_without_a_next_opening(admin: Session):
    floor = open_floor(admin)
    admin.ok("PATCH", f"sites/{floor.site['id']}/", {"opening_hours": {}})

    body = assert_problem(admin.post("tickets/", {"queue_id": floor.queue["id"]}), 409)
    assert body["code"] == "site_closed" and "opens_at" not in body
    assert body["title"] == "The site is closed now"


def test_a_kiosk_at_a_closed_site_gets_409_and_cannot_override(http: httpx.Client, admin: Session):
    floor = open_floor(admin)
    kiosk = _kiosk(http, admin, floor.site["id"])
    _closed_today(admin, floor.site["id"])

    assert_problem(kiosk.post("tickets/", {"queue_id": floor.queue["id"]}), 409, "site_closed")
    body = {"queue_id": floor.queue["id"], "override_hours": True}
    refused = assert_problem(kiosk.post("tickets/", body), 403, "forbidden")
    assert "queues:manage" in refused["detail"]
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0


def test_an_agent_may_not_override_the_hours(admin: Session):
    floor = open_floor(admin)
    agent = admin.add_agent()
    _closed_today(admin, floor.site["id"])

    body = {"queue_id": floor.queue["id"], "override_hours": True}
    assert_problem(agent.post("tickets/", body), 403, "forbidden")
    assert_problem(agent.post("tickets/", {"queue_id": floor.queue["id"]}), 409, "site_closed")


def _issued_entry(admin: Session, ticket_id: str) -> dict:
    """The audit log's ``Ticket.Issued`` entry of a ticket, once the projection wrote it."""
    deadline = monotonic() + 15
    while True:
        response = admin.get("audit/", params={"aggregate_id": ticket_id})
        assert response.status_code == 200, response.text
        issued = [i for i in response.json()["items"] if i["event_type"] == "Ticket.Issued"]
        if issued or monotonic() > deadline:
            (entry,) = issued
            return entry
        sleep(0.1)


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_staff_who_manage_queues_override_and_the_audit_log_records_it(
    admin: Session, role: str, projections: None
):
    floor = open_floor(admin)
    staff = admin if role == "admin" else admin.add_agent(role=role)
    _closed_today(admin, floor.site["id"])

    ticket = staff.issue(floor.queue["id"], override_hours=True)

    assert ticket["status"] == "waiting" and ticket["position"] == 1
    entry = _issued_entry(admin, ticket["id"])
    assert entry["data"]["hours_override"] is True
    assert entry["actor_id"] == staff.user["id"]


def test_a_ticket_issued_while_open_records_no_override(admin: Session, projections: None):
    floor = open_floor(admin)
    ticket = admin.issue(floor.queue["id"], override_hours=True)
    assert _issued_entry(admin, ticket["id"])["data"]["hours_override"] is False
