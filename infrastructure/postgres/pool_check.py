"""Checking a psycopg pool's connection before use, and what to do when one turns out dead.

``ConnectionPool.check_connection`` alone finds a dead connection (the server restarted, or
``pg_terminate_backend`` ended it), but then the pool waits before the next try: 1 s, 2 s, 4 s...
doubling for each dead connection in turn. After a restart they are all dead, so a request waited
for seconds. Here the first dead one has the pool test every idle connection at once
(``ConnectionPool.check``, which replaces the broken ones), so the next try gets a live one.
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg_pool import ConnectionPool


class PurgingCheck:
    """A pool's ``check`` callback: the stock check, purging the pool's idle connections when
    it fails. Bind it to its pool after creating the pool (``check.pool = pool``)."""

    def __init__(self) -> None:
        self.pool: ConnectionPool[Any] | None = None

    def __call__(self, connection: Connection[Any]) -> None:
        try:
            ConnectionPool.check_connection(connection)
        except Exception:
            if self.pool is not None:
                self.pool.check()
            raise
