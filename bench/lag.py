"""Projection lag under a steady command load.

The projection followers run in a subprocess of their own (``python -m bench.followers``), as
``smartqueue projections`` would. This process issues commands through the application layer at a
fixed rate (open loop: command *k* is due at ``start + k / rate`` whether or not earlier ones were
slow) and notes, for each command, when its save returned (its commit) and the last notification
id it wrote. A watcher reads every read model's tracking position every ``WATCH_SECONDS``; a
command's lag for a read model is the time from its commit until that model's position covers
its id. The watcher's period bounds the measurement's resolution.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from bench.branch import Branch
from bench.environment import stop_process, warn
from bench.harness import BenchmarkError, percentile_ms
from infrastructure.container import Container
from infrastructure.following.runner import read_models

WATCH_SECONDS = 0.002
CATCH_UP_TIMEOUT_SECONDS = 120.0
LOAD_THREADS = 4


@dataclass
class Commit:
    """A command's save: when it returned and the last log position it wrote."""

    at: float
    position: int


@dataclass
class LagRecorder:
    """Commits waiting to be covered, per read model, and the lags measured so far."""

    names: Sequence[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    pending: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    lags: dict[str, list[float]] = field(default_factory=dict)
    commits: int = 0

    def __post_init__(self) -> None:
        self.pending = {name: [] for name in self.names}
        self.lags = {name: [] for name in self.names}

    def committed(self, commit: Commit) -> None:
        with self.lock:
            self.commits += 1
            for heap in self.pending.values():
                heapq.heappush(heap, (commit.position, commit.at))

    def covered(self, positions: dict[str, int], seen_at: float) -> None:
        with self.lock:
            for name, heap in self.pending.items():
                position = positions.get(name, 0)
                while heap and heap[0][0] <= position:
                    _, committed_at = heapq.heappop(heap)
                    self.lags[name].append(max(0.0, seen_at - committed_at))

    def outstanding(self) -> int:
        with self.lock:
            return sum(len(heap) for heap in self.pending.values())


def watch_positions(database_url: str, lags: LagRecorder, stop: threading.Event) -> None:
    """Read the tracking table every ``WATCH_SECONDS`` until ``stop``; report what is covered."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        query = "SELECT projection_name, position FROM projection_tracking"
        while not stop.is_set():
            rows = connection.execute(query).fetchall()
            lags.covered({name: int(position) for name, position in rows}, time.perf_counter())
            time.sleep(WATCH_SECONDS)


class CommitTap:
    """Wraps the recorder's ``insert_events`` to note each successful save's commit."""

    def __init__(self, container: Container) -> None:
        self.recorder = container.app.recorder
        self.original = self.recorder.insert_events
        self.sink: LagRecorder | None = None

        def tapped(*args: Any, **kwargs: Any) -> Any:
            ids = self.original(*args, **kwargs)
            sink = self.sink
            if sink is not None and ids:
                sink.committed(Commit(time.perf_counter(), max(ids)))
            return ids

        self.recorder.insert_events = tapped  # type: ignore[method-assign]

    def close(self) -> None:
        self.recorder.insert_events = self.original  # type: ignore[method-assign]


@dataclass(frozen=True)
class LagResult:
    """One rate's run with one wake-up mode: the lags per read model."""

    wake: str
    rate: float
    achieved: float
    failures: int
    uncovered: int
    lags: dict[str, list[float]]

    def figures(self, name: str) -> tuple[int, float, float, float]:
        values = self.lags[name]
        return (
            len(values),
            percentile_ms(values, 0.5),
            percentile_ms(values, 0.99),
            max(values, default=float("nan")) * 1000,
        )


@contextlib.contextmanager
def running_followers(database_url: str, wake: str, log_path: Any) -> Iterator[int]:
    """``python -m bench.followers`` in its own session; stopped (SIGTERM) on exit."""
    command = [sys.executable, "-m", "bench.followers", database_url, "--wake", wake]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root, "SMARTQUEUE_LOG_LEVEL": "WARNING"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            yield process.pid
        finally:
            stop_process(process)


def wait_caught_up(database_url: str, head: int, names: Sequence[str]) -> None:
    """Block until every read model's position reaches ``head``."""
    deadline = time.monotonic() + CATCH_UP_TIMEOUT_SECONDS
    with psycopg.connect(database_url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            rows = dict(
                connection.execute("SELECT projection_name, position FROM projection_tracking")
            )
            if all(int(rows.get(name, 0)) >= head for name in names):
                return
            time.sleep(0.05)
    raise BenchmarkError(f"projections did not reach position {head} in time")


def drive_load(branches: Sequence[Branch], rate: float, duration: float) -> tuple[int, int]:
    """Issue commands at ``rate`` per second for ``duration`` seconds from one thread per
    branch; returns (commands done, commands failed)."""
    start = time.perf_counter() + 0.05
    total = int(rate * duration)
    done = [0] * len(branches)
    failed = [0] * len(branches)

    def run(index: int) -> None:
        branch = branches[index]
        for slot in range(index, total, len(branches)):
            delay = start + slot / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                branch.step()
                done[index] += 1
            except Exception as error:  # a refused command changes nothing; count it
                failed[index] += 1
                if failed[index] == 1:
                    warn(f"    a command failed: {error!r}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(branches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done), sum(failed)


def measure_lag(
    container: Container, wake: str, rates: Sequence[float], duration: float, log_path: Any
) -> list[LagResult]:
    """For each rate, a run of ``duration`` seconds against followers woken by ``wake``."""
    names = sorted(read_models())
    # One branch (and thread) per 25 commands/s of the highest rate, at most LOAD_THREADS.
    threads = max(1, min(LOAD_THREADS, math.ceil(max(rates) / 25)))
    branches = [Branch.open(container, 7000 + index) for index in range(threads)]
    tap = CommitTap(container)
    results = []
    try:
        with running_followers(container.database_url, wake, log_path):
            for rate in rates:
                head = container.app.recorder.max_notification_id() or 0
                wait_caught_up(container.database_url, head, names)
                lags = LagRecorder(names)
                stop = threading.Event()
                watcher = threading.Thread(
                    target=watch_positions, args=(container.database_url, lags, stop)
                )
                watcher.start()
                tap.sink = lags
                began = time.perf_counter()
                done, failed = drive_load(branches, rate, duration)
                elapsed = time.perf_counter() - began
                tap.sink = None
                deadline = time.monotonic() + CATCH_UP_TIMEOUT_SECONDS
                while lags.outstanding() and time.monotonic() < deadline:
                    time.sleep(0.05)
                stop.set()
                watcher.join()
                uncovered = lags.outstanding()
                result = LagResult(wake, rate, done / elapsed, failed, uncovered, lags.lags)
                results.append(result)
                summary = ", ".join(
                    f"{name} p50 {result.figures(name)[1]:.1f} ms" for name in names
                )
                warn(f"  lag, {wake}, {rate:g} cmds/s: {result.achieved:.1f} cmds/s; {summary}")
    finally:
        tap.close()
    return results
