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
from sqlalchemy import text

from infrastructure.container import Container, build_container
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
