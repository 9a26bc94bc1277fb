"""HTTP server benchmark (issue 16, lever 6): uvicorn as ``smartqueue api`` runs it (uvloop and
httptools) against granian (its ASGI interface, uvloop), each serving the same Litestar app factory
with the same environment and the same number of worker processes.

Two workloads, each run ``--repeat`` times per server, servers interleaved (uvicorn, granian,
uvicorn, granian, ...), a fresh server process for every run; medians are reported:

- ``cycle``: four agents cycle tickets on one queue over HTTP (issue, call next, start, close)
  with ``smartqueue projections`` following the same database, as ``bench/cycle_cpu.py`` measures
  it: cycles/s, p50/p99 of a cycle, and the CPU per cycle of the server's process tree (the
  supervisor and its workers, from ``/proc``), of the projections role and of the scratch
  database's PostgreSQL backends;
- ``insert``: ``bench/minimal_insert_app.py`` (one ``INSERT`` + ``COMMIT`` per POST) under each
  server, POSTed to by ``--clients`` keep-alive clients: requests/s and server CPU per request.

granian needs installing into the virtualenv (``.venv/bin/python -m pip install granian``); it is
not a dependency of SmartQueue.

Usage::

    .venv/bin/python bench/http_server.py [--duration 10] [--repeat 3] [--workers 2]
        [--clients 8] [--pool-size 8] [--workloads cycle,insert] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import shutil
import statistics
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):
    # Run as ``python bench/http_server.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cycle_cpu import AGENTS, CycleCpu, Projections, measure_cycle_cpu, running_projections
from bench.environment import (
    ApiServer,
    Database,
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    running_api,
    running_minimal_insert_app,
    running_server,
    scratch_database,
    smartqueue_environment,
    warn,
)
from bench.harness import CpuMeter, RunStats, measure
from bench.minimal_insert_app import DATABASE_URL_VARIABLE, POOL_SIZE_VARIABLE, READY_PATH
from bench.workloads import HttpInserter, create_baseline_table
from infrastructure.container import Container

SERVERS = ("uvicorn", "granian")
WORKLOADS = ("cycle", "insert")
ROOT = Path(__file__).resolve().parents[1]
API_READY_PATH = "/api/v1/health/ready"
CYCLE_COLUMNS = ("cycles/s", "p50 ms", "p99 ms", "api ms/cycle", "pg ms/cycle", "proj ms/cycle")
INSERT_COLUMNS = ("requests/s", "p50 ms", "p99 ms", "server ms/req", "pg ms/req", "client ms/req")


@dataclass(frozen=True)
class Options:
    """How long, how often, how many workers and clients, and against which PostgreSQL."""

    duration: float
    repeat: int
    workers: int
    clients: int
    pool_size: int
    workloads: tuple[str, ...]
    database_url: str | None


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(description="uvicorn against granian, same app, same load.")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run (10)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per server; median (3)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes per server (2)")
    parser.add_argument("--clients", type=int, default=8, help="insert workload's clients (8)")
    parser.add_argument(
        "--pool-size", type=int, default=8, help="connection pool per server process (8)"
    )
    parser.add_argument(
        "--workloads", default=",".join(WORKLOADS), help="cycle,insert (both by default)"
    )
    parser.add_argument(
        "--database-url",
        help="a local PostgreSQL server to create the scratch database on "
        "(default: start an embedded PostgreSQL)",
    )
    args = parser.parse_args(argv)
    workloads = tuple(part.strip() for part in args.workloads.split(",") if part.strip())
    if not workloads or any(workload not in WORKLOADS for workload in workloads):
        parser.error(f"--workloads: a comma-separated subset of {WORKLOADS}")
    if min(args.duration, args.repeat, args.workers, args.clients) <= 0 or args.pool_size < 2:
        parser.error("--duration, --repeat, --workers, --clients positive; --pool-size >= 2")
    return Options(
        args.duration,
        args.repeat,
        args.workers,
        args.clients,
        args.pool_size,
        workloads,
        args.database_url,
    )


# -- the servers ---------------------------------------------------------------------------------


def granian_command(target: str, workers: int) -> list[str]:
    """granian serving an ASGI app factory as ``smartqueue api`` serves SmartQueue: uvloop,
    ``workers`` processes, HTTP/1 (all uvicorn speaks), no access log, no forwarding headers
    (granian reads none unless the app is wrapped in ``granian.utils.proxies``)."""
    command = [sys.executable, "-m", "granian", "--interface", "asgi", "--factory"]
    command += ["--workers", str(workers), "--loop", "uvloop", "--http", "1"]
    return [*command, "--no-access-log", "--log-level", "warning", target]


def serving_api(
    server: str, database: Database, workdir: Path, options: Options
) -> contextlib.AbstractContextManager[ApiServer]:
    """SmartQueue's API under ``server``; uvicorn through ``smartqueue api`` itself."""
    if server == "uvicorn":
        return running_api(database.url, workdir, options.pool_size, options.workers)
    home = workdir / "home"
    env = {**os.environ, **smartqueue_environment(database.url, home, options.pool_size)}
    command = granian_command("interfaces.http.app:create_app", options.workers)
    return running_server(command, env, workdir / "api-granian.log", API_READY_PATH)


def serving_insert_app(
    server: str, database: Database, workdir: Path, options: Options
) -> contextlib.AbstractContextManager[ApiServer]:
    """``bench/minimal_insert_app.py`` under ``server``."""
    if server == "uvicorn":
        return running_minimal_insert_app(database.url, workdir, options.pool_size, options.workers)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        DATABASE_URL_VARIABLE: database.url,
        POOL_SIZE_VARIABLE: str(options.pool_size),
    }
    command = granian_command("bench.minimal_insert_app:create_app", options.workers)
    return running_server(command, env, workdir / "insert-granian.log", READY_PATH)


# -- the runs ------------------------------------------------------------------------------------


@dataclass
class Runs:
    """Every completed run of one server, both workloads, and why the others failed."""

    cycles: list[CycleCpu] = field(default_factory=list)
    inserts: list[RunStats] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


@dataclass
class Bench:
    """What every run needs, alive for the whole invocation."""

    options: Options
    database: Database
    container: Container
    workdir: Path
    stop: threading.Event = field(default_factory=threading.Event)

    def cycle_run(self, server: str, projections: Projections) -> CycleCpu:
        """Four agents on one queue, a fresh tenant, a fresh server."""
        with serving_api(server, self.database, self.workdir, self.options) as api:
            return measure_cycle_cpu(
                self.container, self.database, api, projections, self.options.duration, self.stop
            )

    def insert_run(self, server: str) -> RunStats:
        """``--clients`` keep-alive clients POSTing to the minimal insert app."""
        with serving_insert_app(server, self.database, self.workdir, self.options) as app:
            inserters = [HttpInserter(app.base_url) for _ in range(self.options.clients)]
            try:
                meter = CpuMeter(self.database.name, app.pid)
                return measure(inserters, self.options.duration, self.stop, meter)
            finally:
                for inserter in inserters:
                    inserter.close()


def interleaved(
    label: str, repeat: int, run: Callable[[str], str], failures: dict[str, list[str]]
) -> None:
    """``run`` each server in turn, ``repeat`` times; ``run`` returns a progress note."""
    for number in range(1, repeat + 1):
        for server in SERVERS:
            title = f"{label}, repeat {number}: {server}"
            try:
                warn(f"{title}: {run(server)}")
            except Exception as exc:
                failures[server].append(f"{title}: {type(exc).__name__}: {exc}")
                warn(f"{title}: FAILED {exc}")


def run_cycles(bench: Bench, results: dict[str, Runs]) -> None:
    """The cycle workload, the projections role running throughout."""
    failures = {server: results[server].failures for server in SERVERS}
    with running_projections(bench.database.url, bench.workdir) as projections:

        def run(server: str) -> str:
            done = bench.cycle_run(server, projections)
            results[server].cycles.append(done)
            return f"{done.stats.rate:.1f} cycles/s, api {done.per_cycle_ms['api']:.1f} ms/cycle"

        interleaved("cycle", bench.options.repeat, run, failures)


def run_inserts(bench: Bench, results: dict[str, Runs]) -> None:
    """The minimal-insert workload."""
    failures = {server: results[server].failures for server in SERVERS}

    def run(server: str) -> str:
        done = bench.insert_run(server)
        results[server].inserts.append(done)
        return f"{done.rate:.0f} requests/s, server {done.cpu.api_ms or 0:.2f} ms/request"

    interleaved("insert", bench.options.repeat, run, failures)


# -- the report ----------------------------------------------------------------------------------


def cycle_figures(run: CycleCpu) -> list[float]:
    """One cycle run's figures, in ``CYCLE_COLUMNS`` order, then the machine's busy cores."""
    stats = run.stats
    return [
        stats.rate,
        stats.p50_ms,
        stats.p99_ms,
        run.per_cycle_ms["api"],
        stats.cpu.postgres_ms,
        run.per_cycle_ms["projections"],
        stats.cpu.machine_busy_cores,
    ]


def insert_figures(run: RunStats) -> list[float]:
    """One insert run's figures, in ``INSERT_COLUMNS`` order, then the machine's busy cores."""
    cpu = run.cpu
    server_ms = float("nan") if cpu.api_ms is None else cpu.api_ms
    return [
        run.rate,
        run.p50_ms,
        run.p99_ms,
        server_ms,
        cpu.postgres_ms,
        cpu.bench_ms,
        cpu.machine_busy_cores,
    ]


def _line(label: str, values: Sequence[str]) -> str:
    return f"  {label:<20}" + "".join(f"{value:>15}" for value in values)


def print_table(title: str, columns: Sequence[str], runs: dict[str, list[list[float]]]) -> None:
    """Medians per server; granian's medians over uvicorn's; and the median of the ratios of
    the runs made one after the other (repeat by repeat), which a drifting load skews less."""
    print(f"\n{title}")
    print(_line("server", [*columns, "busy cores"]))
    medians = {
        server: [statistics.median(column) for column in zip(*rows, strict=True)]
        for server, rows in runs.items()
        if rows
    }
    for server, values in medians.items():
        print(_line(server, [f"{value:,.2f}" for value in values]))
    first, second = SERVERS
    if first not in medians or second not in medians:
        return
    ratios = [
        b / a if a else math.nan for a, b in zip(medians[first], medians[second], strict=True)
    ]
    print(_line(f"{second} / {first}", [f"x{ratio:.2f}" for ratio in ratios[:-1]]))
    if len(runs[first]) == len(runs[second]):
        pairs = zip(runs[first], runs[second], strict=True)
        per_repeat = [
            [b / a if a else math.nan for a, b in zip(*pair, strict=True)] for pair in pairs
        ]
        paired = [statistics.median(column) for column in zip(*per_repeat, strict=True)]
        print(_line("  paired by repeat", [f"x{ratio:.2f}" for ratio in paired[:-1]]))
    for server, rows in runs.items():
        print(f"  {server} runs ({columns[0]}): " + ", ".join(f"{row[0]:,.1f}" for row in rows))


def print_report(results: dict[str, Runs], options: Options) -> None:
    """Both workloads' tables, and any failure."""
    runs = f"{options.repeat} x {options.duration:g} s per server, interleaved"
    if "cycle" in options.workloads:
        print_table(
            f"Ticket cycles: {AGENTS} agents on one queue over HTTP, projections running ({runs})",
            CYCLE_COLUMNS,
            {
                server: [cycle_figures(run) for run in result.cycles]
                for server, result in results.items()
            },
        )
    if "insert" in options.workloads:
        print_table(
            f"Minimal insert app: {options.clients} keep-alive clients, one INSERT + COMMIT per"
            f" POST ({runs})",
            INSERT_COLUMNS,
            {
                server: [insert_figures(run) for run in result.inserts]
                for server, result in results.items()
            },
        )
    print(
        "\nMedians. api / server = CPU of the server's whole process tree (supervisor and"
        " workers,\nfrom /proc); pg = the scratch database's backends; proj = smartqueue"
        " projections;\nclient = the bench's HTTP clients; busy cores = the whole machine's CPU"
        " use during the\nrun, other jobs' included. x = granian's figure over uvicorn's."
    )
    failed = {
        server: sum(run.stats.failures for run in result.cycles)
        + sum(run.failures for run in result.inserts)
        for server, result in results.items()
    }
    problems = [failure for result in results.values() for failure in result.failures]
    problems += [
        f"{server}: {count} failed operation(s)" for server, count in failed.items() if count
    ]
    if problems:
        print("\nProblems:")
        print("\n".join(f"  {problem}" for problem in problems))


def print_context(context: list[tuple[str, str]], options: Options) -> None:
    """The machine and software the numbers come from, and how they were taken."""
    from importlib import metadata

    print("SmartQueue HTTP server benchmark: uvicorn (uvloop, httptools) vs granian (asgi, uvloop)")
    versions = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("uvicorn", "uvloop", "httptools", "granian")
    )
    settings = (
        f"{options.duration:g} s per run, {options.repeat} runs per server interleaved, "
        f"{options.workers} workers per server, pool {options.pool_size} per process"
    )
    for name, value in [*context, ("servers", versions), ("settings", settings)]:
        print(f"  {name:<13} {value}")
    print(flush=True)


def benchmark(options: Options) -> None:
    """Set up, run both workloads, report; tear everything down on the way out."""
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-http-server-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        database = stack.enter_context(scratch_database(options.database_url, workdir))
        print_context(machine_context(database), options)
        container = open_container(database, workdir / "home", options.pool_size)
        stack.callback(reporting_failure(container.close, "close the application's connections"))
        create_baseline_table(database.url)
        bench = Bench(options, database, container, workdir)
        results = {server: Runs() for server in SERVERS}
        if "cycle" in options.workloads:
            run_cycles(bench, results)
        if "insert" in options.workloads:
            run_inserts(bench, results)
        print_report(results, options)
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        print(f"\nload average at the end: {load} (1/5/15 min)")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)
    return run_interruptibly(
        lambda: benchmark(options), "servers stopped and the scratch database dropped"
    )


if __name__ == "__main__":
    sys.exit(main())
