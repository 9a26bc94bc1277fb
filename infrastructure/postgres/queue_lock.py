"""The queue lock: one writer at a time per queue, across the threads and processes of every API
instance (the ``QueueLock`` port; docs/performance-hot-queues.md).

A command that changes a queue loads it on one pooled connection and saves it in a transaction
on another, so a transaction-scoped lock could not span load, decision and save. The lock is
therefore taken in two layers, for each queue the command names:

1. a mutex per queue in this process, so the threads of one process that wait for a queue wait
   on it rather than each holding a database connection;
2. a session-level advisory lock keyed by the queue id, on a connection of a small pool of its
   own, held from before the load until after the save commits. When the holder dies its session
   ends and PostgreSQL releases the lock; the next writer goes on.

The mutexes are taken in the order of the queue ids and the advisory locks in the order of their
keys, so two commands naming the same queues never deadlock. Whatever is not taken within
``wait_seconds`` (a holder that hangs, a pool exhausted) is given up: the command then runs
unlocked, on optimistic concurrency alone, which still refuses a stale save.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from uuid import UUID

import psycopg
import structlog
from psycopg_pool import ConnectionPool, PoolTimeout

LOCK_NAMESPACE = 7_301_004  # first key of every queue's advisory lock (see single_active.py)
WAIT_SECONDS = 5.0
MAX_HANDOVERS = 8  # commands of one process in a row under one advisory lock

log = structlog.get_logger(__name__)


def lock_key(queue_id: UUID) -> int:
    """The second key of a queue's advisory lock: the last 32 bits of its id, as an ``int4``.
    Two queues that share a key only wait for each other, never for a third."""
    return int.from_bytes(queue_id.bytes[-4:], "big", signed=True)


class _Mutex:
    """A queue's lock in this process, handed to its waiters in turn (first come, first
    served: a thread that calls again at once cannot starve the others past their wait).
    Weakly held by its ``ProcessQueueLock``, so a queue nobody commands costs nothing."""

    __slots__ = ("__weakref__", "_guard", "_held", "_waiters")

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._held = False
        self._waiters: deque[threading.Lock] = deque()

    def acquire(self, timeout: float) -> bool:
        """Take the mutex within ``timeout`` seconds; False if not."""
        with self._guard:
            if not self._held:
                self._held = True
                return True
            turn = threading.Lock()
            turn.acquire()
            self._waiters.append(turn)
        if turn.acquire(timeout=timeout):
            return True
        with self._guard:
            if turn in self._waiters:
                self._waiters.remove(turn)
                return False
        return True  # handed over just as the wait ended: it is ours

    def release(self) -> bool:
        """Hand the mutex to the longest waiter (True), or free it (False)."""
        with self._guard:
            if self._waiters:
                self._waiters.popleft().release()
                return True
            self._held = False
            return False

    def has_waiters(self) -> bool:
        """Whether another thread waits for the mutex now."""
        return bool(self._waiters)


class ProcessQueueLock:
    """The threads of one process, one at a time per queue: the port's in-memory implementation
    (for unit tests and a single process) and the first layer of ``PostgresQueueLock``."""

    def __init__(self, wait_seconds: float = WAIT_SECONDS) -> None:
        self.wait_seconds = wait_seconds
        self._guard = threading.Lock()
        self._mutexes: weakref.WeakValueDictionary[UUID, _Mutex] = weakref.WeakValueDictionary()

    @contextmanager
    def holding(self, queue_ids: Iterable[UUID]) -> Iterator[None]:
        """Hold the mutex of each queue of ``queue_ids`` until the context exits."""
        ordered = sorted(set(queue_ids))
        mutexes = self.take(ordered, time.monotonic() + self.wait_seconds)
        if mutexes is None:
            _unlocked(ordered, "a thread of this process held a queue too long")
        try:
            yield
        finally:
            for mutex in reversed(mutexes or []):
                mutex.release()

    def take(
        self,
        ordered: list[UUID],
        deadline: float,
        taken: Callable[[UUID], None] | None = None,
    ) -> list[_Mutex] | None:
        """The mutexes of ``ordered`` (sorted queue ids), taken in turn by ``deadline``
        (``time.monotonic``), calling ``taken`` with each queue id as its mutex is had; else
        ``None``, with every mutex taken released."""
        mutexes: list[_Mutex] = []
        for queue_id in ordered:
            with self._guard:
                mutex = self._mutexes.setdefault(queue_id, _Mutex())
            if not mutex.acquire(timeout=max(0.0, deadline - time.monotonic())):
                for held in reversed(mutexes):
                    held.release()
                return None
            mutexes.append(mutex)
            if taken is not None:
                taken(queue_id)
        return mutexes


@dataclass(frozen=True)
class _Session:
    """A connection holding the advisory locks of a command's queues, and how many commands of
    this process in a row it has served."""

    connection: psycopg.Connection
    streak: int = 1


class PostgresQueueLock:
    """A queue's lock across processes: this process's mutex, then PostgreSQL's advisory lock on
    a connection of ``pool``, a pool of its own (``open_pool``): every connection leaves it in
    autocommit mode.

    When a command on one queue ends while another thread of this process waits for that queue,
    the advisory lock is handed over with the mutex, still held on its connection: the next
    command skips taking a connection, locking and unlocking (three round trips on the queue's
    critical path). After ``MAX_HANDOVERS`` commands in a row the lock is released, so the
    other processes waiting for it (in PostgreSQL's queue) get their turn."""

    def __init__(self, pool: ConnectionPool, wait_seconds: float = WAIT_SECONDS) -> None:
        self.pool = pool
        self.wait_seconds = wait_seconds
        self.local = ProcessQueueLock(wait_seconds)
        self._handed: dict[UUID, _Session] = {}
        """The advisory lock of a queue whose mutex was handed to a waiting thread, which takes
        it over (or, when it left meanwhile, the thread that handed it drops it)."""

    @contextmanager
    def holding(self, queue_ids: Iterable[UUID]) -> Iterator[None]:
        """Hold the lock of each queue of ``queue_ids`` until the context exits."""
        ordered = sorted(set(queue_ids))
        deadline = time.monotonic() + self.wait_seconds
        # A command on several queues takes no handed-over lock: it locks them all at once.
        mutexes = self.local.take(ordered, deadline, None if len(ordered) == 1 else self._drop)
        session = None
        if mutexes is None:
            _unlocked(ordered, "a thread of this process held a queue too long")
        else:
            session = self._handed.pop(ordered[0], None) if len(ordered) == 1 else None
            session = session or self._lock(ordered, deadline)
            if session is None:
                _unlocked(ordered, "another process held a queue too long")
        try:
            yield
        finally:
            self._leave(ordered, mutexes or [], session)

    def _lock(self, ordered: list[UUID], deadline: float) -> _Session | None:
        """A connection holding the advisory locks of ``ordered``, or ``None`` past deadline."""
        try:
            connection = self.pool.getconn(timeout=max(0.001, deadline - time.monotonic()))
        except PoolTimeout:
            return None
        # No transaction stays open while a command holds the lock (the pool is this lock's own).
        connection.autocommit = True
        try:
            for key in sorted({lock_key(queue_id) for queue_id in ordered}):
                wait_ms = max(1, round((deadline - time.monotonic()) * 1000))
                # lock_timeout bounds the wait; set_config(..., true) lasts for this statement's
                # transaction only.
                connection.execute(
                    "SELECT set_config('lock_timeout', %s, true), pg_advisory_lock(%s, %s)",
                    (f"{wait_ms}ms", LOCK_NAMESPACE, key),
                )
        except psycopg.Error as error:
            if not isinstance(error, psycopg.errors.LockNotAvailable):
                log.warning("queue lock connection failed", error=str(error))
            self._release(connection)
            return None
        return _Session(connection)

    def _leave(self, ordered: list[UUID], mutexes: list[_Mutex], session: _Session | None) -> None:
        """Release the command's locks, or hand its queue's lock to the next thread."""
        if (
            session is not None
            and len(mutexes) == 1
            and session.streak < MAX_HANDOVERS
            and mutexes[0].has_waiters()
        ):
            self._handed[ordered[0]] = _Session(session.connection, session.streak + 1)
            if not mutexes[0].release():  # the waiter left meanwhile: nobody takes it over
                self._drop(ordered[0])
            return
        if session is not None:
            self._release(session.connection)
        for mutex in reversed(mutexes):
            mutex.release()

    def _drop(self, queue_id: UUID) -> None:
        """Release a queue's handed-over lock that nobody took over, if any."""
        handed = self._handed.pop(queue_id, None)
        if handed is not None:
            self._release(handed.connection)

    def _release(self, connection: psycopg.Connection) -> None:
        """Release every lock of the session and return the connection; a connection that
        cannot is closed (its session ends, and its locks with it) and the pool replaces it."""
        try:
            connection.execute("SELECT pg_advisory_unlock_all()")
        except psycopg.Error as error:
            log.warning("queue lock connection lost; closing it", error=str(error))
            connection.close()
        finally:
            self.pool.putconn(connection)

    def close(self) -> None:
        """Close the pool (the sessions end, and any lock they held)."""
        self.pool.close()


def _unlocked(queue_ids: list[UUID], reason: str) -> None:
    log.warning(
        "queue lock not taken in time: the command runs on optimistic concurrency alone",
        queue_ids=[str(queue_id) for queue_id in queue_ids],
        reason=reason,
    )
