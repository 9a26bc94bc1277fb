"""End-to-end fixtures: one real ``smartqueue api`` process for the session, and per test a fresh
tenant (made by ``smartqueue create-tenant``'s own call, see support.py) and an httpx client
talking to the process."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.e2e.support import (
    API,
    LiveSocket,
    ReadModels,
    Session,
    Tenant,
    create_tenant,
    login,
    open_floor,
    process_env,
    smartqueue_executable,
)

# An idle machine starts an API in 2-3 s; one shared by several test runs (load 15-20 on two
# cores) took over 30 s just importing it. A deadline, not a wait: a healthy process ends it early.
STARTUP_SECONDS = 90.0
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


@contextmanager
def running_api(
    database_url: str, redis_url: str, home: Path, port: int | None = None, **extra_env: str
) -> Iterator[str]:
    """A ``smartqueue api`` process serving ``database_url`` until the block ends; its URL."""
    port = port or _free_port()
    base_url = f"http://127.0.0.1:{port}"
    stdout, stderr = home / f"api-{port}.stdout", home / f"api-{port}.stderr"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [smartqueue_executable(), "api", "--host", "127.0.0.1", "--port", str(port)],
            env={**process_env(database_url, home, redis_url), **extra_env},
            stdout=out,
            stderr=err,
        )
    try:
        _wait_until_healthy(process, base_url, stderr)
        yield base_url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def api_url(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[str]:
    """The base URL of a ``smartqueue api`` process serving the session's database."""
    with running_api(database_url, redis_url, e2e_home) as base_url:
        yield base_url


@pytest.fixture
def http(api_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the running API."""
    with httpx.Client(base_url=api_url, timeout=30.0) as client:
        yield client


@pytest.fixture
def new_tenant(database_url: str, redis_url: str, e2e_home: Path) -> Callable[[], Tenant]:
    """Make a fresh tenant (unique slug) as ``smartqueue create-tenant`` does."""
    return lambda: create_tenant(database_url, e2e_home, redis_url)


@pytest.fixture
def admin(http: httpx.Client, new_tenant: Callable[[], Tenant]) -> Session:
    """The signed-in admin of a tenant made for this test alone."""
    tenant = new_tenant()
    return login(http, tenant, tenant.admin_email, tenant.admin_password)


@pytest.fixture(scope="session")
def projections(database_url: str, redis_url: str, e2e_home: Path) -> Iterator[ReadModels]:
    """A ``smartqueue projections`` process for the session; ask for it to get read models
    (``Session.ticket`` then waits for the tickets read model to catch up)."""
    log = (e2e_home / "projections.stderr").open("wb")
    process = subprocess.Popen(
        [smartqueue_executable(), "projections"],
        env=process_env(database_url, e2e_home, redis_url),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    Session.read_models = ReadModels(database_url)
    try:
        yield Session.read_models
    finally:
        Session.read_models = None
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


@dataclass
class Live:
    """The whole live fan-out of the session: the projections, the Kafka relay and the display
    gateway as processes, a real broker, and two API processes whose sockets they feed."""

    api_urls: tuple[str, str]
    env: dict[str, str]
    database_url: str
    redis_url: str
    home: Path
    processes: list[subprocess.Popen] = field(default_factory=list)
    started: int = 0

    @property
    def api_url(self) -> str:
        return self.api_urls[0]

    def api(self, port: int | None = None) -> AbstractContextManager[str]:
        """One more API process with the live settings (on ``port`` when given): its URL."""
        return running_api(self.database_url, self.redis_url, self.home, port, **self.env)

    def start_role(self, *command: str, **extra_env: str) -> subprocess.Popen:
        self.started += 1  # each process its own log, also after others stopped
        log = (self.home / f"{command[0]}-{self.started}.stderr").open("wb")
        process = subprocess.Popen(
            [smartqueue_executable(), *command],
            env={
                **process_env(self.database_url, self.home, self.redis_url),
                **self.env,
                **extra_env,
            },
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        self.processes.append(process)
        return process

    def wait_until_flowing(self, tenant: Tenant, timeout: float = 60.0) -> None:
        """Return once a command's change reaches a socket (the gateway has joined its group,
        which starts at the topics' ends)."""
        with httpx.Client(base_url=self.api_url, timeout=30.0) as client:
            admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
            queue_id = open_floor(admin).queue["id"]
            deadline = time.monotonic() + timeout
            with LiveSocket(self.api_url, admin, f"queues/{queue_id}") as socket:
                socket.receive()
                while time.monotonic() < deadline:
                    admin.issue(queue_id)
                    # A change, not a heartbeat: a gateway far behind the log still beats.
                    if any(m["type"] == "change" for m in socket.quiet_for(1.0)):
                        return
        raise AssertionError(f"no live change reached a socket within {timeout} s")


@pytest.fixture(scope="session")
def live(
    database_url: str,
    redis_url: str,
    e2e_home: Path,
    kafka_bootstrap: str,
    projections: ReadModels,
) -> Iterator[Live]:
    """Relay, display gateway and two API processes over the session's database, Redis and
    broker, with changes already flowing to sockets."""
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_GATEWAY_GROUP": f"e2e-gateway-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_WS_TOKEN_CHECK_SECONDS": "1",
        # Four more processes on the session's server, beside the others the suites start.
        "SMARTQUEUE_DB_POOL_SIZE": "4",
    }
    first = running_api(database_url, redis_url, e2e_home, **env)
    second = running_api(database_url, redis_url, e2e_home, **env)
    with first as one, second as two:
        live = Live((one, two), env, database_url, redis_url, e2e_home)
        try:
            live.start_role("relay")
            live.start_role("gateway")
            live.wait_until_flowing(create_tenant(database_url, e2e_home, redis_url))
            yield live
        finally:
            for process in live.processes:
                _stop(process)
