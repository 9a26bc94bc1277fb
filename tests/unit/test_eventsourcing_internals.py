"""The private parts of ``eventsourcing`` that ``infrastructure.postgres.eventsourcing_internals``
relies on are still there, shaped and called as they were when it was written.

A failure here means the installed library changed underneath: re-read its source against that
module (and its comments), adapt it, then update ``CHECKED_VERSIONS`` and the pin in
``pyproject.toml``.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version
from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.popo import POPOAggregateRecorder, POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg_pool import ConnectionPool

from infrastructure.postgres.eventsourcing_internals import (
    CHECKED_VERSIONS,
    POPORecorderHooks,
    PostgresRecorderHooks,
    replace_pool_check,
    with_metadata,
)


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


def _parameters(function: Any) -> list[str]:
    return [
        ("**" if p.kind is p.VAR_KEYWORD else "") + p.name
        for p in inspect.signature(function).parameters.values()
    ]


def _calls(function: Any) -> set[str]:
    """The attribute names the function's code refers to (the methods it calls)."""
    return set(function.__code__.co_names)


def test_the_installed_eventsourcing_is_a_version_the_internals_were_checked_against():
    first, beyond = CHECKED_VERSIONS
    installed = _release(version("eventsourcing"))
    assert first <= installed < beyond, (
        f"eventsourcing {version('eventsourcing')} is outside the versions "
        "infrastructure/postgres/eventsourcing_internals.py was checked against"
    )


def test_the_postgres_insert_is_retried_by_a_decorator_that_keeps_the_undecorated_insert():
    undecorated = PostgresApplicationRecorder.insert_events.__wrapped__

    assert _parameters(undecorated) == ["self", "stored_events", "**kwargs"]
    assert not hasattr(undecorated, "__wrapped__")


def test_the_postgres_insert_calls_the_transaction_hooks_the_recorders_override():
    recorder = PostgresApplicationRecorder
    undecorated = recorder.insert_events.__wrapped__

    assert {"_insert_events", "_insert_stored_events", "_fetch_ids_after_insert_events"} <= (
        _calls(undecorated)
    )
    assert {"_lock_table", "_notify_channel"} <= _calls(recorder._insert_stored_events)
    assert _parameters(recorder._insert_events) == ["self", "curs", "stored_events", "**_"]
    assert _parameters(recorder._notify_channel) == ["self", "curs"]
    assert _parameters(recorder._lock_table) == ["self", "curs"]
    assert _parameters(recorder._fetch_ids_after_insert_events) == [
        "self",
        "curs",
        "stored_events",
        "**_",
    ]


def test_the_in_memory_insert_checks_uniqueness_then_updates_its_table_under_its_lock():
    assert "_insert_events" in _calls(POPOApplicationRecorder.insert_events)
    assert {"_database_lock", "_assert_uniqueness", "_update_table"} <= _calls(
        POPOAggregateRecorder._insert_events
    )
    assert _parameters(POPOAggregateRecorder._insert_events) == [
        "self",
        "stored_events",
        "**kwargs",
    ]
    assert _parameters(POPOAggregateRecorder._assert_uniqueness) == ["self", "stored_events", "**_"]
    assert _parameters(POPOAggregateRecorder._update_table) == ["self", "stored_events", "**_"]
    lock = POPOApplicationRecorder()._database_lock
    assert hasattr(lock, "__enter__") and hasattr(lock, "__exit__")


class Spy(POPORecorderHooks):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[dict[str, Any], int]] = []

    def before_update(self, **kwargs: Any) -> None:
        self.seen.append((kwargs, len(self.select_notifications(start=None, limit=10))))


def _stored(version: int) -> StoredEvent:
    return StoredEvent(
        originator_id="3f1c5d9e-0b5e-4e4f-9a4e-6c1d2b7a8e90",
        originator_version=version,
        topic="t",
        state=b"{}",
    )


def test_the_in_memory_hook_runs_after_the_uniqueness_check_and_before_the_events_are_stored():
    recorder = Spy()

    recorder.insert_events([_stored(1)], side_writes=("w",))
    with pytest.raises(IntegrityError):
        recorder.insert_events([_stored(1)], side_writes=("again",))

    assert recorder.seen == [({"side_writes": ("w",)}, 0)]


class Parcel(Aggregate):
    @event("Sent")
    def __init__(self, to: str) -> None:
        self.to = to


def test_metadata_stamped_on_an_event_is_stored_with_it_and_read_back_as_an_attribute():
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    mapper: Mapper[Any] = Mapper(transcoder=transcoder)
    parcel = Parcel(to="Lyon")
    (sent,) = parcel.collect_events()
    metadata = {"actor_role": "agent", "correlation_id": "corr-1"}

    loaded = mapper.to_domain_event(mapper.to_stored_event(with_metadata(sent, metadata)))

    assert type(loaded) is type(sent)
    assert loaded.metadata == metadata  # type: ignore[attr-defined]
    assert loaded.to == "Lyon"  # type: ignore[attr-defined]
    assert not hasattr(sent, "metadata")


def test_the_event_store_pool_takes_its_check_from_the_datastore_and_keeps_it_privately():
    assert "pre_ping" in _parameters(PostgresDatastore.__init__)
    assert "check_connection" in _calls(PostgresDatastore.__init__)
    assert "_check" in _calls(ConnectionPool._check_connection)
    pool: ConnectionPool[Any] = ConnectionPool(
        "", open=False, check=ConnectionPool.check_connection
    )
    assert pool._check is ConnectionPool.check_connection

    def check(connection: Any) -> None:
        pass

    replace_pool_check(pool, check)

    assert pool._check is check


def _datastore(**options: Any) -> PostgresDatastore:
    """A datastore whose pool is never opened (a recorder built on it would connect)."""
    return PostgresDatastore("db", "127.0.0.1", 5432, "user", "password", **options)


def test_the_postgres_hooks_refuse_the_database_function_insert_that_would_skip_them():
    assert "enable_db_functions" in _parameters(PostgresDatastore.__init__)
    assert "enable_db_functions" in _calls(PostgresApplicationRecorder.insert_events.__wrapped__)

    with pytest.raises(ValueError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
        PostgresRecorderHooks(_datastore(enable_db_functions=True))
