"""Event-store recorders that apply "side writes" in the same transaction as the events.

A side write is a change to a plain table (a customer's personal data) that must commit exactly
when the events of the same save commit. The application passes them as the ``side_writes``
keyword of ``save()``; the library hands its keywords to ``recorder.insert_events``, which runs
them in its write transaction before inserting the events. A lost optimistic-concurrency race
(duplicate aggregate version) rolls the side writes back with the events.

The library has no public hook into that transaction: these recorders override the public hooks
of :mod:`infrastructure.postgres.eventsourcing_internals`, which keeps the private ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.popo import POPOFactory
from psycopg import Cursor
from psycopg.rows import DictRow

from application.base import SIDE_WRITES
from application.ports import SideWrite
from infrastructure.postgres.event_metadata import StampingEventStoreFactory
from infrastructure.postgres.eventsourcing_internals import POPORecorderHooks, PostgresRecorderHooks

POSTGRES_RECORDER_TOPIC = "infrastructure.postgres.recorder:SideWritingPostgresRecorder"
IN_MEMORY_PERSISTENCE_TOPIC = "infrastructure.postgres.recorder:SideWritingPOPOFactory"


def _side_writes(kwargs: dict[str, Any]) -> Sequence[SideWrite]:
    return kwargs.get(SIDE_WRITES) or ()


class SideWritingPostgresRecorder(PostgresRecorderHooks):
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
        return self.insert_events_once(stored_events, **kwargs)

    def before_insert(self, cursor: Cursor[DictRow], **kwargs: Any) -> None:
        writes = _side_writes(kwargs)
        if writes:
            # The recorder runs in pipeline mode; a nested pipeline syncs on exit, so a failing
            # side write raises its own error (a unique violation, say) here, rather than
            # surfacing later as "pipeline aborted" on the events' statements.
            with cursor.connection.pipeline():
                for write in writes:
                    write.apply(cursor)

    def notify_channel(self, cursor: Cursor[DictRow]) -> None:
        """Nothing yet: the ids are not drawn; ``after_insert`` notifies."""

    def after_insert(self, cursor: Cursor[DictRow], notification_ids: Sequence[int]) -> None:
        if notification_ids:
            cursor.execute(
                "SELECT pg_notify(%s, %s)", (self.channel_name, str(max(notification_ids)))
            )


class SideWritingPOPORecorder(POPORecorderHooks):
    """The in-memory equivalent: side writes run only once the events are known to be unique,
    under the store's lock, so a refused save leaves them unapplied."""

    applies_side_writes = True

    def before_update(self, **kwargs: Any) -> None:
        for write in _side_writes(kwargs):
            write.apply(None)


class SideWritingPOPOFactory(StampingEventStoreFactory, POPOFactory):
    """``PERSISTENCE_MODULE`` for in-memory applications (unit tests): side writes, and every
    event stamped with its command's metadata."""

    def application_recorder(self) -> SideWritingPOPORecorder:
        return SideWritingPOPORecorder()
