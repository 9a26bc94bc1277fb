"""The hall display in headless Chromium while Redis stops: the screen keeps its last state (the
called number stays), shows that it is reconnecting, and once Redis is back a new call made over
HTTP reaches it within a bounded time.

The live fan-out (API process, relay, display gateway) runs on a Redis server this test owns and
stops (``OwnRedis`` of the HTTP outage test), so the session's Redis is untouched.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Live, _stop, running_api
from tests.e2e.outage_support import OwnRedis
from tests.e2e.pages.conftest import device_page_url, new_page, register_device
from tests.e2e.pages.test_display_live import DisplayScreen
from tests.e2e.support import ReadModels, Session, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e

# The display notices a silent socket after 15 s (three missed gateway beats), then retries.
OFFLINE_SHOWN_MS = 30_000
# The issue's "everything resumes within 5 s of Redis' return", with room for the display's
# reconnect back-off (0.5 s doubling to 5 s) and this loaded machine.
RESUMED_SECONDS = 15.0
# Once live again, a call reaches the screen over its socket. The gateway, which could not
# publish either, retries on its own back-off (also capped at 5 s): the bound allows for it and
# stays under the 15 s after which the display would close a silent socket and read a fresh
# snapshot (which is how it would otherwise show the call).
LIVE_CALL_SECONDS = 10.0
# The display's socket tickets refused (503) before Redis returns: after 0.5, 1, 2 and 4 s of
# back-off, the next retry waits the 5 s cap.
REFUSED_TICKETS = 4
BACKED_OFF_SECONDS = 30.0


@pytest.fixture
def live_on_own_redis(
    database_url: str, kafka_bootstrap: str, projections: ReadModels, tmp_path: Path
) -> Iterator[tuple[Live, OwnRedis]]:
    """An API process, the relay and the display gateway on a Redis server of this test."""
    own_redis = OwnRedis(tmp_path)
    own_redis.start()
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_GATEWAY_GROUP": f"e2e-redis-outage-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_WS_TOKEN_CHECK_SECONDS": "1",
        "SMARTQUEUE_DB_POOL_SIZE": "4",
    }
    try:
        with running_api(database_url, own_redis.url, home, **env) as url:
            live = Live((url, url), env, database_url, own_redis.url, home)
            try:
                live.start_role("relay")
                live.start_role("gateway")
                live.wait_until_flowing(create_tenant(database_url, home, own_redis.url))
                yield live, own_redis
            finally:
                for process in live.processes:
                    _stop(process)
    finally:
        own_redis.stop()


def _call_next_retrying_503(agent: Session, queue_id: str, seconds: float) -> dict:
    """``call-next`` with one Idempotency-Key, retried while the API answers 503."""
    key = uuid.uuid4().hex
    deadline = time.monotonic() + seconds
    while True:
        response = agent.post(
            "agents/call-next/", {"queue_id": queue_id}, headers={"Idempotency-Key": key}
        )
        if response.status_code != 503:
            assert response.status_code == 200, response.text
            return response.json()
        assert time.monotonic() < deadline, f"call-next still 503 after {seconds} s"
        time.sleep(0.2)


def test_through_a_redis_outage_the_display_keeps_its_state_and_shows_new_calls_after(
    browser: Browser, database_url: str, live_on_own_redis: tuple[Live, OwnRedis]
):
    live, own_redis = live_on_own_redis
    tenant = create_tenant(database_url, live.home, own_redis.url)
    with httpx.Client(base_url=live.api_url, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        floor = open_floor(admin)
        queue_id = floor.queue["id"]
        for _ in range(3):
            admin.issue(queue_id)
        agent = admin.add_agent([queue_id])
        agent.set_status("available", counter="4")
        # A second agent makes the call after the outage: the first still holds its ticket.
        other = admin.add_agent([queue_id])
        other.set_status("available", counter="6")
        display = register_device(admin, floor.site["id"], "display", "Hall")
        page, problems = new_page(browser, live.api_url)
        try:
            refused: list[int] = []  # the display's socket tickets refused with 503
            page.on(
                "response",
                lambda answer: (
                    refused.append(1)
                    if answer.url.endswith("/ws-tickets/") and answer.status == 503
                    else None
                ),
            )
            page.goto(device_page_url("display", tenant.slug, display))
            screen = DisplayScreen(page)
            expect(screen.status).to_have_attribute("data-state", "live")
            first = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
            expect(screen.latest.locator(".number")).to_have_text(first["number"])

            own_redis.stop()
            # Never blank: the reconnecting indicator comes, the called number stays meanwhile.
            expect(screen.status).to_have_attribute(
                "data-state", "reconnecting", timeout=OFFLINE_SHOWN_MS
            )
            expect(screen.status).to_have_text("Reconnecting…")
            expect(screen.status).to_have_attribute(
                "title", "Connection lost, showing the last known state"
            )
            expect(screen.latest.locator(".number")).to_have_text(first["number"])
            expect(screen.waiting(queue_id)).to_have_text("2 waiting")
            assert agent.post("agents/call-next/", {"queue_id": queue_id}).status_code == 503
            # An outage longer than the first retries: the display's back-off is at its cap.
            deadline = time.monotonic() + BACKED_OFF_SECONDS
            while len(refused) < REFUSED_TICKETS:
                assert time.monotonic() < deadline, f"{len(refused)} tickets refused"
                page.wait_for_timeout(100)  # lets Playwright deliver the page's events
            expect(screen.latest.locator(".number")).to_have_text(first["number"])
            expect(screen.status).to_have_attribute("data-state", "reconnecting")

            own_redis.start()
            up = time.monotonic()
            second = _call_next_retrying_503(other, queue_id, RESUMED_SECONDS)
            expect(screen.latest.locator(".number")).to_have_text(
                second["number"], timeout=RESUMED_SECONDS * 1000
            )
            shown_after = time.monotonic() - up
            expect(screen.status).to_have_attribute("data-state", "live", timeout=10_000)
            expect(screen.latest.locator(".counter")).to_have_text("Counter 6")
            expect(screen.now_serving).to_contain_text(first["number"])
            expect(screen.waiting(queue_id)).to_have_text("1 waiting")
            print(f"new call shown {shown_after:.2f} s after Redis returned")
            assert shown_after < RESUMED_SECONDS, shown_after

            # Live again, not only polling: the next call arrives over the socket.
            agent.ok("POST", f"tickets/{first['id']}/start/")
            agent.ok("POST", f"tickets/{first['id']}/close/")
            started = time.monotonic()
            third = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
            expect(screen.latest.locator(".number")).to_have_text(
                third["number"], timeout=LIVE_CALL_SECONDS * 1000
            )
            now = time.monotonic()
            print(
                f"next live call shown {now - started:.2f} s after it was made,"
                f" {now - up:.2f} s after Redis returned"
            )
            expect(screen.waiting(queue_id)).to_have_text("0 waiting")
            expect(screen.status).to_have_attribute("data-state", "live")
        finally:
            page.context.close()
        assert problems.errors == [], problems.errors
