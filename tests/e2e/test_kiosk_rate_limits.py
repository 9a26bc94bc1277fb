"""Flooding: tickets issued by kiosks are limited per kiosk and per queue (staff issues are not),
answered with 429 problem+json, ``Retry-After`` and the IETF RateLimit headers, by a real
``smartqueue api`` process whose counts live in the session's Redis."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import Session, Tenant, assert_problem, create_tenant, login, open_floor
from tests.e2e.test_ticket_priority_scope import _kiosk

pytestmark = pytest.mark.e2e

PER_DEVICE, PER_QUEUE = 3, 5


@pytest.fixture(scope="module")
def limited_api(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    env = {
        "SMARTQUEUE_KIOSK_LIMIT_DEVICE": f"{PER_DEVICE}/minute",
        "SMARTQUEUE_KIOSK_LIMIT_QUEUE": f"{PER_QUEUE}/minute",
    }
    with running_api(database_url, redis_url, e2e_home, **env) as base_url:
        yield base_url


@pytest.fixture
def limited(
    limited_api: str, database_url: str, redis_url: str, e2e_home: Path
) -> Iterator[Session]:
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=limited_api, timeout=30.0) as client:
        yield login(client, tenant, tenant.admin_email, tenant.admin_password)


def _assert_limited(response: httpx.Response, policy: str, quota: int) -> None:
    assert_problem(response, 429, "too_many_requests")
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["RateLimit-Policy"] == f'"{policy}";q={quota};w=60'
    match = re.fullmatch(rf'"{policy}";r=0;t=(\d+)', response.headers["RateLimit"])
    assert match, response.headers["RateLimit"]
    assert int(match.group(1)) == retry_after


def test_a_flooding_kiosk_gets_429_with_retry_after_and_ratelimit_headers(limited: Session):
    floor = open_floor(limited)
    other_queue = limited.open_queue(floor.site["id"], [floor.service["id"]], name="Other")
    flooding = _kiosk(limited.client, limited, floor.site["id"])
    for _ in range(PER_DEVICE):
        flooding.issue(floor.queue["id"])

    refused = flooding.post("tickets/", {"queue_id": floor.queue["id"]})
    _assert_limited(refused, "device", PER_DEVICE)
    # Counted per kiosk: another queue does not help, another kiosk is not held back.
    elsewhere = flooding.post("tickets/", {"queue_id": other_queue["id"]})
    _assert_limited(elsewhere, "device", PER_DEVICE)
    other_kiosk = _kiosk(limited.client, limited, floor.site["id"])
    other_kiosk.issue(other_queue["id"])
    assert limited.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == PER_DEVICE


def test_kiosks_together_are_limited_per_queue_and_staff_are_not(limited: Session):
    floor = open_floor(limited)
    other_queue = limited.open_queue(floor.site["id"], [floor.service["id"]], name="Other")
    kiosks = [_kiosk(limited.client, limited, floor.site["id"]) for _ in range(3)]
    issued = 0
    for kiosk in kiosks:
        for _ in range(2):
            if issued < PER_QUEUE:
                kiosk.issue(floor.queue["id"])
                issued += 1

    # The third kiosk has one issue left of its own, but the queue has none.
    refused = kiosks[2].post("tickets/", {"queue_id": floor.queue["id"]})
    _assert_limited(refused, "queue", PER_QUEUE)
    kiosks[2].issue(other_queue["id"])  # another queue has its own count
    limited.issue(floor.queue["id"])  # staff at the counter are not limited per queue
    assert limited.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == PER_QUEUE + 1
