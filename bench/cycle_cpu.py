"""CPU per ticket cycle with every role of the write path running as in production: four agents
cycle tickets on one queue over HTTP (``smartqueue api``) while ``smartqueue projections`` follows
the same database; each process tree's CPU comes from ``/proc`` (``bench.process_cpu``).

The run ends only when every read model has caught up with the log's head, so the projections'
share of the cycles is in the figures, and a read model left behind fails the run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.environment import (
    ApiServer,
    Database,
    smartqueue_environment,
    smartqueue_executable,
    stop_process,
)
from bench.harness import BenchmarkError, CpuMeter, RunStats, measure
from bench.process_cpu import TreeMeter, postmaster_pid, redis_server_pid
from bench.workloads import HttpCaller, build_world
from infrastructure.container import Container
from infrastructure.following.runner import read_models
from infrastructure.redis.server import resolve_redis_url

AGENTS = 4
PROCESSES = ("api", "projections", "postgres")
PROJECTIONS_POOL_SIZE = 4
"""The projections role only reads the log: a small event-store pool keeps the server's
connections (100 on the embedded default) for the API."""
CATCH_UP_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class CycleCpu:
    """One run: cycles, their rate and failures, and CPU ms per cycle of each process tree."""

    cycles: int
    stats: RunStats
    per_cycle_ms: dict[str, float]
    bench_ms: float
    caught_up_seconds: float
    head: int

    @property
    def total_ms(self) -> float:
        """API + projections + PostgreSQL: what the issue's budget covers."""
        return sum(self.per_cycle_ms[name] for name in PROCESSES)


@dataclass(frozen=True)
class Projections:
    """A running ``smartqueue projections`` process."""

    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        """Fail with its log if the role has exited (it gives up when a thread keeps dying)."""
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace").splitlines()[-5:]
            raise BenchmarkError("smartqueue projections exited:\n" + "\n".join(tail))


@contextlib.contextmanager
def running_projections(database_url: str, workdir: Path) -> Iterator[Projections]:
    """``smartqueue projections`` on the bench's database, in a session of its own."""
    home = workdir / "home"
    env = {**os.environ, **smartqueue_environment(database_url, home, PROJECTIONS_POOL_SIZE)}
    log_path = workdir / "projections.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [smartqueue_executable(), "projections"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield Projections(process, log_path)
        finally:
            stop_process(process)


def caught_up(
    container: Container, database: Database, projections: Projections
) -> tuple[int, float]:
    """Wait until every read model's position reaches the log's head; the head and the wait.
    Fails if the projections role exits or a read model is still behind after two minutes."""
    began = time.perf_counter()
    head = container.app.recorder.max_notification_id() or 0
    names = sorted(read_models())
    query = "SELECT projection_name, position FROM projection_tracking"
    with psycopg.connect(database.url, autocommit=True) as connection:
        while time.perf_counter() - began < CATCH_UP_TIMEOUT_SECONDS:
            projections.check_alive()
            positions = {name: int(position) for name, position in connection.execute(query)}
            behind = [name for name in names if positions.get(name, 0) < head]
            if not behind:
                return head, time.perf_counter() - began
            time.sleep(0.05)
    raise BenchmarkError(f"read models still behind position {head}: {', '.join(behind)}")


def measure_cycle_cpu(
    container: Container,
    database: Database,
    api: ApiServer,
    projections: Projections,
    duration: float,
    stop: threading.Event,
) -> CycleCpu:
    """Four agents cycling on one queue over HTTP for ``duration`` s; CPU per cycle per tree."""
    world = build_world(container, "shared", AGENTS, make_available=False)
    clients = [HttpCaller(api.base_url, world.slug, caller) for caller in world.callers]
    try:
        for client in clients:
            client.set_available()
        roots = {
            "api": api.pid,
            "projections": projections.pid,
            "postgres": postmaster_pid(database.url),
        }
        # The embedded Redis daemonizes: no role's child, so it is read on its own.
        redis_pid = redis_server_pid(resolve_redis_url(container.settings))
        if redis_pid is not None:
            roots["redis"] = redis_pid
        trees = TreeMeter(roots)
        caught_up(container, database, projections)  # the world's events are not the cycles'

        before, bench_before = trees.read(), time.process_time()
        stats = measure(
            [client.cycle for client in clients], duration, stop, CpuMeter(database.name, api.pid)
        )
        head, waited = caught_up(container, database, projections)
        after, bench_after = trees.read(), time.process_time()
    finally:
        for client in clients:
            client.close()
    # Between the readings ran the timed cycles, each caller's untimed warm-up cycle, and the
    # failed ones (which cost CPU too): count them all, so no CPU is charged to too few cycles.
    cycles = stats.operations + stats.failures + AGENTS
    return CycleCpu(
        cycles=cycles,
        stats=stats,
        per_cycle_ms=TreeMeter.per_operation_ms(before, after, cycles),
        bench_ms=(bench_after - bench_before) * 1000 / cycles,
        caught_up_seconds=waited,
        head=head,
    )
