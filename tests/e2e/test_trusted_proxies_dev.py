"""``smartqueue dev`` believes no ``X-Forwarded-For`` either unless SMARTQUEUE_TRUSTED_PROXIES
names the proxy: a local client cannot pick the address the sign-in limiter counts."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import _free_port, _stop, _wait_until_healthy
from tests.e2e.support import API, process_env, smartqueue_executable

pytestmark = pytest.mark.e2e


@contextmanager
def running_dev(env: dict[str, str], home: Path) -> Iterator[str]:
    port = _free_port()
    stderr = home / f"dev-{port}.stderr"
    with stderr.open("wb") as err:
        process = subprocess.Popen(
            [smartqueue_executable(), "dev", "--no-demo", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(process, base_url, stderr)
        yield base_url
    finally:
        _stop(process)


def _forged_sign_ins(base_url: str, count: int) -> list[int]:
    statuses = []
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        for index in range(count):
            response = client.post(
                f"{API}/auth/",
                json={"email": f"nobody-{uuid.uuid4().hex[:8]}@example.test", "password": "x"},
                headers={"X-Forwarded-For": f"192.0.2.{index + 1}"},
            )
            statuses.append(response.status_code)
    return statuses


def test_dev_counts_sign_ins_against_the_peer_not_the_forwarded_address(
    database_url: str, redis_url: str, kafka_bootstrap: str, e2e_home: Path
):
    env = {
        **process_env(database_url, e2e_home, redis_url),
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_GATEWAY_GROUP": f"e2e-dev-{uuid.uuid4().hex[:8]}",
        # A rate no other test uses: its own count of 127.0.0.1 in the session's Redis.
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "5/minute",
    }
    with running_dev(env, e2e_home) as base_url:
        assert _forged_sign_ins(base_url, 6) == [401] * 5 + [429]
