"""Displays and kiosks over HTTP: registered by a manager, signed in with their own secret, kept
to their site, revoked at once, and online/offline transitions recorded by a real
``smartqueue worker`` process."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, _stop, _wait_until_healthy
from tests.e2e.support import (
    API,
    Session,
    Tenant,
    assert_problem,
    login,
    open_floor,
    process_env,
    smartqueue_executable,
)

# The lists of queues and agents are served by the directory read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

PRESENCE_SECONDS = 3.0
SWEEP_SECONDS = 0.2


def _register(admin: Session, site_id: str, kind: str, name: str = "Device") -> dict:
    response = admin.post("devices/", {"site_id": site_id, "kind": kind, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def _device_session(http: httpx.Client, admin: Session, registered: dict) -> Session:
    response = http.post(
        f"{API}/auth/device/",
        json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    assert "refresh_token" not in body
    return Session(http, admin.tenant, body["access_token"], body["device"])


def test_a_kiosk_issues_tickets_only_at_its_site_and_stops_at_once_when_revoked(
    http: httpx.Client, admin: Session
):
    floor = open_floor(admin)
    annex = admin.add_site("Annex")
    annex_queue = admin.open_queue(annex["id"], [floor.service["id"]], name="Annex queue")
    registered = _register(admin, floor.site["id"], "kiosk", "Entrance kiosk")
    assert len(registered["secret"]) >= 40
    device = registered["device"]
    assert (device["kind"], device["site_id"], device["online"]) == (
        "kiosk",
        floor.site["id"],
        False,
    )
    assert "secret" not in admin.ok("GET", f"devices/{device['id']}/")  # shown once only

    kiosk = _device_session(http, admin, registered)
    ticket = kiosk.issue(floor.queue["id"], channel="kiosk")
    assert ticket["status"] == "waiting" and ticket["position"] == 1
    wrong = assert_problem(kiosk.post("tickets/", {"queue_id": annex_queue["id"]}), 403)
    assert wrong["code"] == "wrong_site"
    assert_problem(kiosk.post("tickets/", {"queue_id": admin.tenant.id}), 404)
    assert annex_queue["id"] not in {q["id"] for q in kiosk.list("queues/")}
    # Nothing else: no cancelling, calling, reading tickets or managing devices.
    assert_problem(kiosk.act(ticket["id"], "cancel"), 403, "forbidden")
    assert_problem(kiosk.post("agents/call-next/", {}), 403, "forbidden")
    assert_problem(kiosk.get(f"tickets/{ticket['id']}/"), 403, "forbidden")
    assert_problem(kiosk.get("devices/"), 403, "forbidden")

    revoked = admin.ok("POST", f"devices/{device['id']}/revoke/")
    assert revoked["revoked"] is True
    assert_problem(kiosk.post("tickets/", {"queue_id": floor.queue["id"]}), 401)
    again = http.post(
        f"{API}/auth/device/", json={"device_id": device["id"], "secret": registered["secret"]}
    )
    assert_problem(again, 401, "device_authentication_failed")
    assert_problem(admin.post(f"devices/{device['id']}/revoke/"), 409, "device_revoked")


def test_a_display_reads_its_site_and_cannot_write(
    http: httpx.Client, admin: Session, projections: None
):
    floor = open_floor(admin)
    annex = admin.add_site("Annex")
    annex_queue = admin.open_queue(annex["id"], [floor.service["id"]], name="Annex queue")
    here = admin.issue(floor.queue["id"])
    there = admin.issue(annex_queue["id"])
    display = _device_session(http, admin, _register(admin, floor.site["id"], "display", "Hall"))

    assert [q["id"] for q in display.list("queues/")] == [floor.queue["id"]]
    assert display.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1
    assert display.ticket(here["id"])["number"] == here["number"]
    assert_problem(display.get(f"queues/{annex_queue['id']}/"), 404)
    assert_problem(display.get(f"tickets/{there['id']}/"), 404)
    # The read models too: the ticket list and the statistics keep to the display's site.
    listed = display.get("tickets/", params={"site_id": annex["id"]}).json()["items"]
    assert [ticket["id"] for ticket in listed] == [here["id"]]
    stats = display.get("queues/stats/").json()
    assert [row["queue_id"] for row in stats] == [floor.queue["id"]]
    assert_problem(display.get(f"queues/{annex_queue['id']}/stats/"), 404)
    assert display.get(f"queues/{floor.queue['id']}/stats/").status_code == 200
    staff = admin.get("tickets/", params={"site_id": annex["id"]}).json()["items"]
    assert [ticket["id"] for ticket in staff] == [there["id"]]  # staff may filter by any site
    for method, path, body in (
        ("POST", "tickets/", {"queue_id": floor.queue["id"]}),
        ("POST", f"tickets/{here['id']}/cancel/", None),
        ("POST", "queues/", {"name": "X", "site_id": floor.site["id"], "service_ids": []}),
        ("POST", "devices/", {"site_id": floor.site["id"], "kind": "kiosk", "name": "X"}),
    ):
        assert_problem(display.request(method, path, json=body), 403, "forbidden")
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_a_rotated_secret_signs_out_the_device_and_only_the_new_one_signs_in(
    http: httpx.Client, admin: Session
):
    floor = open_floor(admin)
    registered = _register(admin, floor.site["id"], "display")
    display = _device_session(http, admin, registered)

    rotated = admin.ok("POST", f"devices/{registered['device']['id']}/rotate-secret/")

    assert rotated["secret"] != registered["secret"]
    assert_problem(display.get("queues/"), 401)
    stale = http.post(
        f"{API}/auth/device/",
        json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
    )
    assert_problem(stale, 401)
    assert _device_session(http, admin, rotated).list("queues/") is not None


def test_devices_are_managed_within_the_tenant_only(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
):
    floor = open_floor(admin)
    registered = _register(admin, floor.site["id"], "kiosk")
    device_id = registered["device"]["id"]
    stranger = new_tenant()
    other = login(http, stranger, stranger.admin_email, stranger.admin_password)
    other_floor = open_floor(other)

    assert_problem(other.get(f"devices/{device_id}/"), 404)
    assert_problem(other.post(f"devices/{device_id}/revoke/"), 404)
    assert other.list("devices/") == []
    foreign_site = {"site_id": floor.site["id"], "kind": "kiosk", "name": "Intruder"}
    assert_problem(other.post("devices/", foreign_site), 404)
    # A device of tenant A reaches nothing of tenant B, even knowing its slug and queue.
    kiosk = _device_session(http, admin, registered)
    response = http.post(
        f"{API}/tenants/{stranger.slug}/tickets/",
        json={"queue_id": other_floor.queue["id"]},
        headers=kiosk.headers,
    )
    assert_problem(response, 404)
    assert admin.ok("GET", f"devices/{device_id}/")["revoked"] is False
    agent = admin.add_agent()
    assert_problem(agent.get("devices/"), 403, "forbidden")
    assert_problem(agent.post("devices/ping/"), 403, "forbidden")


def test_bad_registrations_are_4xx_problems_naming_what_was_wrong(admin: Session):
    floor = open_floor(admin)
    body = assert_problem(
        admin.post("devices/", {"site_id": floor.site["id"], "kind": "printer", "name": "X"}), 400
    )
    assert "kind" in body["detail"] or "printer" in body["detail"]
    assert_problem(
        admin.post("devices/", {"site_id": admin.tenant.id, "kind": "kiosk", "name": "X"}), 404
    )
    blank = admin.post("devices/", {"site_id": floor.site["id"], "kind": "kiosk", "name": "  "})
    assert "name" in assert_problem(blank, 422)["detail"]
    assert_problem(admin.get("devices/", params={"online": "maybe"}), 400)


# -- presence: a dedicated API and worker with a short presence window ---------------------------


def _start(arguments: list[str], env: dict[str, str], stderr: Path) -> subprocess.Popen:
    with stderr.open("wb") as err:
        return subprocess.Popen(
            [smartqueue_executable(), *arguments], env=env, stdout=subprocess.DEVNULL, stderr=err
        )


@pytest.fixture(scope="module")
def presence_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """An API process with a short presence window, a ``smartqueue worker`` sweeping often, and
    projections (for the audit log) that stop with this module, so no follower outlives it to
    hold the projection locks integration tests of the same session take."""
    env = {
        **process_env(database_url, e2e_home, redis_url),
        "SMARTQUEUE_DEVICE_PRESENCE_SECONDS": str(PRESENCE_SECONDS),
        "SMARTQUEUE_WORKER_INTERVAL_SECONDS": str(SWEEP_SECONDS),
    }
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    stderr = e2e_home / "presence-api.stderr"
    api = _start(["api", "--host", "127.0.0.1", "--port", str(port)], env, stderr)
    worker = _start(["worker"], env, e2e_home / "worker.stderr")
    projections = _start(["projections"], env, e2e_home / "presence-projections.stderr")
    try:
        _wait_until_healthy(api, base_url, stderr)
        yield base_url
    finally:
        for process in (projections, worker, api):
            _stop(process)
    assert worker.returncode == 0, (e2e_home / "worker.stderr").read_text()[-2000:]


def _listed(admin: Session, **params: str) -> list[str]:
    """The ids on the first page of ``GET devices/`` with these query parameters."""
    response = admin.get("devices/", params=params)
    assert response.status_code == 200, response.text
    return [device["id"] for device in response.json()["items"]]


def _transitions(admin: Session, device_id: str, expected: list[str]) -> list[str]:
    """The device's online/offline events in order, once the audit log shows ``expected``."""
    deadline = time.monotonic() + 15
    while True:
        items = admin.get("audit/", params={"aggregate_id": device_id, "limit": 200}).json()
        found = [
            item["event_type"]
            for item in reversed(items["items"])
            if item["event_type"] in ("Device.WentOnline", "Device.WentOffline")
        ]
        if found == expected or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_pings_record_one_went_online_and_silence_one_went_offline(
    admin: Session, presence_api: str
):
    floor = open_floor(admin)
    registered = _register(admin, floor.site["id"], "display", "Hall")
    device_id = registered["device"]["id"]
    silent_id = _register(admin, floor.site["id"], "kiosk", "Never pings")["device"]["id"]
    with httpx.Client(base_url=presence_api, timeout=30.0) as client:
        display = _device_session(client, admin, registered)
        start = threading.Barrier(6)
        answers: list[int] = []

        def ping() -> None:
            start.wait()
            for _ in range(3):
                answers.append(display.post("devices/ping/").status_code)

        threads = [threading.Thread(target=ping) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers == [200] * 18

        listed = admin.list("devices/")
        [seen] = [d for d in listed if d["id"] == device_id]
        assert seen["online"] is True and seen["last_seen_at"]
        assert {d["id"]: d["online"] for d in listed} == {device_id: True, silent_id: False}
        assert _listed(admin, online="true", site_id=floor.site["id"]) == [device_id]
        assert _listed(admin, online="false") == [silent_id]

        # Silence: the worker records the device offline once, however many sweeps pass; 18
        # racing pings recorded a single WentOnline before it.
        expected = ["Device.WentOnline", "Device.WentOffline"]
        assert _transitions(admin, device_id, expected) == expected
        time.sleep(SWEEP_SECONDS * 5)
        assert _transitions(admin, device_id, expected) == expected
        assert admin.ok("GET", f"devices/{device_id}/")["online"] is False
        assert _listed(admin, online="false") == [device_id, silent_id]
        first = admin.get("devices/", params={"online": "false", "limit": "1"}).json()
        second = admin.get(
            "devices/", params={"online": "false", "limit": "1", "cursor": first["cursor"]}
        ).json()
        assert [d["id"] for d in first["items"] + second["items"]] == [device_id, silent_id]
        assert second["cursor"] is None
        assert _transitions(admin, silent_id, []) == []

        # The next ping is a transition again.
        assert display.ok("POST", "devices/ping/")["online"] is True
        expected.append("Device.WentOnline")
        assert _transitions(admin, device_id, expected) == expected


def test_moving_a_kiosk_signs_it_out_and_its_next_token_serves_the_new_site(
    http: httpx.Client, admin: Session
):
    floor = open_floor(admin)
    annex = admin.add_site("Annex")
    annex_queue = admin.open_queue(annex["id"], [floor.service["id"]], name="Annex queue")
    registered = _register(admin, floor.site["id"], "kiosk", "Door")
    device_id = registered["device"]["id"]
    kiosk = _device_session(http, admin, registered)

    renamed = admin.ok("PATCH", f"devices/{device_id}/", {"name": "Front door"})
    assert renamed["name"] == "Front door"
    assert kiosk.issue(floor.queue["id"])["status"] == "waiting"  # a rename keeps it signed in
    assert_problem(admin.patch(f"devices/{device_id}/", {"site_id": admin.tenant.id}), 404)
    moved = admin.ok("PATCH", f"devices/{device_id}/", {"site_id": annex["id"]})
    assert moved["site_id"] == annex["id"]

    assert_problem(kiosk.post("tickets/", {"queue_id": annex_queue["id"]}), 401)
    kiosk = _device_session(http, admin, registered)
    assert kiosk.issue(annex_queue["id"])["status"] == "waiting"
    assert_problem(kiosk.post("tickets/", {"queue_id": floor.queue["id"]}), 403, "wrong_site")
