"""After PostgreSQL drops every connection of a process (a restart, ``pg_terminate_backend``),
the next use of each pool succeeds at once, without restarting the process: the dead connections
are found before use and replaced together, not one per back-off step."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool
from sqlalchemy import text

from infrastructure.container import Container, build_container
from infrastructure.postgres.pool_check import PurgingCheck
from tests.conftest import settings_for

pytestmark = pytest.mark.integration

PROMPT_SECONDS = 3.0  # one short pause (psycopg_pool's first back-off, 1 s) and reconnecting


@pytest.fixture
def cut_off(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Container]:
    """A process's container with full pools, whose every connection the server then ends."""
    name = f"sq-cut-{uuid.uuid4().hex[:8]}"
    container = build_container(
        settings_for(make_conninfo(database_url, application_name=name), tmp_path, redis_url)
    )
    try:
        container.app.recorder.max_notification_id()
        container.app.recorder.datastore.pool.wait(timeout=30)  # every event store connection
        with container.pool.connection(), container.read_engine.connect() as read:
            read.execute(text("SELECT 1"))
        with psycopg.connect(database_url, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s",
                (name,),
            ).fetchall()
        assert len(ended) >= 4, ended
        yield container
    finally:
        container.close()


def _timed(action) -> float:
    started = time.monotonic()
    action()
    return time.monotonic() - started


def test_the_event_store_recovers_at_once_after_losing_every_connection(cut_off):
    assert _timed(cut_off.app.recorder.max_notification_id) < PROMPT_SECONDS


def test_the_plain_tables_pool_recovers_at_once_after_losing_every_connection(cut_off):
    def query() -> None:
        with cut_off.pool.connection() as connection:
            connection.execute("SELECT 1")

    assert _timed(query) < PROMPT_SECONDS


def test_the_read_models_engine_recovers_at_once_after_losing_every_connection(cut_off):
    def query() -> None:
        with cut_off.read_engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    assert _timed(query) < PROMPT_SECONDS


def _pid(pool: ConnectionPool) -> int:
    with pool.connection() as connection:
        return int(connection.execute("SELECT pg_backend_pid()").fetchone()[0])


def test_a_live_connection_is_handed_out_without_asking_the_server_and_a_dead_one_is_found(
    database_url: str,
):
    check = PurgingCheck(quiet_seconds=60)
    pool = ConnectionPool(database_url, min_size=1, max_size=1, open=False, check=check)
    check.pool = pool
    pool.open(wait=True, timeout=30)
    try:
        first = _pid(pool)
        for _ in range(10):
            assert _pid(pool) == first
        assert check.asked == 1  # its first use only: a busy pool no longer pings each checkout

        with psycopg.connect(database_url, autocommit=True) as admin:
            # Waits (up to 5 s) until the backend is gone, so its FATAL is on the socket.
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (first,)).fetchone()[0]
        started = time.monotonic()
        second = _pid(pool)
        assert second != first
        assert time.monotonic() - started < PROMPT_SECONDS
        assert check.asked >= 2  # the socket had news: the server was asked, and the pool purged
    finally:
        pool.close()


def test_a_connection_left_quiet_is_asked_again(database_url: str):
    check = PurgingCheck(quiet_seconds=0.2)
    pool = ConnectionPool(database_url, min_size=1, max_size=1, open=False, check=check)
    check.pool = pool
    pool.open(wait=True, timeout=30)
    try:
        _pid(pool)
        _pid(pool)
        assert check.asked == 1
        time.sleep(0.3)
        _pid(pool)
        assert check.asked == 2
    finally:
        pool.close()
