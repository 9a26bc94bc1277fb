"""A recorder whose writers commit side by side, and a log its followers read without skipping
(DESIGN.md §11; issue 16, lever 2). Chosen with ``SMARTQUEUE_RECORDER=concurrent``; the stock
recorder (``stock``, the default) stays.

The stock recorder locks the events table (``EXCLUSIVE``) in every write transaction, so ids
commit in id order and a follower may pass any id it has not seen: it is a rolled-back write's.
That lock is the write path's ceiling. This recorder takes none, so a transaction holding id 10
may commit after one holding id 11, and a follower that read 11 must not pass 10 for good while
10 may still come. Positions stay plain notification ids (tracking rows, ``min_position``, the
Kafka envelope's ``log_position`` keep meaning "everything up to n"); what changes is the read:

1. Every write transaction takes its transaction id (``pg_current_xact_id()``) before it draws
   a notification id, so whoever holds a drawn id already has an xid.
2. A read that finds id ``g`` missing below an id it sees: ``g``'s holder drew it before that
   later id was drawn and committed, so before the read, and took its xid before that. The
   recorder then takes a transaction id of its own, ``n`` (one short transaction): it is higher
   than every xid taken before, the holder's included. It notes ``n`` for ``g`` and stops the
   read before ``g``.
3. ``g`` is settled once a later read's snapshot has ``xmin`` at or past ``n``: no transaction
   with an xid below ``n`` still runs, so the holder has ended. Present, ``g`` is read; absent,
   it never will be (a rollback) and is passed.

(The snapshot's ``xmax`` cannot stand in for ``n``: it is one past the latest *completed* xid,
and a running transaction whose xid is above it appears nowhere in the snapshot.)

A follower therefore waits for the oldest transaction that was running when it met a gap (a few
milliseconds; a long write transaction anywhere in the cluster delays it as long; read-only ones
have no xid and do not). A read returns what it may take at once: its caller may itself hold
one of the transactions the gap waits for (a projection batch reads inside its transaction).
Sequences must hand out ids in time order: the events' sequence keeps the default cache of 1.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, Notification, OperationalError
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from infrastructure.postgres.recorder import SideWritingPostgresRecorder

CONCURRENT_RECORDER_TOPIC = "infrastructure.postgres.concurrent_recorder:ConcurrentPostgresRecorder"
UNSETTLED_PAUSE_SECONDS = 0.002
"""The pause of a read that found nothing it may take yet (a gap still unsettled at its start)."""
SETTLED_KEPT = 10_000
"""How many settled (rolled-back) ids are remembered, so other followers pass them at once."""


class Gaps:
    """What the recorder knows of missing ids: the xid noted when each unsettled one was first
    met (rule 2), and those settled as never coming. Shared by every reader of a process."""

    def __init__(self) -> None:
        self.pending: dict[int, int] = {}
        self.settled: set[int] = set()
        self._lock = threading.Lock()

    def safe_prefix(
        self, rows: list[dict[str, Any]], start: int, new_xid: Callable[[], int]
    ) -> tuple[list[dict], bool, bool]:
        """The rows (in id order, read under one snapshot whose ``xmin`` each row carries) a
        follower may take after ``start``; whether an unsettled gap cut them; and whether a gap
        was met for the first time (``new_xid`` then gave the xid noted for it)."""
        if not rows:
            return [], False, False
        xmin = int(rows[0]["snapshot_xmin"])
        expected = start + 1
        taken: list[dict] = []
        with self._lock:
            for row in rows:
                identifier = row["notification_id"]
                while expected < identifier:  # ``expected`` is missing below a visible id
                    if expected not in self.settled:
                        noted = self.pending.get(expected)
                        if noted is None:
                            self.pending[expected] = new_xid()
                            return taken, True, True
                        if xmin < noted:
                            return taken, True, False
                        self._settle(expected)
                    expected += 1
                self.pending.pop(identifier, None)
                taken.append(row)
                expected = identifier + 1
        return taken, False, False

    def _settle(self, identifier: int) -> None:
        self.pending.pop(identifier, None)
        self.settled.add(identifier)
        if len(self.settled) > SETTLED_KEPT:
            for old in sorted(self.settled)[: SETTLED_KEPT // 2]:
                self.settled.discard(old)


class ConcurrentPostgresRecorder(SideWritingPostgresRecorder):
    """The side-writing recorder without the table lock, read gap-safe (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gaps = Gaps()
        self._select_after = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state,"
            " pg_snapshot_xmin(pg_current_snapshot())::text AS snapshot_xmin"
            " FROM {schema}.{table} WHERE notification_id > %s AND notification_id <= %s"
            " ORDER BY notification_id LIMIT %s"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )

    def _new_xid(self) -> int:
        """A transaction id above every one taken so far (rule 2): one short transaction."""
        with self.datastore.get_connection() as connection, connection.cursor() as cursor:
            cursor.execute("SELECT pg_current_xact_id()::text AS xid", prepare=True)
            row = cursor.fetchone()
        assert row is not None
        return int(row["xid"])

    def lock_table(self, cursor: Cursor[DictRow]) -> None:
        """No table lock: take the transaction's id before the ids are drawn (rule 1). On a
        cursor of its own: the events' cursor must end on the insert, whose ids it returns."""
        with cursor.connection.cursor() as own:
            own.execute("SELECT pg_current_xact_id()", prepare=True)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)  # as the stock read
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The stock read's answer, cut before the first id that may still commit."""
        if topics:
            raise ValueError("the concurrent recorder reads the whole log; filter by topic after")
        after = 0 if start is None else start - 1 if inclusive_of_start else start
        stop = stop if stop is not None else 2**63 - 1
        for _ in range(2):  # a gap met for the first time is looked at again at once
            with self.datastore.get_connection() as connection, connection.cursor() as cursor:
                cursor.execute(self._select_after, (after, stop, limit), prepare=True)
                rows = cursor.fetchall()
            taken, cut, first_met = self.gaps.safe_prefix(rows, after, self._new_xid)
            if not first_met:
                break
        if cut and not taken:
            # Nothing to take until older transactions end. Not waiting here: the reader may
            # be one of them (a projection batch reads inside its own transaction). A short
            # pause keeps a follower the doorbell wakes at once from spinning meanwhile.
            time.sleep(UNSETTLED_PAUSE_SECONDS)
        return [
            Notification(
                id=row["notification_id"],
                originator_id=row["originator_id"],
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=bytes(row["state"]),
            )
            for row in taken
        ]
