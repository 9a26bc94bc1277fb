"""The client address seen by the limiter and the audit trail: ``X-Forwarded-For`` is ignored
unless SMARTQUEUE_TRUSTED_PROXIES names the peer that sent it (real ``smartqueue api``
processes, with the session's ``smartqueue projections`` feeding the audit log)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import API, Session, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e

FORGED = "203.0.113.9"


def _client_ip_of_issue(session: Session, headers: dict[str, str]) -> str | None:
    """Issue a ticket with ``headers``; the client address its audit entry recorded."""
    queue_id = open_floor(session).queue["id"]
    issued = session.post("tickets/", {"queue_id": queue_id}, headers=headers)
    assert issued.status_code == 201, issued.text
    ticket_id = issued.json()["id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = session.get("audit/", params={"aggregate_id": ticket_id})
        assert response.status_code == 200, response.text
        entries = [e for e in response.json()["items"] if e["event_type"] == "Ticket.Issued"]
        if entries:
            return entries[0]["client_ip"]
        time.sleep(0.2)
    raise AssertionError("the issue never reached the audit log")


def _failed_sign_ins(client: httpx.Client, count: int) -> list[int]:
    """``count`` wrong passwords for distinct unknown accounts, each 'from' its own address."""
    statuses = []
    for index in range(count):
        headers = {"X-Forwarded-For": f"198.51.100.{index + 1}"}
        response = client.post(
            f"{API}/auth/",
            json={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.test", "password": "wrong"},
            headers=headers,
        )
        statuses.append(response.status_code)
    return statuses


@pytest.mark.usefixtures("projections")
def test_x_forwarded_for_from_loopback_is_ignored_by_default(
    database_url: str, redis_url: str, e2e_home: Path
):
    tenant = create_tenant(database_url, e2e_home, redis_url)
    # Each test its own rate, so its own counts of 127.0.0.1 in the session's Redis.
    env = {"SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "3/minute"}
    with (
        running_api(database_url, redis_url, e2e_home, **env) as base_url,
        httpx.Client(base_url=base_url, timeout=30.0) as client,
    ):
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)  # attempt 1
        client_ip = _client_ip_of_issue(admin, {"X-Forwarded-For": FORGED})
        assert client_ip == "127.0.0.1"
        # The sign-in limiter counts every attempt against 127.0.0.1, whatever the header says.
        assert _failed_sign_ins(client, 3) == [401, 401, 429]


@pytest.mark.usefixtures("projections")
def test_x_forwarded_for_is_honoured_from_a_trusted_proxy(
    database_url: str, redis_url: str, e2e_home: Path
):
    tenant = create_tenant(database_url, e2e_home, redis_url)
    env = {
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "4/minute",
        "SMARTQUEUE_TRUSTED_PROXIES": "127.0.0.0/8",
    }
    with (
        running_api(database_url, redis_url, e2e_home, **env) as base_url,
        httpx.Client(base_url=base_url, timeout=30.0) as client,
    ):
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        assert _client_ip_of_issue(admin, {"X-Forwarded-For": FORGED}) == FORGED
        # Each attempt now counts against the address the proxy named.
        assert _failed_sign_ins(client, 5) == [401] * 5
