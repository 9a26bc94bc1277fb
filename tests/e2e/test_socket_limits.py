"""A token holds at most SMARTQUEUE_WS_MAX_PER_TOKEN open WebSockets at once, across every API
process (the count lives in Redis): the next is closed with 4429, and closing one lets a new one
in. Another token of the same user has its own allowance."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import running_api
from tests.e2e.support import LiveSocket, Session, Tenant, login, open_floor

pytestmark = pytest.mark.e2e

LIMIT = 2
TOO_MANY = 4429


@pytest.fixture(scope="module")
def limited_api(database_url: str, redis_url: str, e2e_home: Path):
    """Two API processes sharing one Redis, each allowing a token ``LIMIT`` sockets."""
    settings = {"SMARTQUEUE_WS_MAX_PER_TOKEN": str(LIMIT), "SMARTQUEUE_WS_TOKEN_CHECK_SECONDS": "1"}
    with (
        running_api(database_url, redis_url, e2e_home, **settings) as first,
        running_api(database_url, redis_url, e2e_home, **settings) as second,
    ):
        yield first, second


def _open_when_admitted(url: str, session: Session, path: str, timeout: float = 30.0) -> LiveSocket:
    """A socket that got its snapshot, retrying while the server still counts a closed one."""
    deadline = time.monotonic() + timeout
    while True:
        socket = LiveSocket(url, session, path)
        try:
            message = socket.receive(timeout=10.0)
        except Exception:
            socket.__exit__(None, None, None)
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
            continue
        assert message["type"] == "snapshot"
        return socket


def test_one_token_may_hold_only_so_many_sockets_and_a_freed_one_lets_a_new_one_in(
    limited_api: tuple[str, str], new_tenant: Callable[[], Tenant]
):
    first_url, second_url = limited_api
    tenant = new_tenant()
    with httpx.Client(base_url=first_url, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        path = f"queues/{open_floor(admin).queue['id']}"

        # One socket on each process: the allowance is the token's, not a process's.
        with LiveSocket(first_url, admin, path) as one, LiveSocket(second_url, admin, path) as two:
            assert one.receive()["type"] == "snapshot"
            assert two.receive()["type"] == "snapshot"
            with LiveSocket(first_url, admin, path) as third:
                code, reason = third.closed_with(timeout=10.0)
                assert code == TOO_MANY, (code, reason)
                assert str(LIMIT) in reason
            # Another sign-in of the same user is another token, with its own allowance.
            other = login(client, tenant, tenant.admin_email, tenant.admin_password)
            with LiveSocket(second_url, other, path) as elsewhere:
                assert elsewhere.receive()["type"] == "snapshot"
            # The two admitted ones stay open (a closed one would raise here).
            one.quiet_for(0.2), two.quiet_for(0.2)

        # Both closed by the client: the server frees their places.
        again = _open_when_admitted(first_url, admin, path)
        with again, LiveSocket(second_url, admin, path) as fourth:
            assert fourth.receive(timeout=10.0)["type"] == "snapshot"
