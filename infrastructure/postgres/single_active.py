"""Roles that must run in one process at a time (a projection, the Kafka relay).

The active process holds a session-level advisory lock on a dedicated connection and does its
work on that same connection: if the process dies, PostgreSQL ends the session, which releases
the lock, and a standby (polling ``pg_try_advisory_lock``) takes over within
``standby_interval`` seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import structlog
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

LOCK_NAMESPACE = 7_301_002  # first key of every single-active role's advisory lock
STANDBY_SECONDS = 1.0

log = structlog.get_logger(__name__)

Work = Callable[[Connection, threading.Event], None]


def try_lock(connection: Connection, name: str) -> bool:
    """Take ``name``'s session-level lock if free; commits so no transaction stays open."""
    taken = connection.execute(
        text("SELECT pg_try_advisory_lock(:namespace, hashtext(:name))"),
        {"namespace": LOCK_NAMESPACE, "name": name},
    ).scalar()
    connection.commit()
    return bool(taken)


def try_lock_all(connection: Connection, names: Sequence[str]) -> bool:
    """Take every one of ``names``' locks, or none: a lock found taken releases those taken
    before it. A group of roles (the read models a process follows together) is active only
    when no other process runs any of them."""
    taken: list[str] = []
    for name in names:
        if not try_lock(connection, name):
            for held in taken:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:namespace, hashtext(:name))"),
                    {"namespace": LOCK_NAMESPACE, "name": held},
                )
            connection.commit()
            return False
        taken.append(name)
    return True


class SingleActive:
    """Runs ``work`` while holding ``name``'s lock (every one of ``locks`` instead, when given);
    waits as a standby while another holds it."""

    def __init__(
        self,
        name: str,
        engine: Engine,
        work: Work,
        *,
        standby_interval: float = STANDBY_SECONDS,
        locks: Sequence[str] | None = None,
    ) -> None:
        self.name = name
        self.locks = list(locks) if locks is not None else [name]
        self.engine = engine
        self.work = work
        self.standby_interval = standby_interval
        self.active = threading.Event()  # set while this process holds the lock

    def run(self, stop: threading.Event) -> None:
        """Work or stand by until ``stop`` is set. Database errors drop the connection (and so
        the lock) and the process starts over as a standby."""
        while not stop.is_set():
            connection = self.engine.connect()
            try:
                if try_lock_all(connection, self.locks):
                    self.active.set()
                    log.info("role active", role=self.name)
                    self.work(connection, stop)
                else:
                    stop.wait(self.standby_interval)
            except DBAPIError as error:
                log.warning("role connection lost", role=self.name, error=str(error))
                stop.wait(self.standby_interval)
            finally:
                self.active.clear()
                # Closing the connection for real ends the session and releases the lock; a
                # pooled connection would keep it.
                connection.invalidate()
                connection.close()
