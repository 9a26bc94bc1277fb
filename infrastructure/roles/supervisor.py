"""One small supervisor for the worker threads of every role.

A role (``smartqueue projections``, ``relay``, ``gateway``, ``worker``, or all of them under
``smartqueue dev``) hands each long-running loop to :meth:`Supervisor.add`. A loop that dies, by
an exception or by returning while the role is not stopping, is started again after a back-off
that doubles with each failure in a row. A loop that keeps dying (``max_restarts`` failures in a
row, none of them after ``healthy_seconds`` of running) cannot recover by itself: the supervisor
sets ``gave_up`` and the role's stop event, and the role exits non-zero so that its own
supervisor (systemd, Kubernetes, compose) restarts the process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

log = structlog.get_logger(__name__)

Loop = Callable[[threading.Event], None]
WATCH_SECONDS = 0.2


@dataclass(frozen=True)
class TaskStatus:
    """How one supervised loop is doing."""

    name: str
    state: str
    """``running``, ``restarting`` (dead, waiting for its back-off) or ``failed`` (gave up)."""
    restarts: int
    """Times it was started again since the role started."""
    last_error: str | None


class _Task:
    def __init__(self, name: str, loop: Loop) -> None:
        self.name = name
        self.loop = loop
        self.thread: threading.Thread | None = None
        self.started_at = 0.0
        self.failures = 0  # in a row
        self.restarts = 0
        self.restart_at: float | None = None
        self.last_error: str | None = None
        self.state = "running"


class Supervisor:
    """Starts loops in daemon threads and restarts those that die; see the module docstring."""

    def __init__(
        self,
        stop: threading.Event,
        *,
        max_restarts: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        healthy_seconds: float = 60.0,
    ) -> None:
        self.stop = stop
        self.max_restarts = max_restarts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.healthy_seconds = healthy_seconds
        self.gave_up = threading.Event()
        self._tasks: list[_Task] = []
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None

    def add(self, name: str, loop: Loop) -> None:
        """Run ``loop(stop)`` in a thread called ``name``, restarted whenever it dies."""
        task = _Task(name, loop)
        with self._lock:
            self._tasks.append(task)
            self._start(task)
            if self._watcher is None:
                self._watcher = threading.Thread(target=self._watch, name="supervisor", daemon=True)
                self._watcher.start()

    def statuses(self) -> list[TaskStatus]:
        """Every loop's state, in the order they were added."""
        with self._lock:
            return [
                TaskStatus(task.name, task.state, task.restarts, task.last_error)
                for task in self._tasks
            ]

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds in all for the threads to end (after ``stop``)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = [task.thread for task in self._tasks if task.thread is not None]
            if self._watcher is not None:
                threads.append(self._watcher)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _start(self, task: _Task) -> None:
        task.started_at = time.monotonic()
        task.state = "running"
        task.restart_at = None
        task.thread = threading.Thread(target=self._run, args=(task,), name=task.name, daemon=True)
        task.thread.start()

    def _run(self, task: _Task) -> None:
        try:
            task.loop(self.stop)
        except Exception as error:  # whatever kills the loop, the supervisor restarts it
            task.last_error = f"{type(error).__name__}: {error}"
            log.exception("role thread died", thread=task.name)
            return
        if not self.stop.is_set():
            task.last_error = "returned while the role was running"
            log.error("role thread ended unexpectedly", thread=task.name)

    def _watch(self) -> None:
        while not self.stop.wait(WATCH_SECONDS):
            with self._lock:
                for task in self._tasks:
                    self._check(task)
            if self.gave_up.is_set():
                self.stop.set()

    def _check(self, task: _Task) -> None:
        """Called under the lock: notice a death, schedule the restart, restart when due."""
        if task.state == "failed" or task.thread is None or task.thread.is_alive():
            return
        now = time.monotonic()
        if task.restart_at is None:
            ran = now - task.started_at
            task.failures = 1 if ran >= self.healthy_seconds else task.failures + 1
            if task.failures > self.max_restarts:
                task.state = "failed"
                log.error(
                    "role thread keeps dying; giving up so the process exits non-zero",
                    thread=task.name,
                    failures=task.failures,
                    error=task.last_error,
                )
                self.gave_up.set()
                return
            delay = min(self.backoff_seconds * 2 ** (task.failures - 1), self.max_backoff_seconds)
            task.restart_at = now + delay
            task.state = "restarting"
            log.warning("role thread will restart", thread=task.name, retry_in=delay)
        elif now >= task.restart_at:
            task.restarts += 1
            log.info("role thread restarted", thread=task.name, restarts=task.restarts)
            self._start(task)
