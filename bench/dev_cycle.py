"""Four agents cycling tickets on one queue over HTTP against ``smartqueue dev``: cycles per
second and the CPU behind each cycle (dev's whole process tree, and PostgreSQL).

Each run starts a fresh ``smartqueue dev`` (its own SMARTQUEUE_HOME, so its own embedded Kafka
broker and mail catcher) on a scratch database, builds a tenant with one queue and four agents,
lets the agents cycle (issue, call next, start, close) for a fixed time, then waits until every
read model and the relay have caught up: the CPU counted runs from the start to that point, so
followers that fall behind are not flattered. Several executables can be compared in one run
(``--executable``), alternating, e.g. the main checkout's ``smartqueue`` as the baseline::

    .venv/bin/python -m bench.dev_cycle --database-url postgresql://127.0.0.1/test \\
        --executable /work/main/.venv/bin/smartqueue --executable .venv/bin/smartqueue
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.environment import (
    HOST,
    Database,
    free_port,
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    scratch_database,
    smartqueue_environment,
    smartqueue_executable,
    stop_process,
    warn,
)
from bench.harness import BenchmarkError, CpuMeter, measure
from bench.workloads import HttpCaller, build_world
from infrastructure.container import Container
from infrastructure.following.runner import read_models
from infrastructure.kafka.relay import relay_lag
from infrastructure.roles.health import roles_health

AGENTS = 4
FOLLOWERS_MODULE = "interfaces.dev_processes"
READY_LINE = "ready: "
DEV_READY_TIMEOUT_SECONDS = 120.0
CATCH_UP_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Options:
    """What to measure and how long."""

    database_url: str | None
    executables: list[str]
    duration: float
    repeat: int


@dataclass(frozen=True)
class DevRun:
    """One run's figures."""

    cycles_per_second: float
    cpu_dev_ms: float
    """``smartqueue dev`` and every process it started (API, followers, broker), per cycle."""
    cpu_postgres_ms: float
    p99_ms: float
    catch_up_seconds: float
    failures: int
    by_process: dict[str, float]
    """CPU ms per cycle of each process of dev's tree, by a short name."""

    @property
    def cpu_ms(self) -> float:
        return self.cpu_dev_ms + self.cpu_postgres_ms


@contextlib.contextmanager
def running_dev(
    executable: str, database: Database, redis_url: str, folder: Path
) -> Iterator[tuple[str, int]]:
    """``smartqueue dev`` on a free port until the block ends: its URL and pid."""
    port = free_port()
    log_path = folder / "dev.log"
    env = {
        **os.environ,
        **smartqueue_environment(database.url, folder / "home", pool_size=10),
        "REDIS_URL": redis_url,
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "1000/minute",  # every run signs four agents in
    }
    command = [executable, "dev", "--no-demo", "--host", HOST, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + DEV_READY_TIMEOUT_SECONDS
        while READY_LINE not in log_path.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(f"smartqueue dev did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield f"http://{HOST}:{port}", process.pid
    except BaseException:
        warn("smartqueue dev's log, last lines:\n" + "\n".join(log_lines(log_path)[-40:]))
        raise
    finally:
        reporting_failure(lambda: stop_process(process), "stop smartqueue dev")()


def log_lines(path: Path) -> list[str]:
    """The log's lines, without the per-request ones."""
    lines = path.read_text(errors="replace").splitlines()
    return [line for line in lines if '"event": "request"' not in line]


def wait_caught_up(container: Container) -> float:
    """Seconds until every read model and the relay have reached the log's head."""
    begun = time.monotonic()
    limits = container.settings.supervision
    while time.monotonic() - begun < CATCH_UP_TIMEOUT_SECONDS:
        health = roles_health(
            container.read_engine, container.app.recorder, sorted(read_models()), limits
        )
        behind = any(row.behind for row in health)
        if not behind and not relay_lag(container.read_engine, container.app.recorder).behind:
            return time.monotonic() - begun
        time.sleep(0.1)
    raise BenchmarkError("the followers did not catch up")


def one_run(executable: str, database: Database, container: Container, options: Options) -> DevRun:
    """A fresh dev, a fresh tenant, four agents on one queue for ``duration`` seconds."""
    world = build_world(container, "shared", AGENTS, make_available=False)
    folder = Path(tempfile.mkdtemp(prefix="sq-dev-cycle-"))
    try:
        with running_dev(executable, database, container.redis_url, folder) as (url, pid):
            callers = [HttpCaller(url, world.slug, caller) for caller in world.callers]
            try:
                for caller in callers:
                    caller.set_available()
                meter = CpuMeter(database.name, pid)
                before = meter.read()
                stats = measure(
                    [caller.cycle for caller in callers], options.duration, threading.Event(), meter
                )
                catch_up = wait_caught_up(container)
                after = meter.read()
                cpu = CpuMeter.use(before, after, stats.operations + AGENTS)
                by_process = per_process(pid, before.api, after.api, stats.operations + AGENTS)
            finally:
                for caller in callers:
                    caller.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return DevRun(
        cycles_per_second=stats.rate,
        cpu_dev_ms=cpu.api_ms or 0.0,
        cpu_postgres_ms=cpu.postgres_ms,
        p99_ms=stats.p99_ms,
        catch_up_seconds=catch_up,
        failures=stats.failures,
        by_process=by_process,
    )


def per_process(
    root: int, before: dict[int, float], after: dict[int, float], cycles: int
) -> dict[str, float]:
    """CPU ms per cycle of each process under ``root``, named by what it runs."""
    names = {root: "dev"}
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(root).children(recursive=True):
            command = child.cmdline()
            if FOLLOWERS_MODULE in command:
                names[child.pid] = "+".join(command[command.index(FOLLOWERS_MODULE) + 1 :])
            elif "api" in command:
                names[child.pid] = "api"
            else:
                names[child.pid] = Path(command[0]).name.split("-")[0] if command else "?"
    spent: dict[str, float] = {}
    for pid, seconds in after.items():
        name = names.get(pid, str(pid))
        spent[name] = spent.get(name, 0.0) + (seconds - before.get(pid, 0.0)) * 1000 / cycles
    return spent


def report(results: dict[str, list[DevRun]]) -> None:
    """Medians per executable."""
    print(
        f"{'executable':<40} {'cycles/s':>9} {'CPU ms/cycle':>13} {'dev tree':>9}"
        f" {'postgres':>9} {'p99 cycle ms':>13} {'catch-up s':>11} {'failed':>7}"
    )
    median = statistics.median
    for executable, runs in results.items():
        print(
            f"{executable[-40:]:<40} {median([r.cycles_per_second for r in runs]):>9.1f}"
            f" {median([r.cpu_ms for r in runs]):>13.1f}"
            f" {median([r.cpu_dev_ms for r in runs]):>9.1f}"
            f" {median([r.cpu_postgres_ms for r in runs]):>9.1f}"
            f" {median([r.p99_ms for r in runs]):>13.0f}"
            f" {median([r.catch_up_seconds for r in runs]):>11.1f}"
            f" {sum(r.failures for r in runs):>7}"
        )
        for run in runs:
            print(
                f"  run: {run.cycles_per_second:.1f} cycles/s, {run.cpu_ms:.1f} ms CPU/cycle"
                f" (dev {run.cpu_dev_ms:.1f}, postgres {run.cpu_postgres_ms:.1f}),"
                f" p99 {run.p99_ms:.0f} ms, caught up after {run.catch_up_seconds:.1f} s"
            )
            spent = ", ".join(f"{name} {ms:.1f}" for name, ms in run.by_process.items())
            print(f"    CPU ms/cycle by process: {spent}")
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average at the end: {load}")


def benchmark(options: Options) -> None:
    """Alternate the executables ``repeat`` times; print the machine, then the medians."""
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-dev-bench-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        database = stack.enter_context(scratch_database(options.database_url, workdir))
        print("smartqueue dev: four agents cycling tickets on one queue over HTTP")
        for name, value in machine_context(database):
            print(f"  {name:<13} {value}")
        print(f"  settings      {options.duration:g} s per run, {options.repeat} runs each\n")
        container = open_container(database, workdir / "home", pool_size=4)
        stack.callback(reporting_failure(container.close, "close the application's connections"))
        results: dict[str, list[DevRun]] = {executable: [] for executable in options.executables}
        for attempt in range(options.repeat):
            for executable in options.executables:
                warn(f"run {attempt + 1}/{options.repeat}: {executable}")
                run = one_run(executable, database, container, options)
                warn(f"  {run.cycles_per_second:.1f} cycles/s, {run.cpu_ms:.1f} ms CPU/cycle")
                results[executable].append(run)
        report(results)


def parse_options(argv: Sequence[str] | None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="A local server (default: embedded).")
    parser.add_argument(
        "--executable",
        action="append",
        default=None,
        help="A smartqueue script to measure (repeatable; default: this virtualenv's).",
    )
    parser.add_argument("--duration", type=float, default=20.0, help="Seconds per run.")
    parser.add_argument("--repeat", type=int, default=3, help="Runs per executable.")
    args = parser.parse_args(argv)
    executables = args.executable or [smartqueue_executable()]
    return Options(args.database_url, executables, args.duration, args.repeat)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)
    return run_interruptibly(
        lambda: benchmark(options), "dev stopped and the scratch database dropped"
    )


if __name__ == "__main__":
    sys.exit(main())
