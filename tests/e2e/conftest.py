"""End-to-end fixtures: one real ``smartqueue api`` process for the session, and per test a fresh
tenant made with ``smartqueue create-tenant`` and an httpx client talking to the process."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import (
    API,
    Session,
    Tenant,
    create_tenant,
    login,
    process_env,
    smartqueue_executable,
)

STARTUP_SECONDS = 30.0
SHUTDOWN_SECONDS = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tail(path: Path, limit: int = 4000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-limit:]


def _wait_until_healthy(process: subprocess.Popen, base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"smartqueue api exited with {process.returncode} before answering:\n"
                f"{_tail(stderr)}"
            )
        try:
            response = httpx.get(f"{base_url}{API}/health/", timeout=1.0)
            if response.status_code == 200 and response.json().get("status") == "ok":
                return
            last_error = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as error:
            last_error = repr(error)
        time.sleep(0.1)
    pytest.fail(
        f"smartqueue api did not answer {API}/health/ within {STARTUP_SECONDS:.0f} s "
        f"(last: {last_error}):\n{_tail(stderr)}"
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=SHUTDOWN_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=SHUTDOWN_SECONDS)


@pytest.fixture(scope="session")
def e2e_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMARTQUEUE_HOME of every process the end-to-end tests start."""
    return tmp_path_factory.mktemp("e2e-home")


@pytest.fixture(scope="session")
def api_url(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """The base URL of a ``smartqueue api`` process serving the session's database."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    stdout, stderr = e2e_home / "api.stdout", e2e_home / "api.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [smartqueue_executable(), "api", "--host", "127.0.0.1", "--port", str(port)],
            env=process_env(database_url, e2e_home, redis_url),
            stdout=out,
            stderr=err,
        )
    try:
        _wait_until_healthy(process, base_url, stderr)
        yield base_url
    finally:
        _stop(process)


@pytest.fixture
def http(api_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the running API."""
    with httpx.Client(base_url=api_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def new_tenant(database_url: str, redis_url: str, e2e_home: Path) -> Callable[[], Tenant]:
    """Make a fresh tenant (unique slug) with ``smartqueue create-tenant``."""
    return lambda: create_tenant(database_url, e2e_home, redis_url)


@pytest.fixture
def admin(http: httpx.Client, new_tenant: Callable[[], Tenant]) -> Session:
    """The signed-in admin of a tenant made for this test alone."""
    tenant = new_tenant()
    return login(http, tenant, tenant.admin_email, tenant.admin_password)


@pytest.fixture(scope="module")
def projections(database_url: str, redis_url: str, e2e_home: Path, api_url: str) -> Iterator[None]:
    """A ``smartqueue projections`` process, caught up with the log when the test starts; ask
    for it to get read models. Per module, not per session: a follower left running would hold
    the projection locks that integration tests later in the same session take themselves."""
    log = (e2e_home / "projections.stderr").open("ab")
    process = subprocess.Popen(
        [smartqueue_executable(), "projections"],
        env=process_env(database_url, e2e_home, redis_url),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        _wait_until_caught_up(process, api_url)
        yield
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def _wait_until_caught_up(process: subprocess.Popen, api_url: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    lag: dict = {}
    while time.monotonic() < deadline and process.poll() is None:
        lag = httpx.get(f"{api_url}{API}/health/ready", timeout=5.0).json()["projection_lag"]
        if lag and not any(lag.values()):
            return
        time.sleep(0.1)
    pytest.fail(f"the projections did not catch up within {STARTUP_SECONDS:.0f} s: {lag}")
