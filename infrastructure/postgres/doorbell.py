"""Waking followers when the log grows: a LISTEN on the recorder's notification channel.

The recorder sends a NOTIFY with the highest new notification id when a write commits
(:mod:`infrastructure.postgres.recorder`). A :class:`Doorbell` LISTENs on its own connection,
one per process, and wakes the followers (projections, the relay) whose position is below that
id. They still poll whatever happens, so a lost notification only delays them: every
``poll_interval`` while the doorbell is not listening, every :data:`LISTENING_POLL_SECONDS`
while it is (each commit then rings it; idle followers used to read the log five times a second
each, half a core for an idle ``smartqueue dev``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import psycopg
import structlog
from eventsourcing.persistence import ApplicationRecorder
from psycopg import sql

from infrastructure.postgres.single_active import STANDBY_SECONDS
from infrastructure.roles.supervisor import Supervisor

log = structlog.get_logger(__name__)

# How often a follower looks at the log by itself while the doorbell listens. Commits made while
# it did not listen are read after the ring it gives when it listens again.
LISTENING_POLL_SECONDS = 2.0


class Doorbell:
    """Listens for the recorder's notifications and wakes followers waiting for newer events.

    ``latest`` is the highest notification id announced so far. A notification without a numeric
    payload (a writer that does not say how far it wrote) wakes every waiting follower.
    """

    def __init__(
        self,
        connect: Callable[[], psycopg.Connection[Any]],
        channel: str,
        *,
        retry_interval: float = STANDBY_SECONDS,
    ) -> None:
        self.connect = connect
        self.channel = channel
        self.retry_interval = retry_interval
        self.latest = 0
        self.listening = threading.Event()  # set while the LISTEN connection is up
        self._blind_rings = 0
        self._changed = threading.Condition()

    def wait(self, position: int, timeout: float) -> None:
        """Return once an id above ``position`` is announced, or after ``timeout`` seconds
        (:data:`LISTENING_POLL_SECONDS` instead, when longer, while listening)."""
        if self.listening.is_set():
            timeout = max(timeout, LISTENING_POLL_SECONDS)
        with self._changed:
            rings = self._blind_rings
            self._changed.wait_for(
                lambda: self.latest > position or self._blind_rings != rings, timeout
            )

    def ring(self, payload: str) -> None:
        """Record one notification and wake the waiting followers."""
        with self._changed:
            if payload.isdigit():
                self.latest = max(self.latest, int(payload))
            else:
                self._blind_rings += 1
            self._changed.notify_all()

    def run(self, stop: threading.Event) -> None:
        """LISTEN until ``stop`` is set, reconnecting after errors (followers poll meanwhile)."""
        while not stop.is_set():
            try:
                with self.connect() as connection:
                    connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self.listening.set()
                    self.ring("")  # what committed while it did not listen: look at the log
                    while not stop.is_set():
                        for notify in connection.notifies(timeout=self.retry_interval):
                            self.ring(notify.payload)
            except psycopg.Error as error:
                log.warning("projection doorbell lost its connection", error=str(error))
                stop.wait(self.retry_interval)
            finally:
                self.listening.clear()
                self.ring("")  # wake the followers: they look at the log themselves


def doorbell_for(recorder: ApplicationRecorder) -> Doorbell | None:
    """A doorbell on the recorder's notification channel (None for a recorder without one)."""
    channel = getattr(recorder, "channel_name", None)
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    if channel is None or pool is None:
        return None
    # The recorder's own connection settings, on a connection of the doorbell's own: a pooled
    # connection left listening would collect notifications for its next borrower.
    settings = {key: value for key, value in pool.kwargs.items() if key != "row_factory"}
    return Doorbell(lambda: psycopg.connect(pool.conninfo, autocommit=True, **settings), channel)


def start_doorbell(
    recorder: ApplicationRecorder, stop: threading.Event, supervisor: Supervisor | None = None
) -> Doorbell | None:
    """A doorbell listening until ``stop`` (None without notifications), supervised when a
    ``supervisor`` is given, else in a daemon thread of its own."""
    doorbell = doorbell_for(recorder)
    if doorbell is not None:
        if supervisor is not None:
            supervisor.add("log-doorbell", doorbell.run)
        else:
            threading.Thread(
                target=doorbell.run, args=(stop,), name="log-doorbell", daemon=True
            ).start()
    return doorbell
