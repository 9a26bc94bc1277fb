"""Call-next latency on a store of a million events ÷ on a fresh store (issue 16: <= 1.2).

The big store is built in bulk, not command by command (which runs at a few hundred events a
second here): a *template* tenant (a site, ``--queues`` queues each with its agent) is made through
the application layer and runs ``--template-cycles`` ticket cycles (issue, call next, start,
close), so its queues and agents are long-lived, with the snapshots the application takes. Its
stored events and snapshots, as the real aggregates and mapper made them, are then copied
(``COPY``) again and again with every UUID in them replaced by a fresh one per copy, until the
log holds ``--events`` events: many tenants, each with the same long-lived queues. Derived ids
(``uuid5`` of a natural key) are replaced too, so the copies are dead weight the application
never looks up; the template tenant stays whole and is the one measured.

The measurement, in this process through the application layer, one agent on its own queue:
issue a ticket (untimed), call next (timed), mark it no-show (untimed), ``--samples`` times; on
the template's first queue in the big store, then on the same shape of tenant in a fresh store
(no history) on the same server; interleaved ``--repeat`` times, medians reported.

Usage::

    .venv/bin/python bench/bulk_history.py [--events 1000000] [--template-cycles 400]
        [--queues 4] [--samples 200] [--repeat 3] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

if __package__ in (None, ""):
    # Run as ``python bench/bulk_history.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.context import CommandContext
from bench.environment import (
    Database,
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    scratch_database,
    warn,
)
from bench.harness import percentile_ms
from bench.targets import Target, print_targets
from bench.workloads import World, app_cycle, build_world
from infrastructure.container import Container

POOL_SIZE = 8
TABLES = ("smartqueue_events", "smartqueue_snapshots")
COPY_BATCH_ROWS = 50_000
TARGET_RATIO = 1.2
# A UUID in a stored state: the library's JSON transcoder writes ``uuid.hex`` (32 digits); the
# dashed form is matched too. Neither may be part of a longer run of hex digits.
UUID_PATTERN = re.compile(
    rb"(?<![0-9a-f])(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})"
    rb"(?![0-9a-f])"
)

Row = tuple[uuid.UUID, int, str, bytes]


@dataclass(frozen=True)
class Options:
    events: int
    template_cycles: int
    queues: int
    samples: int
    repeat: int
    database_url: str | None


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the big store")
    parser.add_argument("--template-cycles", type=int, default=400, help="the template's cycles")
    parser.add_argument("--queues", type=int, default=4, help="queues (and agents) per tenant")
    parser.add_argument("--samples", type=int, default=200, help="timed call-next per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per store; medians (3)")
    parser.add_argument("--database-url", help="a local server (default: an embedded one)")
    args = parser.parse_args(argv)
    if min(args.events, args.template_cycles, args.queues, args.samples, args.repeat) < 1:
        parser.error("every number must be positive")
    return Options(
        args.events,
        args.template_cycles,
        args.queues,
        args.samples,
        args.repeat,
        args.database_url,
    )


# -- the big store -------------------------------------------------------------------------------


def run_template(container: Container, queues: int, cycles: int) -> World:
    """A tenant whose agents each cycle ``cycles / queues`` tickets on their own queue."""
    world = build_world(container, "distinct", queues, make_available=True)
    per_queue = cycles // queues

    def cycle(index: int) -> None:
        for _ in range(per_queue):
            app_cycle(container, world.tenant_id, world.callers[index])

    with ThreadPoolExecutor(queues, thread_name_prefix="template") as pool:
        list(pool.map(cycle, range(queues)))
    return world


def stored_rows(url: str, table: str) -> list[Row]:
    """Every row of ``table``: the events in log order, or the snapshots."""
    order = "notification_id" if table == "smartqueue_events" else "originator_id"
    query = sql.SQL("SELECT originator_id, originator_version, topic, state FROM {} ORDER BY {}")
    with psycopg.connect(url) as connection:
        cursor = connection.execute(query.format(sql.Identifier(table), sql.Identifier(order)))
        rows = [(row[0], row[1], row[2], bytes(row[3])) for row in cursor]
    if rows and not rows[0][3].startswith(b"{"):
        raise SystemExit("stored states are not plain JSON (compressed or encrypted): cannot copy")
    return rows


class Renamer:
    """Replaces every UUID with a fresh one, the same fresh one for the same UUID."""

    def __init__(self) -> None:
        self.fresh: dict[bytes, uuid.UUID] = {}

    def _for(self, digits: bytes) -> uuid.UUID:
        found = self.fresh.get(digits)
        if found is None:
            found = self.fresh[digits] = uuid.uuid4()
        return found

    def _replace(self, match: re.Match[bytes]) -> bytes:
        text = match.group(0)
        new = self._for(text.replace(b"-", b""))
        return (str(new) if len(text) == 36 else new.hex).encode()

    def row(self, row: Row) -> Row:
        originator_id, version, topic, state = row
        new_id = self._for(originator_id.hex.encode())
        return new_id, version, topic, UUID_PATTERN.sub(self._replace, state)


def copy_rows(connection: psycopg.Connection, table: str, rows: Sequence[Row]) -> None:
    statement = sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN")
    with connection.cursor().copy(statement.format(sql.Identifier(table))) as copy:
        for row in rows:
            copy.write_row(row)


def fill(url: str, target_events: int, probe: uuid.UUID) -> tuple[int, uuid.UUID]:
    """Copy the template's events and snapshots, renamed, until the log holds ``target_events``;
    the log's head, and the last copy's id for the template aggregate ``probe``."""
    template = {table: stored_rows(url, table) for table in TABLES}
    per_copy = len(template["smartqueue_events"])
    copies = max(0, -(-(target_events - per_copy) // per_copy))
    warn(f"template: {per_copy:,} events; making {copies:,} renamed copies")
    started = time.perf_counter()
    renamer = Renamer()
    with psycopg.connect(url) as connection:
        pending = 0
        for index in range(copies):
            renamer = Renamer()
            for table, rows in template.items():
                copy_rows(connection, table, [renamer.row(row) for row in rows])
            pending += per_copy
            if pending >= COPY_BATCH_ROWS or index == copies - 1:
                connection.commit()
                pending = 0
                done = (index + 1) * per_copy
                warn(f"  {done:,} events copied in {time.perf_counter() - started:.0f} s")
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        head = connection.execute("SELECT max(notification_id) FROM smartqueue_events").fetchone()
    return (int(head[0]) if head and head[0] else 0), renamer.fresh.get(probe.hex.encode(), probe)


def check_copy(container: Container, original_id: uuid.UUID, copied_id: uuid.UUID) -> None:
    """The copies are real aggregates: a renamed copy of the template's queue loads (through
    its snapshot) to the same version as the original."""
    repository = container.app.repository
    original, copied = repository.get(original_id), repository.get(copied_id)
    if copied.id != copied_id or copied.version != original.version:
        raise RuntimeError(f"the copied queue {copied_id} does not load like {original_id}")
    warn(f"check: copied queue {copied_id} loads at version {copied.version}, as the original")


# -- the measurement -----------------------------------------------------------------------------


def call_next_latencies(container: Container, world: World, samples: int) -> list[float]:
    """Issue, call next (timed), no-show: ``samples`` times with the world's first agent."""
    caller = world.callers[0]
    context = CommandContext(tenant_id=world.tenant_id, actor_id=caller.user_id, actor_role="agent")
    latencies = []
    for _ in range(samples):
        container.tickets.issue_ticket(context, caller.queue_id)
        began = time.perf_counter()
        called = container.staffing.call_next(context, caller.agent_id, caller.queue_id)
        latencies.append(time.perf_counter() - began)
        if called is None:
            raise RuntimeError("call next found nobody waiting right after an issue")
        container.tickets.mark_no_show(context, called.id)
    return latencies


@dataclass(frozen=True)
class Store:
    name: str
    container: Container
    world: World


def report(options: Options, head: int, results: dict[str, list[list[float]]]) -> None:
    print(
        f"\nCall-next through the application layer, one agent on its own queue, {options.samples}"
        f" calls per run, median of {options.repeat} runs:"
    )
    medians: dict[str, tuple[float, float]] = {}
    for name, runs in results.items():
        p50 = statistics.median(percentile_ms(run, 0.5) for run in runs)
        p99 = statistics.median(percentile_ms(run, 0.99) for run in runs)
        medians[name] = (p50, p99)
        print(f"  {name:<34} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    big, fresh = medians["big"], medians["fresh"]
    print(f"  big store: {head:,} events in the log (template queues: long-lived, snapshotted)")
    print(f"  ratio big / fresh: p50 x{big[0] / fresh[0]:.2f}, p99 x{big[1] / fresh[1]:.2f}")
    target = Target(
        f"call-next p50, {head:,}-event store / fresh store",
        big[0] / fresh[0],
        TARGET_RATIO,
        "x",
        True,
    )
    print_targets([target], " ".join(f"{value:.2f}" for value in os.getloadavg()))


def benchmark(options: Options) -> None:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-bulk-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        server_url = options.database_url
        big_db: Database = stack.enter_context(scratch_database(server_url, workdir))
        if server_url is None:  # the fresh store goes on the same embedded server
            server_url = big_db.server_url
        fresh_db: Database = stack.enter_context(scratch_database(server_url, workdir))
        print("SmartQueue call-next on a big store vs a fresh one")
        for name, value in machine_context(big_db):
            print(f"  {name:<13} {value}")
        print(flush=True)
        stores = []
        for name, database in (("big", big_db), ("fresh", fresh_db)):
            container = open_container(database, workdir / f"home-{name}", POOL_SIZE)
            stack.callback(reporting_failure(container.close, f"close the {name} store"))
            cycles = options.template_cycles if name == "big" else 0
            started = time.perf_counter()
            world = run_template(container, options.queues, cycles)
            warn(f"{name}: tenant ready in {time.perf_counter() - started:.0f} s")
            stores.append(Store(name, container, world))
        started = time.perf_counter()
        big = stores[0]
        head, copied_queue = fill(big_db.url, options.events, big.world.callers[0].queue_id)
        warn(f"big store: {head:,} events after {time.perf_counter() - started:.0f} s")
        check_copy(big.container, big.world.callers[0].queue_id, copied_queue)
        results: dict[str, list[list[float]]] = {store.name: [] for store in stores}
        for repeat in range(1, options.repeat + 1):
            for store in stores:
                latencies = call_next_latencies(store.container, store.world, options.samples)
                results[store.name].append(latencies)
                warn(f"repeat {repeat}, {store.name}: p50 {percentile_ms(latencies, 0.5):.2f} ms")
        report(options, head, results)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return run_interruptibly(
        lambda: benchmark(options), "the scratch databases dropped, the server stopped"
    )


if __name__ == "__main__":
    sys.exit(main())
