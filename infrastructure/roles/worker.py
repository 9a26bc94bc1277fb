"""The ``worker`` role: periodic jobs run by one active process at a time.

The active worker holds a session-level PostgreSQL advisory lock on a dedicated connection; a
standby polls for it and takes over within ``standby_interval`` seconds of the holder's death
(PostgreSQL ends the dead session, which releases the lock). Background job consumers (dramatiq)
will join this role later; the periodic jobs stay behind the lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import structlog

log = structlog.get_logger(__name__)

WORKER_LOCK = (7_301_003, 1)  # advisory lock key: namespace, the periodic jobs
STANDBY_SECONDS = 1.0


@dataclass(frozen=True)
class PeriodicJob:
    """A function run every ``interval_seconds`` by the active worker."""

    name: str
    interval_seconds: float
    run: Callable[[], object]


class Worker:
    """Runs its periodic jobs while it holds the worker lock; waits as a standby otherwise."""

    def __init__(
        self,
        database_url: str,
        jobs: list[PeriodicJob],
        standby_interval: float = STANDBY_SECONDS,
    ) -> None:
        self.database_url = database_url
        self.jobs = jobs
        self.standby_interval = standby_interval
        self.active = threading.Event()  # set while this worker holds the lock

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: take the lock when free, then run the jobs on their intervals."""
        while not stop.is_set():
            try:
                with psycopg.connect(self.database_url, autocommit=True) as connection:
                    locked = connection.execute(
                        "SELECT pg_try_advisory_lock(%s, %s)", WORKER_LOCK
                    ).fetchone()
                    if locked and locked[0]:
                        self.active.set()
                        log.info("worker active")
                        self._run_jobs(connection, stop)
                    else:
                        stop.wait(self.standby_interval)
            except psycopg.OperationalError as error:
                log.warning("worker connection lost", error=str(error))
                stop.wait(self.standby_interval)
            finally:
                self.active.clear()

    def _run_jobs(self, connection: psycopg.Connection, stop: threading.Event) -> None:
        due = {job.name: 0.0 for job in self.jobs}
        while not stop.is_set():
            connection.execute("SELECT 1")  # a lost session (and so a lost lock) stops us here
            now = time.monotonic()
            for job in self.jobs:
                if now >= due[job.name]:
                    due[job.name] = now + job.interval_seconds
                    self._run_one(job)
            stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    @staticmethod
    def _run_one(job: PeriodicJob) -> None:
        started = time.monotonic()
        try:
            result = job.run()
        except Exception:  # one failed round must not stop the role; the next round retries
            log.exception("job failed", job=job.name)
            return
        log.debug("job done", job=job.name, result=result, seconds=time.monotonic() - started)
