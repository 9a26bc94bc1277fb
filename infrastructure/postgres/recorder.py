"""Event-store recorders that apply "side writes" in the same transaction as the events.

A side write is a change to a plain table (a customer's personal data) that must commit exactly
when the events of the same save commit. The application passes them as the ``side_writes``
keyword of ``save()``; the library hands its keywords to ``recorder.insert_events``, whose
PostgreSQL implementation calls ``_insert_events(curs, ...)`` inside its write transaction before
inserting the events. A lost optimistic-concurrency race (duplicate aggregate version) rolls the
side writes back with the events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

from application.ports import SideWrite

SIDE_WRITES = "side_writes"  # the keyword ContextualApplication.save_in_context passes
POSTGRES_RECORDER_TOPIC = "infrastructure.postgres.recorder:SideWritingPostgresRecorder"
IN_MEMORY_PERSISTENCE_TOPIC = "infrastructure.postgres.recorder:SideWritingPOPOFactory"


def _side_writes(kwargs: dict[str, Any]) -> Sequence[SideWrite]:
    return kwargs.get(SIDE_WRITES) or ()


class SideWritingPostgresRecorder(PostgresApplicationRecorder):
    """The stock PostgreSQL application recorder, plus side writes in its write transaction.

    Selected with ``APPLICATION_RECORDER_TOPIC``. It keeps the stock recorder's table lock, and
    its one NOTIFY per write transaction on ``channel_name``, but sends it after the insert with
    the transaction's highest notification id as payload, so a listening follower knows how far
    to read. PostgreSQL delivers it only if and when the transaction commits.
    """

    applies_side_writes = True

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The stock insert, tried once. The library retries it on a lost connection, but the
        connection may have been lost during COMMIT, after the events were stored: the retry
        then hits their unique versions, which reads as a concurrency conflict, and the command
        ran again (a second ticket). Failing instead lets the caller answer 503, and a client
        retrying with its Idempotency-Key learns whether the command took effect."""
        return _insert_events_once(self, stored_events, **kwargs)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        writes = _side_writes(kwargs)
        if writes:
            # The recorder runs in pipeline mode; a nested pipeline syncs on exit, so a failing
            # side write raises its own error (a unique violation, say) here, rather than
            # surfacing later as "pipeline aborted" on the events' statements.
            with curs.connection.pipeline():
                for write in writes:
                    write.apply(curs)
        super()._insert_events(curs, stored_events, **kwargs)

    def _notify_channel(self, curs: Cursor[DictRow]) -> None:
        """Nothing yet: the ids are not drawn; ``_fetch_ids_after_insert_events`` notifies."""

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            curs.execute("SELECT pg_notify(%s, %s)", (self.channel_name, str(max(ids))))
        return ids


# ``eventsourcing.utils.retry`` wraps with functools.wraps: the undecorated insert is kept there.
# tests/integration/test_insert_not_retried.py fails if that changes.
_insert_events_once = PostgresApplicationRecorder.insert_events.__wrapped__  # type: ignore[attr-defined]


class SideWritingPOPORecorder(POPOApplicationRecorder):
    """The in-memory equivalent: side writes run only once the events are known to be unique,
    under the store's lock, so a refused save leaves them unapplied."""

    applies_side_writes = True

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            self._assert_uniqueness(stored_events, **kwargs)
            for write in _side_writes(kwargs):
                write.apply(None)
            return self._update_table(stored_events, **kwargs)


class SideWritingPOPOFactory(POPOFactory):
    """``PERSISTENCE_MODULE`` for in-memory applications that save side writes (unit tests)."""

    def application_recorder(self) -> SideWritingPOPORecorder:
        return SideWritingPOPORecorder()
