"""The recorders' write ceiling: commits/s of the stock recorder (table lock) and the concurrent
one (``SMARTQUEUE_RECORDER=concurrent``), beside raw psycopg ``INSERT``+``COMMIT`` and raw inserts
under the stock lock, at 1, 4 and 8 writer threads, in one process on one scratch database.

Each write is one new-aggregate event in its own transaction, as a command that creates one
aggregate saves it (the recorder's pipelined transaction, its ``NOTIFY`` included). Writers of
each row run for ``--duration`` seconds; rows are interleaved over ``--repeat`` rounds and the
medians printed. Then a follower reads the whole log back through each recorder and the ids are
checked: every id committed, once, in order.

Usage::

    .venv/bin/python bench/recorder.py [--duration 3] [--repeat 3] [--callers 1,4,8]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg
from eventsourcing.persistence import StoredEvent

from bench.environment import machine_context, scratch_database, smartqueue_environment
from bench.workloads import BASELINES, RawInserter, create_baseline_table
from infrastructure.container import Container, build_container
from infrastructure.migration import migrate
from infrastructure.settings import load_settings

RECORDERS = ("stock", "concurrent")


def container_for(url: str, home: Path, recorder: str, pool_size: int) -> Container:
    environment = {**smartqueue_environment(url, home, pool_size), "SMARTQUEUE_RECORDER": recorder}
    return build_container(load_settings(environment))


def rate(make_writer: Callable[[], Callable[[], None]], callers: int, seconds: float) -> float:
    """Commits per second of ``callers`` threads, each with its own writer, for ``seconds``."""
    writers = [make_writer() for _ in range(callers)]
    counts = [0] * callers
    start = threading.Barrier(callers + 1)
    stop = threading.Event()

    def run(index: int) -> None:
        write = writers[index]
        start.wait()
        while not stop.is_set():
            write()
            counts[index] += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(callers)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    for writer in writers:
        getattr(writer, "close", lambda: None)()
    return sum(counts) / elapsed


def recorder_writer(container: Container) -> Callable[[], Callable[[], None]]:
    recorder = container.app.recorder

    def make() -> Callable[[], None]:
        def write() -> None:
            recorder.insert_events(
                [StoredEvent(uuid.uuid4(), 1, "bench:Written", b"{}")]  # type: ignore[arg-type]
            )

        return write

    return make


def read_back(container: Container, database_url: str) -> tuple[int, float]:
    """Every id through the recorder's own read; checked against the table. (ids, seconds)"""
    recorder = container.app.recorder
    head = recorder.max_notification_id() or 0
    seen: list[int] = []
    position = 0
    began = time.perf_counter()
    while position < head:
        batch = recorder.select_notifications(start=position, limit=5000, inclusive_of_start=False)
        seen += [notification.id for notification in batch]
        position = batch[-1].id if batch else position
    elapsed = time.perf_counter() - began
    with psycopg.connect(database_url) as connection:
        stored = [
            row[0]
            for row in connection.execute(
                "SELECT notification_id FROM smartqueue_events ORDER BY notification_id"
            )
        ]
    if seen != stored:
        raise SystemExit("the read back missed, repeated or reordered an id")
    return len(seen), elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--callers", default="1,4,8")
    parser.add_argument("--database-url")
    args = parser.parse_args(argv)
    callers = [int(part) for part in args.callers.split(",")]
    with (
        tempfile.TemporaryDirectory() as work,
        scratch_database(args.database_url, Path(work)) as database,
    ):
        home = Path(work) / "home"
        migrate(load_settings(smartqueue_environment(database.url, home, 4)))
        create_baseline_table(database.url)
        containers = {
            name: container_for(database.url, home, name, max(callers) + 2) for name in RECORDERS
        }
        rows: dict[str, Callable[[], Callable[[], None]]] = {
            "raw insert": lambda: RawInserter(database.url, BASELINES["insert"]),
            "raw insert + table lock": lambda: RawInserter(database.url, BASELINES["insert+lock"]),
            "stock recorder": recorder_writer(containers["stock"]),
            "concurrent recorder": recorder_writer(containers["concurrent"]),
        }
        print("SmartQueue recorder benchmark")
        for name, value in machine_context(database):
            print(f"  {name:<13} {value}")
        print(f"  settings      {args.duration:g} s per run, median of {args.repeat}\n", flush=True)
        results: dict[tuple[str, int], list[float]] = {}
        for _ in range(args.repeat):
            for count in callers:
                for name, make in rows.items():
                    results.setdefault((name, count), []).append(rate(make, count, args.duration))
        header = " | ".join(f"{count} writer{'s' * (count > 1)}" for count in callers)
        print(f"| commits/s (median) | {header} |")
        print("| --- |" + " --- |" * len(callers))
        for name in rows:
            cells = []
            for count in callers:
                median = statistics.median(results[(name, count)])
                raw = statistics.median(results[("raw insert", count)])
                cells.append(f"{median:,.0f} ({median / raw:.0%})")
            print(f"| {name} | " + " | ".join(cells) + " |")
        ids, seconds = read_back(containers["concurrent"], database.url)
        print(
            f"\nread back through the concurrent recorder: {ids:,} ids in order, once each, "
            f"in {seconds:.2f} s; load average at the end "
            + " ".join(f"{value:.2f}" for value in os.getloadavg())
        )
        for container in containers.values():
            container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
