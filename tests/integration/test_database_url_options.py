"""Every option of DATABASE_URL reaches the server, on every pool a process opens: the event
store's, the plain tables' and the read models'. Checked with ``application_name``, which the
server shows in ``pg_stat_activity`` for each connection."""

from __future__ import annotations

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

SEEN_BY_SERVER = "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"


@pytest.fixture
def named_container(database_url: str, redis_url: str, tmp_path: Path) -> Iterator[Container]:
    name = f"sq-options-{uuid.uuid4().hex[:8]}"
    url = make_conninfo(database_url, application_name=name)
    built = build_container(settings_for(url, tmp_path, redis_url))
    built.test_application_name = name  # type: ignore[attr-defined]
    yield built
    built.close()


def test_the_event_store_connects_with_the_options_of_database_url(named_container):
    with named_container.app.recorder.datastore.get_connection() as connection:
        row = connection.execute(SEEN_BY_SERVER).fetchone()
    assert row is not None
    assert row["application_name"] == named_container.test_application_name


def test_the_plain_tables_and_read_models_connect_with_the_options_of_database_url(
    named_container,
):
    with named_container.pool.connection() as connection:
        assert connection.execute(SEEN_BY_SERVER).fetchone() == (
            named_container.test_application_name,
        )
    with named_container.read_engine.connect() as connection:
        assert connection.execute(text(SEEN_BY_SERVER)).scalar_one() == (
            named_container.test_application_name
        )


def test_another_session_sees_the_name_on_the_event_store_and_pool_connections(
    named_container, database_url: str
):
    """What an operator sees: ``pg_stat_activity`` read from another session."""
    with named_container.app.recorder.datastore.get_connection() as connection:
        event_store_pid = connection.info.backend_pid
    with named_container.pool.connection() as connection:
        pool_pid = connection.info.backend_pid
    with psycopg.connect(database_url, autocommit=True) as observer:
        names = dict(
            observer.execute(
                "SELECT pid, application_name FROM pg_stat_activity WHERE pid = ANY(%s)",
                ([event_store_pid, pool_pid],),
            ).fetchall()
        )
    assert names == {
        event_store_pid: named_container.test_application_name,
        pool_pid: named_container.test_application_name,
    }
