"""Booking benchmark: bookings/s through the application layer, and the availability query.

Two measurements, each beside a raw psycopg baseline in the same process and at the same
concurrency:

- **bookings/s** with ``--callers`` threads (8) booking through ``Appointments.book_appointment``
  (load site, service and the day's ``Schedule``, take a place, save schedule and appointment in
  one transaction, retry on conflict), in two layouts: ``one-day`` (every caller books slots of
  the same day of the same service: they contend for one ``Schedule`` and the losers retry) and
  ``many-days`` (each booking goes to another day: no contention); baseline: one-row
  ``INSERT`` + ``COMMIT`` per transaction (``bench.workloads.RawInserter``).
- **availability query** p50/p99 for a site with ``--services`` services (20), every one with
  bookings on each of ``--days`` days (60), asking one service's ``--days`` days (the booking
  page's query, through ``Availability.availability``: two aggregates loaded, one read-model
  query, the slots worked out); baseline: the same ``SELECT`` on the read model by raw psycopg
  (tenant set, one transaction).

Site: Europe/Paris, open 08:00-20:00 every day, 15-minute slots (48 a day). Every run gets a
fresh service; the invocation a fresh database (embedded PostgreSQL by default), dropped at the
end. Each cell runs ``--repeat`` times; medians are reported.

Usage::

    .venv/bin/python bench/booking.py [--duration 5] [--repeat 3] [--callers 8]
        [--services 20] [--days 60] [--query-callers 1,4] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID
from zoneinfo import ZoneInfo

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from application.context import CommandContext
from bench.environment import (
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    scratch_database,
)
from bench.harness import CpuMeter, RunStats, measure
from bench.workloads import BASELINES, PLAIN_BASELINE, RawInserter, create_baseline_table
from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models

PARIS = ZoneInfo("Europe/Paris")
OPEN, CLOSE, SLOT_MINUTES = 8, 20, 15
SLOTS_A_DAY = (CLOSE - OPEN) * 60 // SLOT_MINUTES
HOURS = {
    day: [{"open": f"{OPEN:02d}:00", "close": f"{CLOSE:02d}:00"}]
    for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
}
QUERY = (
    "SELECT taken FROM availability WHERE tenant_id = %s AND site_id = %s AND service_id = %s "
    "AND day BETWEEN %s AND %s"
)


@dataclass(frozen=True)
class Options:
    duration: float
    repeat: int
    callers: int
    services: int
    days: int
    query_callers: tuple[int, ...]
    database_url: str | None


def parse_options(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(description="Bookings/s and availability query latency.")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run (5)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell; median shown (3)")
    parser.add_argument("--callers", type=int, default=8, help="concurrent bookers (8)")
    parser.add_argument("--services", type=int, default=20, help="services of the site (20)")
    parser.add_argument("--days", type=int, default=60, help="days booked and queried (60)")
    parser.add_argument("--query-callers", default="1,4", help="concurrent queriers (1,4)")
    parser.add_argument("--database-url", help="a local PostgreSQL server (default: embedded)")
    args = parser.parse_args(argv)
    query_callers = tuple(int(part) for part in args.query_callers.split(",") if part.strip())
    if args.duration <= 0 or args.repeat < 1 or args.callers < 1 or not 1 <= args.days <= 62:
        parser.error("--duration, --repeat, --callers must be positive, --days 1..62")
    return Options(
        args.duration,
        args.repeat,
        args.callers,
        args.services,
        args.days,
        query_callers,
        args.database_url,
    )


@dataclass
class Site:
    tenant_id: UUID
    site_id: UUID
    context: CommandContext
    codes: Iterator[int]


def open_site(container: Container) -> Site:
    """A fresh tenant with one Paris site open 08:00-20:00 every day."""
    slug = f"bench-{time.monotonic_ns() % 10**10}"
    tenant_id = container.tenancy.create_tenant(CommandContext.system(None), slug, "Bench")
    context = CommandContext.system(tenant_id, reason="bench")
    site = container.catalogue.add_site(context, "Bench site", "Europe/Paris", HOURS)
    return Site(tenant_id, site.id, context, itertools.count())


def add_service(container: Container, site: Site) -> UUID:
    """A service bookable a year ahead with room for every booking of a run."""
    index = next(site.codes)
    code = "".join(chr(ord("A") + int(d)) for d in str(index).zfill(3))
    service = container.catalogue.add_service(site.context, f"Service {code}", code, 10)
    container.catalogue.change_service(
        site.context,
        service.id,
        booking={"slot_minutes": SLOT_MINUTES, "capacity": 1000, "horizon_days": 366},
    )
    return service.id


def slot(day: date, index: int) -> datetime:
    start = datetime(day.year, day.month, day.day, OPEN, tzinfo=PARIS)
    return start + timedelta(minutes=SLOT_MINUTES * (index % SLOTS_A_DAY))


def bookers(container: Container, site: Site, layout: str, callers: int) -> list[Callable]:
    """One booking operation per caller, in ``layout``."""
    service_id = add_service(container, site)
    first = date.today() + timedelta(days=2)
    counter = itertools.count()

    def booker(caller: int) -> Callable[[], None]:
        def book() -> None:
            n = next(counter)
            if layout == "one-day":
                start = slot(first, n)
            else:  # every booking on another day: a year of days, no two callers on one
                start = slot(first + timedelta(days=n % 360), n // 360)
            container.appointments.book_appointment(site.context, site.site_id, service_id, start)

        return book

    return [booker(caller) for caller in range(callers)]


def fill_availability(container: Container, site: Site, options: Options) -> list[UUID]:
    """``--services`` services, each booked on every one of ``--days`` days (a few places), and
    the availability read model caught up."""
    services = [add_service(container, site) for _ in range(options.services)]
    first = date.today() + timedelta(days=1)
    jobs = [
        (service_id, slot(first + timedelta(days=d), 3 * d + k))
        for service_id in services
        for d in range(options.days)
        for k in range(2)
    ]

    def book(job: tuple[UUID, datetime]) -> None:
        container.appointments.book_appointment(site.context, site.site_id, *job)

    began = time.perf_counter()
    with ThreadPoolExecutor(options.callers) as pool:
        list(pool.map(book, jobs))
    print(f"  set-up: {len(jobs)} bookings in {time.perf_counter() - began:.1f} s", flush=True)
    runner = ProjectionRunner(
        read_models()["availability"], container.app.recorder, container.app.mapper
    )
    runner.catch_up(container.read_engine)
    return services


class RawQuery:
    """The availability read model's SELECT by raw psycopg, the tenant set, one transaction."""

    def __init__(self, url: str, site: Site, service_id: UUID, first: date, last: date) -> None:
        self.connection = psycopg.connect(url, autocommit=True)
        self.args = (site.tenant_id, site.site_id, service_id, first, last)
        self.tenant = str(site.tenant_id)

    def __call__(self) -> None:
        with self.connection.transaction():
            self.connection.execute("SELECT set_config('app.tenant_id', %s, true)", (self.tenant,))
            rows = self.connection.execute(QUERY, self.args).fetchall()
        if not rows:
            raise RuntimeError("the read model is empty")


def median_of(runs: list[RunStats]) -> tuple[float, float, float, int]:
    return (
        statistics.median(run.rate for run in runs),
        statistics.median(run.p50_ms for run in runs),
        statistics.median(run.p99_ms for run in runs),
        sum(run.failures for run in runs),
    )


def report(title: str, rows: list[tuple[str, list[RunStats]]], unit: str) -> None:
    print(title)
    print(f"  {'cell':<34} {unit:>12} {'p50 ms':>9} {'p99 ms':>9} {'failed':>7}")
    for name, runs in rows:
        rate, p50, p99, failed = median_of(runs)
        print(f"  {name:<34} {rate:>12.1f} {p50:>9.2f} {p99:>9.2f} {failed:>7}")
    print(flush=True)


def benchmark(options: Options) -> None:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        database = stack.enter_context(scratch_database(options.database_url, workdir))
        print("SmartQueue booking benchmark")
        settings = (
            f"{options.duration:g} s per run, median of {options.repeat} runs; "
            f"{options.callers} bookers; availability over {options.services} services x "
            f"{options.days} days, {SLOTS_A_DAY} slots a day"
        )
        for name, value in [*machine_context(database), ("settings", settings)]:
            print(f"  {name:<13} {value}")
        print(flush=True)
        container = open_container(database, workdir / "home", 20)
        stack.callback(reporting_failure(container.close, "close the application's connections"))
        create_baseline_table(database.url)
        meter = CpuMeter(database.name, None)
        stop = threading.Event()
        site = open_site(container)

        def run(operations: list[Callable[[], None]]) -> RunStats:
            return measure(operations, options.duration, stop, meter)

        writes: dict[str, list[RunStats]] = {}
        for _ in range(options.repeat):
            inserters = [
                RawInserter(database.url, BASELINES[PLAIN_BASELINE]) for _ in range(options.callers)
            ]
            try:
                writes.setdefault(f"raw INSERT+COMMIT x{options.callers}", []).append(
                    run(inserters)
                )
            finally:
                for inserter in inserters:
                    inserter.close()
            for layout in ("one-day", "many-days"):
                operations = bookers(container, site, layout, options.callers)
                writes.setdefault(f"book {layout} x{options.callers}", []).append(run(operations))
        report("Bookings (app layer) vs raw inserts", list(writes.items()), "ops/s")

        services = fill_availability(container, site, options)
        first = date.today() + timedelta(days=1)
        last = first + timedelta(days=options.days - 1)
        reads: dict[str, list[RunStats]] = {}
        for _ in range(options.repeat):
            for callers in options.query_callers:
                raws = [
                    RawQuery(database.url, site, services[i % len(services)], first, last)
                    for i in range(callers)
                ]
                try:
                    reads.setdefault(f"raw SELECT x{callers}", []).append(run(raws))
                finally:
                    for raw in raws:
                        raw.connection.close()

                def query(service_id: UUID) -> Callable[[], None]:
                    def ask() -> None:
                        found = container.availability.get_availability(
                            site.tenant_id, site.site_id, service_id, first, last
                        )
                        if len(found.items) != options.days * SLOTS_A_DAY:
                            raise RuntimeError(f"{len(found.items)} slots")

                    return ask

                queries = [query(services[i % len(services)]) for i in range(callers)]
                reads.setdefault(f"availability {options.days} days x{callers}", []).append(
                    run(queries)
                )
        report("Availability query (app layer) vs raw SELECT", list(reads.items()), "queries/s")


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return run_interruptibly(lambda: benchmark(options), "the scratch database dropped")


if __name__ == "__main__":
    raise SystemExit(main())
