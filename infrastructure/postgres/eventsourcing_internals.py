"""Every use of a private part of ``eventsourcing``, in one place, under public names.

The library offers no public hook into its recorders' write transaction, no way to call an insert
without its retry decorator, and no way to add a value to an event's stored state other than by
declaring it on the event. Each such use below names the version it was read against;
``tests/unit/test_eventsourcing_internals.py`` fails when the installed library is outside
``CHECKED_VERSIONS`` or any of these names changes, and must be re-read (with this module) before
the pin in ``pyproject.toml`` is widened. The rest of the code subclasses the classes here and
overrides only their public hooks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection, Cursor
from psycopg.rows import DictRow
from psycopg_pool import ConnectionPool

CHECKED_VERSIONS = ((9, 5, 6), (9, 6, 0))
"""The ``eventsourcing`` versions read: from the first (included) to the second (excluded)."""

E = TypeVar("E")


def replace_pool_check(pool: ConnectionPool[Any], check: Callable[[Connection[Any]], None]) -> None:
    """Have ``pool`` run ``check`` on each connection it hands out.

    The event store's pool is built by ``PostgresDatastore.__init__`` (checked against 9.5.6),
    which passes ``check=ConnectionPool.check_connection`` when ``POSTGRES_PRE_PING`` is on and
    offers no way to pass another. psycopg_pool (checked against 3.3.3) keeps the constructor's
    ``check`` in the private ``_check``, read by ``_check_connection`` on every ``getconn``.
    tests/integration/test_pool_recovery.py fails if the replacement stops taking effect.
    """
    pool._check = check


def with_metadata(domain_event: E, metadata: Mapping[str, Any]) -> E:
    """A copy of ``domain_event`` that carries ``metadata`` in its stored state.

    Checked against 9.5.6: ``Mapper.to_stored_event`` stores ``vars(domain_event)`` and
    ``Mapper.to_domain_event`` restores that dict as the loaded event's ``__dict__``, so an
    attribute that is not a field survives the round trip and reads back as ``event.metadata``.
    The library's events are frozen dataclasses: the copy is stamped past its ``__setattr__``,
    and the caller's event is left as it was.
    """
    stamped = copy.copy(domain_event)
    object.__setattr__(stamped, "metadata", dict(metadata))
    return stamped


# Checked against 9.5.6: ``PostgresApplicationRecorder.insert_events`` is decorated with
# ``eventsourcing.utils.retry``, which keeps the undecorated function as ``__wrapped__``
# (``functools.wraps``). tests/integration/test_insert_not_retried.py fails if it is retried.
_insert_events_undecorated: Callable[..., Sequence[int] | None] = (
    PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]
)


class PostgresRecorderHooks(PostgresApplicationRecorder):
    """The stock PostgreSQL application recorder, with public hooks into its write transaction.

    Checked against 9.5.6, where ``insert_events`` opens a pipelined transaction and calls
    ``_insert_events(curs, ...)`` (a no-op meant for "other things first"), then, if there are
    events, ``_insert_stored_events``, which takes the table lock (``_lock_table(curs)``), calls
    ``_notify_channel(curs)`` and inserts, then ``_fetch_ids_after_insert_events(curs, ...)``. With
    ``POSTGRES_ENABLE_DB_FUNCTIONS`` it inserts through a database function instead and calls
    none of them, so that setting is refused here.
    """

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        if datastore.enable_db_functions:
            raise ValueError(
                f"{type(self).__name__} cannot run its hooks with POSTGRES_ENABLE_DB_FUNCTIONS "
                "on; leave it off"
            )
        super().__init__(datastore, **kwargs)

    def before_insert(self, cursor: Cursor[DictRow], **kwargs: Any) -> None:
        """Runs first in the write transaction, with the keywords given to ``insert_events``."""

    def lock_table(self, cursor: Cursor[DictRow]) -> None:
        """Runs in the write transaction before the ids are drawn: the stock ``LOCK TABLE ...
        IN EXCLUSIVE MODE`` (with its ``lock_timeout``), held to the commit."""
        super()._lock_table(cursor)

    def notify_channel(self, cursor: Cursor[DictRow]) -> None:
        """Runs in the write transaction once the table is locked: the stock ``NOTIFY``."""
        super()._notify_channel(cursor)

    def after_insert(self, cursor: Cursor[DictRow], notification_ids: Sequence[int]) -> None:
        """Runs in the write transaction once the events are inserted and their ids drawn."""

    def insert_events_once(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The stock ``insert_events`` without the library's retries on a lost connection."""
        return _insert_events_undecorated(self, stored_events, **kwargs)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        self.before_insert(curs, **kwargs)

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        self.lock_table(curs)

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        self.notify_channel(curs)

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        self.after_insert(curs, ids or ())
        return ids


class POPORecorderHooks(POPOApplicationRecorder):
    """The stock in-memory application recorder, with a public hook under its store's lock.

    Checked against 9.5.6, where ``insert_events`` calls ``_insert_events``, which holds
    ``_database_lock`` while it runs ``_assert_uniqueness`` and then ``_update_table``.
    """

    def before_update(self, **kwargs: Any) -> None:
        """Runs under the store's lock once the events are known to be new, before they are
        stored, with the keywords given to ``insert_events``."""

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            self.before_update(**kwargs)
            return self._update_table(stored_events, **kwargs)
