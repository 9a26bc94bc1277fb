"""Checking a psycopg pool's connection before use, and what to do when one turns out dead.

``ConnectionPool.check_connection`` alone finds a dead connection (the server restarted, or
``pg_terminate_backend`` ended it), but then the pool waits before the next try: 1 s, 2 s, 4 s...
doubling for each dead connection in turn. After a restart they are all dead, so a request waited
for seconds. Here the first dead one has the pool test every idle connection at once
(``ConnectionPool.check``, which replaces the broken ones), so the next try gets a live one.

The stock check is a round trip to the server on every checkout: 17 of a ticket cycle's 53
statements (issue 16). A connection the server ended is known without one: the server sends
its ``FATAL`` (or the socket closes) to an idle connection, which nothing else writes to, so its
socket turns readable. :class:`PurgingCheck` asks the server only when the socket has something
to say, or when the connection sat unused for :data:`QUIET_SECONDS` (a peer that vanished
without a word, such as a dropped network path, shows nothing on the socket).
"""

from __future__ import annotations

import select
import time
import weakref
from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool

QUIET_SECONDS = 5.0  # a connection unused for longer is asked anyway


def has_news(connection: Connection[Any]) -> bool:
    """Whether an idle connection's socket has something to read (an error the server sent
    before closing it, its end of the stream), or the connection is already known broken."""
    if connection.closed or connection.broken:
        return True
    readable, _, _ = select.select([connection.fileno()], [], [], 0)
    return bool(readable)


class PurgingCheck:
    """A pool's ``check`` callback: the stock check, when the socket has news or the connection
    sat unused for ``quiet_seconds``, purging the pool's idle connections when it fails. Bind it
    to its pool after creating the pool (``check.pool = pool``)."""

    def __init__(self, quiet_seconds: float = QUIET_SECONDS) -> None:
        self.pool: ConnectionPool[Any] | None = None
        self.quiet_seconds = quiet_seconds
        self.asked = 0  # round trips made (tests, benchmarks)
        self._handed_out: weakref.WeakKeyDictionary[Connection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    def __call__(self, connection: Connection[Any]) -> None:
        now = time.monotonic()
        last = self._handed_out.get(connection)
        if last is not None and now - last < self.quiet_seconds and not has_news(connection):
            self._handed_out[connection] = now
            return
        try:
            self.asked += 1
            ConnectionPool.check_connection(connection)
        except Exception:
            if self.pool is not None:
                self.pool.check()
            raise
        self._handed_out[connection] = now
