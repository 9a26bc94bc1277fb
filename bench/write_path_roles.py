"""The write-path benchmark's sections that run with the projections role beside the API: CPU
per ticket cycle (``bench.cycle_cpu``) and call-next on an open-loop schedule
(``bench.open_loop``). Each runs ``repeat`` times; medians are reported with issue 16's targets.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bench.cycle_cpu import AGENTS, PROCESSES, CycleCpu, measure_cycle_cpu, running_projections
from bench.environment import ApiServer, Database, warn
from bench.open_loop import OpenLoopResult, run_open_loop
from bench.targets import Target
from infrastructure.container import Container

SECTIONS = ("matrix", "cpu", "open-loop")
CPU_BUDGET_MS = 10.0
OPEN_LOOP_P99_MS = 15.0
Result = TypeVar("Result")


@dataclass
class RoleResults:
    """Every completed run of the two sections, and why the others failed."""

    cpu: list[CycleCpu] = field(default_factory=list)
    open_loop: list[OpenLoopResult] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class RoleRun:
    """What the sections need from the benchmark's set-up."""

    container: Container
    database: Database
    api: ApiServer
    workdir: Path
    duration: float
    repeat: int
    rate: float
    lanes: int
    stop: threading.Event


def _attempt(
    label: str, action: Callable[[], Result], into: list[Result], failures: list[str]
) -> Result | None:
    try:
        result = action()
    except Exception as exc:
        failures.append(f"{label}: {type(exc).__name__}: {exc}")
        warn(f"{label}: FAILED {exc}")
        return None
    into.append(result)
    return result


def run_roles(run: RoleRun, sections: Sequence[str]) -> RoleResults:
    """The chosen sections, repeats outermost, with ``smartqueue projections`` running."""
    results = RoleResults()
    with running_projections(run.database.url, run.workdir) as projections:
        for repeat in range(1, run.repeat + 1):
            if "cpu" in sections:

                def cycle_cpu() -> CycleCpu:
                    return measure_cycle_cpu(
                        run.container,
                        run.database,
                        run.api,
                        projections,
                        run.duration,
                        run.stop,
                    )

                label = f"repeat {repeat}: cpu per cycle, {AGENTS} agents on one queue"
                done = _attempt(label, cycle_cpu, results.cpu, results.failures)
                if done:
                    warn(f"{label}: {done.total_ms:.1f} ms/cycle, {done.stats.rate:.1f} cycles/s")
            if "open-loop" in sections:

                def open_loop() -> OpenLoopResult:
                    return run_open_loop(
                        run.container, run.api, run.rate, run.duration, run.lanes, run.stop
                    )

                label = f"repeat {repeat}: open loop at {run.rate:g}/s"
                ran = _attempt(label, open_loop, results.open_loop, results.failures)
                if ran:
                    warn(f"{label}: p99 {ran.percentile_ms(0.99):.1f} ms, {ran.failures} failed")
    return results


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def print_cpu(runs: Sequence[CycleCpu]) -> None:
    """CPU ms per cycle by process tree (medians), and how the runs ended."""
    if not runs:
        return
    print(
        f"\nCPU per ticket cycle, {AGENTS} agents cycling on one queue over HTTP, projections"
        f" running (median of {len(runs)}):"
    )
    for name in (*PROCESSES, "total"):
        values = [run.total_ms if name == "total" else run.per_cycle_ms[name] for run in runs]
        print(f"  {name:<12} {_ms(_median(values)):>8} ms/cycle")
    redis = [run.per_cycle_ms["redis"] for run in runs if "redis" in run.per_cycle_ms]
    print(f"  {'(redis)':<12} {_ms(_median(redis)):>8} ms/cycle")
    print(f"  {'(bench)':<12} {_ms(_median([run.bench_ms for run in runs])):>8} ms/cycle")
    cycles_per_second = _median([run.stats.rate for run in runs])
    failed = sum(run.stats.failures for run in runs)
    waited = max(run.caught_up_seconds for run in runs)
    print(
        f"  {_ms(cycles_per_second)} cycles/s; {failed} failed cycle(s); every read model caught"
        f" up with the log's head after each run (slowest: {waited:.1f} s after the last cycle)"
    )
    print(
        "  api = the uvicorn supervisor and its workers; projections = smartqueue projections;\n"
        "  postgres = the postmaster's whole process tree (backends, walwriter, checkpointer...,\n"
        "  exited backends included). The embedded server is the bench's own; on --database-url\n"
        "  every other database of that server is counted too. (redis) = the Redis server the\n"
        "  roles share, (bench) = the HTTP clients: both outside the issue's budget."
    )


def print_open_loop(runs: Sequence[OpenLoopResult]) -> None:
    """Latency from the due time of each call-next (medians of the runs' percentiles)."""
    if not runs:
        return
    first = runs[0]
    print(
        f"\nOpen loop: call-next at {first.rate:g}/s over {first.lanes} lanes, latency from each"
        f" command's scheduled time (median of {len(runs)}):"
    )
    p50 = _median([run.percentile_ms(0.5) for run in runs])
    p99 = _median([run.percentile_ms(0.99) for run in runs])
    worst = _median([run.max_ms for run in runs])
    achieved = _median([run.achieved for run in runs])
    print(f"  p50 {_ms(p50)} ms, p99 {_ms(p99)} ms, max {_ms(worst)} ms; {_ms(achieved)} calls/s")
    for run in runs:
        if run.failures:
            print(f"  {run.failures} of {run.scheduled} failed: {run.first_error}")


def print_role_report(results: RoleResults) -> None:
    print_cpu(results.cpu)
    print_open_loop(results.open_loop)
    if results.failures:
        print("\nProblems (cpu / open loop):")
        print("\n".join(f"  {failure}" for failure in results.failures))


def role_targets(results: RoleResults, rate: float) -> list[Target]:
    """The CPU budget and the open-loop p99, when their sections ran."""
    cpu = _median([run.total_ms for run in results.cpu])
    p99 = _median([run.percentile_ms(0.99) for run in results.open_loop])
    return [
        Target("CPU per cycle, api + projections + postgres (ms)", cpu, CPU_BUDGET_MS, "ms", True),
        Target(f"open-loop call-next p99 at {rate:g}/s (ms)", p99, OPEN_LOOP_P99_MS, "ms", True),
    ]
