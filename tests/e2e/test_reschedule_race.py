"""Reschedules racing new bookings for a slot's last places, over HTTP on a real PostgreSQL:
ten appointments booked elsewhere move into a slot with three places while forty callers book
it, all at once. Exactly three of the fifty get it, the others ``409 slot_full``; a losing move
still holds its old place; the day lists and the availability read model agree."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.support import ReadModels, Session

pytestmark = pytest.mark.e2e

PARIS = ZoneInfo("Europe/Paris")
CAPACITY = 3
MOVERS = 10
BOOKERS = 40
THREADS = 25


def _start(days_ahead: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(PARIS).date() + timedelta(days=days_ahead)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=PARIS)


def _availability(admin: Session, site_id: str, service_id: str, day, position: int) -> dict:
    """``{start: free}`` of the day's slots once the read model has applied ``position``."""
    params = {"service_id": service_id, "from": str(day), "to": str(day), "min_position": position}
    response = admin.get(f"sites/{site_id}/availability/", params=params)
    assert response.status_code == 200, response.text
    return {
        datetime.fromisoformat(item["start"]): item["free"] for item in response.json()["items"]
    }


def _day_list(admin: Session, site_id: str, day) -> dict[str, dict]:
    """The day's live appointments by id, every page."""
    listed = admin.list(f"appointments/?site_id={site_id}&day={day}")
    return {item["id"]: item for item in listed}


def _race(api_url: str, admin: Session, calls: list[tuple[str, dict]]) -> list[httpx.Response]:
    """POST every call at once from a pool of threads; a ``503`` (contention, the documented
    retry) is sent again."""
    go = threading.Event()

    def send(call: tuple[str, dict]) -> httpx.Response:
        path, body = call
        with httpx.Client(base_url=api_url, timeout=60.0, headers=admin.headers) as client:
            go.wait(timeout=30)
            for _ in range(20):
                response = client.post(admin.path(path), json=body)
                if response.status_code != 503:
                    break
            return response

    with ThreadPoolExecutor(THREADS) as pool:
        futures = [pool.submit(send, call) for call in calls]
        go.set()
        return [future.result() for future in futures]


def test_moves_racing_bookings_for_three_places_three_win_and_each_loser_keeps_its_old_slot(
    api_url: str, admin: Session, projections: ReadModels
):
    site = admin.add_site()
    service = admin.add_service("RR")
    admin.ok("PATCH", f"queues/services/{service['id']}/", {"booking": {"capacity": CAPACITY}})
    target = _start(5, 10)
    old_day = _start(4, 8).date()

    def book(start: datetime) -> dict:
        return {"site_id": site["id"], "service_id": service["id"], "start": start.isoformat()}

    movers = [
        admin.ok("POST", "appointments/", book(_start(4, 8) + timedelta(minutes=15 * n)), 201)
        for n in range(MOVERS)
    ]
    calls = [
        (f"appointments/{mover['id']}/reschedule/", {"start": target.isoformat()})
        for mover in movers
    ]
    calls += [("appointments/", book(target))] * BOOKERS

    answers = _race(api_url, admin, calls)

    statuses = [answer.status_code for answer in answers]
    won = [answer.json() for answer in answers if answer.status_code in (200, 201)]
    lost = [answer.json() for answer in answers if answer.status_code == 409]
    assert len(won) == CAPACITY and len(lost) == MOVERS + BOOKERS - CAPACITY, statuses
    assert {problem["code"] for problem in lost} == {"slot_full"}
    assert set(statuses[:MOVERS]) <= {200, 409} and set(statuses[MOVERS:]) <= {201, 409}
    moved = {
        mover["id"]
        for mover, answer in zip(movers, answers, strict=False)
        if answer.status_code == 200
    }
    stayed = [mover for mover in movers if mover["id"] not in moved]
    for mover in stayed:  # a losing move changed nothing
        now = admin.ok("GET", f"appointments/{mover['id']}/")
        assert (now["status"], now["start"], now["code"]) == (
            "booked",
            mover["start"],
            mover["code"],
        )

    on_target = _day_list(admin, site["id"], target.date())
    assert set(on_target) == {winner["id"] for winner in won}
    assert {datetime.fromisoformat(item["start"]) for item in on_target.values()} == {target}
    assert len({item["code"] for item in on_target.values()}) == CAPACITY
    on_old_day = _day_list(admin, site["id"], old_day)
    assert set(on_old_day) == {mover["id"] for mover in stayed}

    position = max(
        int(answer.headers["X-Log-Position"]) for answer in answers if answer.status_code < 300
    )
    free_target = _availability(admin, site["id"], service["id"], target.date(), position)
    assert free_target[target] == 0
    free_old = _availability(admin, site["id"], service["id"], old_day, position)
    for mover in movers:
        held = 0 if mover["id"] in moved else 1
        assert free_old[datetime.fromisoformat(mover["start"])] == CAPACITY - held
