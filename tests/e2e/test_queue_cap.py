"""A queue's waiting line is capped (SMARTQUEUE_QUEUE_MAX_WAITING): issuing into a full queue
answers 409 ``queue_full``; racing issues for the last place admit exactly one; a staff transfer
may still bring a ticket in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import Session, assert_problem, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e

CAP = 3
RACERS = 8


@pytest.fixture(scope="module")
def capped_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    env = {"SMARTQUEUE_QUEUE_MAX_WAITING": str(CAP)}
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield base_url


@pytest.fixture
def admin_of_capped(
    capped_api: str, database_url: str, redis_url: str, e2e_home: Path
) -> Iterator[Session]:
    tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=capped_api, timeout=60.0) as client:
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


def _waiting(admin: Session, queue_id: str) -> int:
    return admin.ok("GET", f"queues/{queue_id}/")["waiting"]


def test_a_full_queue_answers_409_queue_full_until_a_place_frees(admin_of_capped: Session):
    admin = admin_of_capped
    queue_id = open_floor(admin).queue["id"]
    tickets = [admin.issue(queue_id) for _ in range(CAP)]

    body = assert_problem(admin.post("tickets/", {"queue_id": queue_id}), 409, "queue_full")
    assert "full" in body["detail"]
    assert _waiting(admin, queue_id) == CAP

    assert admin.act(tickets[0]["id"], "cancel").status_code == 200
    admin.issue(queue_id)
    assert _waiting(admin, queue_id) == CAP


def test_racing_issues_for_the_last_place_admit_exactly_one(admin_of_capped: Session):
    admin = admin_of_capped
    queue_id = open_floor(admin).queue["id"]
    for _ in range(CAP - 1):
        admin.issue(queue_id)

    start = threading.Barrier(RACERS)
    answers: list[httpx.Response] = []
    lock = threading.Lock()

    def race() -> None:
        start.wait()
        response = admin.post("tickets/", {"queue_id": queue_id})
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=race) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    statuses = sorted(response.status_code for response in answers)
    assert statuses == [201] + [409] * (RACERS - 1), [r.text for r in answers]
    for response in answers:
        if response.status_code == 409:
            assert_problem(response, 409, "queue_full")
    assert _waiting(admin, queue_id) == CAP


def test_a_staff_transfer_into_a_full_queue_is_allowed(admin_of_capped: Session):
    admin = admin_of_capped
    floor = open_floor(admin)
    full = floor.queue["id"]
    other = admin.open_queue(floor.site["id"], [floor.service["id"]], name="Other")["id"]
    for _ in range(CAP):
        admin.issue(full)
    moved = admin.issue(other)

    response = admin.act(moved["id"], "transfer", {"queue_id": full})
    assert response.status_code == 200, response.text
    assert response.json()["queue_id"] == full
    assert _waiting(admin, full) == CAP + 1
