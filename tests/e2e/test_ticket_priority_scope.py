"""Queue jumping: setting a ticket's priority needs the ``tickets:prioritize`` scope, which staff
roles hold and kiosks do not. A kiosk that asks for a priority is refused and nothing is written."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import API, Session, assert_problem, open_floor

pytestmark = pytest.mark.e2e


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


def test_a_kiosk_setting_a_priority_gets_403_and_no_ticket_is_issued(
    http: httpx.Client, admin: Session
):
    floor = open_floor(admin, algorithm="priority")
    kiosk = _kiosk(http, admin, floor.site["id"])

    refused = kiosk.post("tickets/", {"queue_id": floor.queue["id"], "priority": 9})
    body = assert_problem(refused, 403, "forbidden")
    assert "tickets:prioritize" in body["detail"]
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 0

    # Without a priority (or with the default one) the kiosk still issues.
    plain = kiosk.issue(floor.queue["id"])
    default = kiosk.issue(floor.queue["id"], priority=0)
    assert plain["priority"] == 0 and default["priority"] == 0
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 2


@pytest.mark.parametrize("role", ["agent", "manager", "admin"])
def test_staff_may_set_a_priority(http: httpx.Client, admin: Session, role: str):
    floor = open_floor(admin, algorithm="priority")
    staff = admin if role == "admin" else admin.add_agent(role=role)
    ticket = staff.issue(floor.queue["id"], priority=7)
    assert ticket["priority"] == 7
