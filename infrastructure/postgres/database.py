"""Connecting to PostgreSQL: the event store's settings and a pool for the identity tables."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from infrastructure.postgres.concurrent_recorder import CONCURRENT_RECORDER_TOPIC
from infrastructure.postgres.embedded import embedded_database_url
from infrastructure.postgres.event_store import CONNINFO, FACTORY_TOPIC
from infrastructure.postgres.pool_check import PurgingCheck
from infrastructure.postgres.recorder import POSTGRES_RECORDER_TOPIC
from infrastructure.settings import Settings

EMBEDDED_RUNTIME_ROLE = "smartqueue_app"  # the runtime login on the embedded default


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set, else the embedded PostgreSQL (started if need be) as its runtime
    login, which ``migrate`` creates and which owns nothing."""
    if settings.database.url:
        return settings.database.url
    return make_conninfo(embedded_database_url(settings.home), user=EMBEDDED_RUNTIME_ROLE)


def event_store_env(
    database_url: str, settings: Settings, *, create_tables: bool
) -> dict[str, str]:
    """The ``eventsourcing`` PostgreSQL recorder's settings for ``database_url``.

    Roles start with table creation off: several processes creating the library's tables at once
    fail ("tuple concurrently updated"), so ``smartqueue migrate`` creates them once.
    The whole URL is passed on too, so every option in it (``sslmode``, ``application_name``,
    ...) reaches the server; the separate parts only satisfy the library's required settings.
    Connections are checked before use, so a pool recovers after PostgreSQL restarts.
    """
    parts = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": FACTORY_TOPIC,
        CONNINFO: database_url,
        "POSTGRES_DBNAME": str(parts.get("dbname", "postgres")),
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        # The recorder requires a password setting even under trust authentication.
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
        "POSTGRES_POOL_SIZE": str(settings.database.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.database.pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "5",
        "POSTGRES_PRE_PING": "y",
        "CREATE_TABLE": "y" if create_tables else "n",
        # Writes customers' personal data in the same transaction as their events; with
        # SMARTQUEUE_RECORDER=concurrent, without the table lock (concurrent_recorder.py).
        "APPLICATION_RECORDER_TOPIC": (
            CONCURRENT_RECORDER_TOPIC
            if settings.database.recorder == "concurrent"
            else POSTGRES_RECORDER_TOPIC
        ),
        # Recently used aggregates stay in memory and are fast-forwarded from the store before
        # each use (application/base.py, FastForwardingRepository); "0" turns that off.
        "AGGREGATE_CACHE_MAXSIZE": str(settings.database.aggregate_cache_size),
    }


def open_pool(database_url: str, size: int) -> ConnectionPool:
    """A psycopg pool for the plain tables (identity). Opened explicitly, never at import.

    Each connection is checked as it leaves the pool: one the server closed meanwhile (a
    restart, ``pg_terminate_backend``) is replaced instead of failing the request.
    """
    check = PurgingCheck()
    pool = ConnectionPool(
        database_url,
        min_size=1,
        max_size=size,
        open=False,
        name="smartqueue",
        check=check,
    )
    check.pool = pool
    pool.open(wait=True, timeout=30)
    return pool
