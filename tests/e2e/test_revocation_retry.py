"""Revocation survives a Redis failure: when Redis is lost after a deactivation, a change of
rights or a device revocation was saved but before the token denylist was written, the client
gets 503, and the same command retried once Redis is back completes the revocation.

Redis is cut at exactly that moment: the test holds the event table's write lock, so the
command waits inside its save; Redis is cut, the lock released, the save commits and the
denylist write meets a dead Redis.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.cuttable_proxy import CuttableProxy
from tests.e2e.support import API, Session, Tenant, assert_problem, create_tenant, login, open_floor

pytestmark = pytest.mark.e2e

EVENTS_TABLE = "smartqueue_events"
WAITING_WRITERS = """
    SELECT count(*) FROM pg_locks JOIN pg_class ON pg_class.oid = pg_locks.relation
    WHERE pg_class.relname = %s AND NOT pg_locks.granted
"""


@pytest.fixture(scope="module")
def proxy(redis_url: str) -> Iterator[CuttableProxy]:
    """A cuttable way to the session's Redis for one API process."""
    cuttable = CuttableProxy(redis_url).start()
    try:
        yield cuttable
    finally:
        cuttable.cut()


@pytest.fixture(scope="module")
def proxied_api(database_url: str, proxy: CuttableProxy, e2e_home: Path) -> Iterator[str]:
    """An API process whose only way to Redis is the proxy."""
    with running_api(database_url, proxy.url, e2e_home) as base_url:
        yield base_url


@pytest.fixture
def admin(
    proxied_api: str, proxy: CuttableProxy, database_url: str, redis_url: str, e2e_home: Path
) -> Iterator[Session]:
    """The signed-in admin of a fresh tenant, on the proxied API (Redis restored afterwards)."""
    tenant: Tenant = create_tenant(database_url, e2e_home, redis_url)
    with httpx.Client(base_url=proxied_api, timeout=30.0) as client:
        try:
            yield login(client, tenant, tenant.admin_email, tenant.admin_password)
        finally:
            if proxy.listener is None:
                proxy.start()


def _lose_redis_after_the_save(
    database_url: str, proxy: CuttableProxy, send: Callable[[], httpx.Response]
) -> httpx.Response:
    """Send a command; cut Redis while it waits to save its events; let the save go on."""
    answers: list[httpx.Response] = []
    with psycopg.connect(database_url) as blocker:
        blocker.execute(f"LOCK TABLE {EVENTS_TABLE} IN EXCLUSIVE MODE")
        sender = threading.Thread(target=lambda: answers.append(send()))
        sender.start()
        deadline = time.monotonic() + 30
        with psycopg.connect(database_url, autocommit=True) as watcher:
            while not watcher.execute(WAITING_WRITERS, (EVENTS_TABLE,)).fetchone()[0]:
                assert time.monotonic() < deadline, "the command never reached its save"
                time.sleep(0.02)
        proxy.cut()
        blocker.rollback()
    sender.join(timeout=60)
    assert answers, "the command did not answer"
    return answers[0]


def _restore(proxy: CuttableProxy, session: Session) -> None:
    """Bring Redis back and wait until the API answers authenticated requests again."""
    proxy.start()
    deadline = time.monotonic() + 30
    while session.get("sites/").status_code != 200:
        assert time.monotonic() < deadline, "the API did not recover once Redis was back"
        time.sleep(0.1)


def test_a_deactivation_retried_after_redis_failed_revokes_the_users_tokens(
    admin: Session, proxy: CuttableProxy, database_url: str
) -> None:
    agent = admin.add_agent()
    deactivate = f"users/{agent.user['id']}/deactivate/"

    lost = _lose_redis_after_the_save(database_url, proxy, lambda: admin.post(deactivate))

    assert_problem(lost, 503, "unavailable")
    assert lost.headers.get("retry-after")
    _restore(proxy, admin)
    retried = admin.post(deactivate)
    # The user was deactivated by the first attempt: the retry says so, after revoking.
    assert "already deactivated" in assert_problem(retried, 409, "user_conflict")["detail"]
    assert_problem(agent.get("agents/me/"), 401, "unauthorized")
    refreshing = admin.client.post(
        f"{API}/auth/refresh/", json={"refresh_token": agent.refresh_token}
    )
    assert_problem(refreshing, 401)


def test_a_change_of_rights_retried_after_redis_failed_revokes_the_users_tokens(
    admin: Session, proxy: CuttableProxy, database_url: str
) -> None:
    agent = admin.add_agent()
    promote = f"users/{agent.user['id']}/"

    lost = _lose_redis_after_the_save(
        database_url, proxy, lambda: admin.patch(promote, {"role": "manager"})
    )

    assert_problem(lost, 503, "unavailable")
    _restore(proxy, admin)
    assert admin.patch(promote, {"role": "manager"}).json()["role"] == "manager"
    assert_problem(agent.get("agents/me/"), 401, "unauthorized")


def test_a_device_revocation_retried_after_redis_failed_refuses_the_devices_token(
    admin: Session, proxy: CuttableProxy, database_url: str
) -> None:
    floor = open_floor(admin)
    registered = admin.ok(
        "POST", "devices/", {"site_id": floor.site["id"], "kind": "kiosk", "name": "K"}, 201
    )
    signed_in = admin.client.post(
        f"{API}/auth/device/",
        json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
    )
    kiosk = Session(admin.client, admin.tenant, signed_in.json()["access_token"], {})
    assert kiosk.get("queues/").status_code == 200
    revoke = f"devices/{registered['device']['id']}/revoke/"

    lost = _lose_redis_after_the_save(database_url, proxy, lambda: admin.post(revoke))

    assert_problem(lost, 503, "unavailable")
    _restore(proxy, admin)
    assert_problem(admin.post(revoke), 409, "device_revoked")
    assert_problem(kiosk.get("queues/"), 401, "unauthorized")


def test_a_logout_refused_while_redis_is_down_succeeds_when_retried(
    admin: Session, proxy: CuttableProxy
) -> None:
    def logout() -> httpx.Response:
        return admin.client.post(f"{API}/auth/logout/", headers=admin.headers)

    proxy.cut()
    assert_problem(logout(), 503, "unavailable")
    _restore(proxy, admin)

    assert logout().status_code == 204
    assert_problem(admin.get("sites/"), 401, "unauthorized")
