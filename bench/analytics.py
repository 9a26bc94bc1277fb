"""Analytics benchmark: KPI queries, KPI projection catch-up and the analytics sink on a year of
a 50-site tenant, each beside a plain baseline.

1. *History*: one tenant, ``--sites`` sites, ``--days`` days of ``--visits-per-day`` visits per
   site and open day, made by the real application in memory and copied into the scratch
   database's event store (``bench/analytics_history.py``). The same visits, one row each, go
   into a flat facts table (``bench_visit_facts``) with ``COPY``: the baseline's input.
2. *Catch-up*: the ``kpis`` read model rebuilt from position 0 through the real projection code
   (``infrastructure.following.rebuild``, what ``smartqueue projections rebuild kpis`` runs), as
   events/s over the whole log; beside the raw baseline of ``bench/projections.py`` (the same
   notifications read in the same batches, one row each written with ``COPY``) and the
   ``COPY`` of the facts rows (visits/s).
3. *Queries*: ``Analytics.get_kpis`` (the application use case behind
   ``GET /api/v1/tenants/{slug}/analytics/kpis/``, through the container) for the last open day,
   the last full month and the whole history, grouped by nothing, ``site``, ``day`` and
   ``hour``: ``--samples`` calls per cell and run, p50/p99. Beside it the baseline: the same
   figures (counts, mean wait and service time, p50/p90/p95 with ``percentile_cont``, SLA) by
   one plain ``GROUP BY`` over the facts table. The year's totals are checked against the facts
   first, so the fold is seen computing real figures.
4. *Sink*: the analytics sink's own row and store code (``infrastructure/analytics``:
   ``batch_of`` decodes the published envelopes, ``SinkStore.write`` stores a batch and its
   offsets in one DuckDB transaction) fed the whole log as Kafka records in batches of the
   sink's batch size, without a broker; the records are made beforehand as the relay makes them
   (mapper, ``envelope_of``, msgspec), untimed. Beside it raw DuckDB inserts of the same rows
   (an Arrow table per batch into a plain table: no key, no de-duplication, no offsets).

Runs are repeated ``--repeat`` times (interleaved with their baselines); medians are reported.
Progress goes to stderr, the report to stdout. ``--quick`` is a smoke run of under a minute.

Usage::

    .venv/bin/python bench/analytics.py [--sites 50] [--days 365] [--visits-per-day 3]
        [--repeat 3] [--samples 20] [--cell-seconds 5] [--quick]
        [--database-url URL]
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
import time
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import psycopg
import pyarrow as pa

if __package__ in (None, ""):
    # Run as ``python bench/analytics.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from application.analytics import KpiRange, KpiRow
from bench.analytics_history import History, HistoryPlan, VisitFact, make_history
from bench.environment import (
    machine_context,
    open_container,
    reporting_failure,
    run_interruptibly,
    scratch_database,
    warn,
)
from bench.harness import percentile_ms
from bench.rebuild_runs import REBUILD_BATCH_SIZE, Throughput, log_length, raw_rebuild, repeat
from infrastructure.analytics.rows import EVENT_COLUMNS, batch_of
from infrastructure.analytics.settings import AnalyticsSinkSettings
from infrastructure.analytics.store import SinkStore
from infrastructure.container import Container
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ReadModel, read_models
from infrastructure.kafka.contract import envelope_of
from infrastructure.read_models.queue_stats import sla_rule

POOL_SIZE = 4
MIN_SAMPLES = 2
GROUPINGS: tuple[tuple[str, ...], ...] = ((), ("site",), ("day",), ("hour",))
FACTS_TABLE = "bench_visit_facts"
FACT_COLUMNS = (
    "tenant_id",
    "ticket_id",
    "site_id",
    "service_id",
    "queue_id",
    "agent_id",
    "day",
    "hour",
    "channel",
    "outcome",
    "wait_seconds",
    "service_seconds",
    "sla_met",
)
KEY_COLUMNS = {"site": "site_id", "day": "day", "hour": "hour"}
SANITY_FIELDS = (
    "arrivals",
    "served",
    "no_shows",
    "cancellations",
    "abandonments",
    "waits_counted",
    "services_counted",
    "sla_met",
    "sla_counted",
)


@dataclass(frozen=True)
class Options:
    """What to make and measure, and where."""

    sites: int
    days: int
    visits_per_day: int
    repeat: int
    samples: int
    cell_seconds: float
    database_url: str | None


def parse_options(argv: Sequence[str] | None = None) -> Options:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50, help="sites of the tenant (50)")
    parser.add_argument("--days", type=int, default=365, help="days of history (365)")
    parser.add_argument(
        "--visits-per-day", type=int, default=3, help="visits per site and open day (3)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs of each part; medians (3)")
    parser.add_argument("--samples", type=int, default=20, help="calls per query and run (20)")
    parser.add_argument(
        "--cell-seconds",
        type=float,
        default=5.0,
        help="time per query and run, after which it stops at 2 calls or more (5)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke sizes: 3 sites, 40 days, 1 run, 3 samples"
    )
    parser.add_argument("--database-url", help="a local server (default: an embedded one)")
    args = parser.parse_args(argv)
    if args.quick:
        args.sites, args.days, args.visits_per_day, args.repeat, args.samples = 3, 40, 12, 1, 3
    numbers = (args.sites, args.days, args.visits_per_day, args.repeat, args.samples)
    if min(numbers) < 1:
        parser.error("every number must be positive")
    if args.days > 400:
        parser.error("--days: a KPI query spans at most 400 days")
    return Options(
        args.sites,
        args.days,
        args.visits_per_day,
        args.repeat,
        args.samples,
        args.cell_seconds,
        args.database_url,
    )


# -- the facts table (the baseline's input) ----------------------------------------------------


def create_facts(connection: psycopg.Connection) -> None:
    connection.execute(f"DROP TABLE IF EXISTS {FACTS_TABLE}")
    connection.execute(
        f"""CREATE TABLE {FACTS_TABLE} (
            tenant_id uuid NOT NULL, ticket_id uuid PRIMARY KEY, site_id uuid NOT NULL,
            service_id uuid NOT NULL, queue_id uuid NOT NULL, agent_id uuid, day date NOT NULL,
            hour integer NOT NULL, channel text NOT NULL, outcome text NOT NULL,
            wait_seconds double precision, service_seconds double precision, sla_met boolean)"""
    )
    connection.execute(f"CREATE INDEX ON {FACTS_TABLE} (tenant_id, day)")


def copy_facts(database_url: str, tenant_id: Any, facts: Sequence[VisitFact]) -> None:
    """The facts table made anew and filled with one ``COPY`` (its index and key included)."""
    columns = ", ".join(FACT_COLUMNS)
    with psycopg.connect(database_url) as connection:
        create_facts(connection)
        with connection.cursor().copy(f"COPY {FACTS_TABLE} ({columns}) FROM STDIN") as copy:
            for fact in facts:
                copy.write_row((tenant_id, *astuple(fact)))
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(f"ANALYZE {FACTS_TABLE}")


def baseline_sql(groups: tuple[str, ...]) -> str:
    """The KPIs of ``groups`` by one plain ``GROUP BY`` over the facts."""
    keys = [KEY_COLUMNS[group] for group in groups]
    waits = "percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY wait_seconds)"
    services = "percentile_cont(ARRAY[0.5, 0.9, 0.95]) WITHIN GROUP (ORDER BY service_seconds)"
    select = ", ".join(
        [
            *keys,
            "count(*) AS arrivals",
            "count(*) FILTER (WHERE outcome = 'served') AS served",
            "count(*) FILTER (WHERE outcome = 'no_show') AS no_shows",
            "count(*) FILTER (WHERE outcome IN ('cancelled', 'abandoned')) AS cancellations",
            "count(*) FILTER (WHERE outcome = 'abandoned') AS abandonments",
            "count(wait_seconds) AS waits_counted",
            "avg(wait_seconds) AS wait_mean_seconds",
            f"{waits} AS wait_quantiles",
            "max(wait_seconds) AS wait_max_seconds",
            "count(service_seconds) AS services_counted",
            "avg(service_seconds) AS service_mean_seconds",
            f"{services} AS service_quantiles",
            "max(service_seconds) AS service_max_seconds",
            "count(*) FILTER (WHERE sla_met) AS sla_met",
            "count(sla_met) AS sla_counted",
        ]
    )
    grouped = f" GROUP BY {', '.join(keys)} ORDER BY {', '.join(keys)}" if keys else ""
    return (
        f"SELECT {select} FROM {FACTS_TABLE}"
        " WHERE tenant_id = %s AND day BETWEEN %s AND %s" + grouped
    )


# -- the parts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A range of site-local days the queries ask for."""

    name: str
    first: date
    last: date


def periods(plan: HistoryPlan) -> list[Period]:
    """The last open day, the last full month (the whole history if shorter), the history."""
    day = plan.last_day
    while day.weekday() == 6:  # sites close on Sundays
        day -= timedelta(days=1)
    month_last = plan.last_day.replace(day=1) - timedelta(days=1)
    month_first = month_last.replace(day=1)
    if month_first < plan.first_day:
        month_first, month_last = plan.first_day, plan.last_day
    return [
        Period("day", day, day),
        Period("month", month_first, month_last),
        Period("year", plan.first_day, plan.last_day),
    ]


def kpi_model(container: Container) -> ReadModel:
    """The ``kpis`` read model with the SLA rule of the settings, as the CLI builds it."""
    return read_models(sla_rule(container.settings.stats))["kpis"]


def rebuild_kpis(container: Container) -> None:
    """What ``smartqueue projections rebuild kpis`` does: shadow tables, catch-up, swap."""
    app = container.app
    rebuild(kpi_model(container), container.read_engine, app.recorder, app.mapper)


def check_figures(container: Container, history: History) -> str:
    """The whole history's KPIs (one row) against the facts' counts; raise if one differs."""
    plan = history.plan
    query = KpiRange(plan.first_day, plan.last_day, ())
    (row,) = container.analytics.get_kpis(history.tenant_id, query).items
    with psycopg.connect(container.database_url) as connection:
        cursor = connection.execute(
            baseline_sql(()), (history.tenant_id, plan.first_day, plan.last_day)
        )
        names = [column.name for column in cursor.description or ()]
        facts = dict(zip(names, cursor.fetchone() or (), strict=True))
    wrong = [name for name in SANITY_FIELDS if getattr(row, name) != facts[name]]
    if wrong:
        details = ", ".join(f"{n} {getattr(row, n)} vs {facts[n]}" for n in wrong)
        raise RuntimeError(f"the KPI read model disagrees with the visits made: {details}")
    return describe(row, facts)


def describe(row: KpiRow, facts: dict[str, Any]) -> str:
    """The whole history's figures, the read model's beside the exact ones."""
    quantiles = facts["wait_quantiles"]
    return (
        f"{row.arrivals:,} visits, {row.served:,} served, {row.no_shows:,} no-shows,"
        f" {row.abandonments:,} abandoned; mean wait {row.wait_mean_seconds:,.0f} s"
        f" (facts {facts['wait_mean_seconds']:,.0f} s); wait p50/p90/p95"
        f" {row.wait_p50_seconds:,.0f}/{row.wait_p90_seconds:,.0f}/{row.wait_p95_seconds:,.0f} s"
        f" (facts {quantiles[0]:,.0f}/{quantiles[1]:,.0f}/{quantiles[2]:,.0f} s, sketch within"
        f" 1%); SLA {row.sla_compliance:.1%}{duty(row)}"
    )


def duty(row: KpiRow) -> str:
    """The agents' time on duty and utilisation, where the read model reports them."""
    seconds, utilisation = getattr(row, "on_duty_seconds", None), getattr(row, "utilisation", None)
    if not seconds or utilisation is None:
        return ""
    return f"; agents on duty {seconds / 3600:,.0f} h, utilisation {utilisation:.0%}"


Cell = tuple[str, str, tuple[str, ...]]  # (period, way, groups)


def time_queries(
    container: Container, history: History, options: Options, warm_up: bool
) -> dict[Cell, tuple[list[float], int]]:
    """Calls of every (period, grouping) through Analytics and the baseline, ``--samples`` of
    each, or fewer (at least :data:`MIN_SAMPLES`) once ``--cell-seconds`` are spent, after one
    untimed call per period and way when ``warm_up``: the latencies in seconds and the rows of
    the answer (get_kpis merges them all, then returns the first page)."""
    analytics = container.analytics
    tenant_id = history.tenant_id
    results: dict[Cell, tuple[list[float], int]] = {}
    with psycopg.connect(container.database_url, autocommit=True) as connection:
        for period in periods(history.plan):
            for groups in GROUPINGS:
                query = KpiRange(period.first, period.last, groups)
                statement = baseline_sql(groups)
                arguments = (tenant_id, period.first, period.last)
                rows = len(connection.execute(statement, arguments).fetchall())
                calls: dict[str, Callable[[], object]] = {
                    "get_kpis": lambda query=query: analytics.get_kpis(tenant_id, query),
                    "GROUP BY": lambda sql=statement, args=arguments: connection.execute(
                        sql, args
                    ).fetchall(),
                }
                for way, call in calls.items():
                    if warm_up and not groups:  # once per period and way: caches, the plan
                        call()
                    latencies: list[float] = []
                    deadline = time.perf_counter() + options.cell_seconds
                    while len(latencies) < options.samples and (
                        len(latencies) < MIN_SAMPLES or time.perf_counter() < deadline
                    ):
                        began = time.perf_counter()
                        call()
                        latencies.append(time.perf_counter() - began)
                    results[(period.name, way, groups)] = (latencies, rows)
    return results


@dataclass(frozen=True)
class Record:
    """A consumed Kafka record, as the sink reads it (``rows.KafkaRecord``)."""

    topic: str
    partition: int
    offset: int
    value: bytes


Poll = dict[tuple[str, int], list[Record]]
PARTITIONS = 3


def published_records(container: Container, batch_size: int) -> tuple[list[Poll], float]:
    """The whole log as the relay publishes it (envelopes, keyed by aggregate, three partitions
    per topic), cut into polls of ``batch_size`` records; and the seconds that took."""
    started = time.perf_counter()
    recorder, mapper = container.app.recorder, container.app.mapper
    offsets: dict[tuple[str, int], int] = {}
    records: list[Record] = []
    position = 0
    while True:
        notifications = recorder.select_notifications(position, 5000, inclusive_of_start=False)
        for notification in notifications:
            event_type, envelope = envelope_of(
                mapper.to_domain_event(notification), notification.id
            )
            key = (event_type.topic, envelope.aggregate_id.int % PARTITIONS)
            offset = offsets[key] = offsets.get(key, -1) + 1
            records.append(Record(*key, offset, msgspec.json.encode(envelope)))
        if len(notifications) < 5000:
            break
        position = notifications[-1].id
    polls = []
    for start in range(0, len(records), batch_size):
        poll: Poll = {}
        for record in records[start : start + batch_size]:
            poll.setdefault((record.topic, record.partition), []).append(record)
        polls.append(poll)
    return polls, time.perf_counter() - started


INTEGER_COLUMNS = ("kafka_partition", "kafka_offset", "aggregate_version", "schema_version")
RAW_SINK_TABLE = "CREATE TABLE raw_events ({})".format(
    ", ".join(
        f"{name} {'BIGINT' if name in (*INTEGER_COLUMNS, 'log_position') else 'VARCHAR'}"
        for name in EVENT_COLUMNS
    )
)


def sink_run(polls: Sequence[Poll], path: Path) -> int:
    """The sink's code on every poll, into a new DuckDB file; the events it stored."""
    store = SinkStore(path)
    try:
        for poll in polls:
            store.write(batch_of(poll))
        return store.totals()[0]
    finally:
        store.close()


def raw_duckdb_run(polls: Sequence[Poll], path: Path) -> int:
    """The same decoding, then each batch's rows as one Arrow table into a plain table."""
    connection = duckdb.connect(str(path))
    try:
        connection.execute(RAW_SINK_TABLE)
        for poll in polls:
            rows = batch_of(poll).rows
            columns = list(zip(*(astuple(row) for row in rows), strict=True))
            connection.register(
                "batch_rows", pa.table(dict(zip(EVENT_COLUMNS, columns, strict=True)))
            )
            connection.execute("INSERT INTO raw_events SELECT * FROM batch_rows")
            connection.unregister("batch_rows")
        return int((connection.execute("SELECT count(*) FROM raw_events").fetchone() or (0,))[0])
    finally:
        connection.close()


def time_sink(polls: Sequence[Poll], events: int, runs: int, workdir: Path) -> list[Throughput]:
    """Sink and raw DuckDB, interleaved ``runs`` times, each into a fresh file."""
    ways = {"sink (batch_of + SinkStore)": sink_run, "raw DuckDB insert (baseline)": raw_duckdb_run}
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for run in range(1, runs + 1):
        for name, way in ways.items():
            path = workdir / f"sink-{run}-{len(seconds[name])}.duckdb"
            wall, process = time.perf_counter(), time.process_time()
            stored = way(polls, path)
            seconds[name].append(time.perf_counter() - wall)
            cpu[name].append(time.process_time() - process)
            path.unlink()
            if stored != events:
                raise RuntimeError(f"{name} stored {stored:,} of {events:,} events")
            warn(f"  {name} run {run}/{runs}: {events / seconds[name][-1]:,.0f} events/s")
    return [Throughput(name, events, seconds[name], cpu[name]) for name in ways]


# -- the report ----------------------------------------------------------------------------------


def print_history(history: History, events: int) -> None:
    plan = history.plan
    others = sum(1 for index in range(plan.sites) if index % 10 == 9)
    print(
        f"History: 1 tenant, {plan.sites} sites ({others} in America/New_York, the others in"
        f" Europe/Paris), {len(history.lines)} queues, {plan.days} days ({plan.first_day} to"
        f" {plan.last_day}, Sundays closed), {plan.visits_per_day} visits per site and open"
        f" day:\n  {len(history.facts):,} visits, {events:,} events in the log"
        f" ({history.snapshots} snapshots), made in {history.seconds:.0f} s"
        f" ({history.events / history.seconds:,.0f} events/s: the application in memory, then"
        " COPY)."
    )


def print_throughputs(title: str, results: Sequence[Throughput], unit: str = "events/s") -> None:
    print(title)
    print(f"  {'':<36} {'median':>10} {'min':>10} {'max':>10} {'per CPU s':>10}")
    for result in results:
        rates = result.rates
        print(
            f"  {result.name:<36} {result.median:10,.0f} {min(rates):10,.0f}"
            f" {max(rates):10,.0f} {result.per_cpu_second:10,.0f}  {unit}"
        )


def bucket_counts(container: Container, history: History) -> dict[str, tuple[int, int]]:
    """How many rows each period's query reads: hourly visit buckets (``kpis``) and agent-hours
    on duty (``kpi_agent_duty``, 0 where the read model has no such table)."""
    counts = {}
    with psycopg.connect(container.database_url) as connection:
        row = connection.execute("SELECT to_regclass('kpi_agent_duty') IS NOT NULL").fetchone()
        has_duty = bool(row and row[0])
        for period in periods(history.plan):
            arguments = (history.tenant_id, period.first, period.last)
            buckets = connection.execute(
                "SELECT count(*) FROM kpis WHERE tenant_id = %s AND day BETWEEN %s AND %s"
                " AND arrivals > 0",
                arguments,
            ).fetchone()
            duty = (0,)
            if has_duty:
                duty = connection.execute(
                    "SELECT count(*) FROM kpi_agent_duty"
                    " WHERE tenant_id = %s AND day BETWEEN %s AND %s",
                    arguments,
                ).fetchone()
            counts[period.name] = (int(buckets[0]) if buckets else 0, int(duty[0]) if duty else 0)
    return counts


def print_queries(
    runs: list[dict[Cell, tuple[list[float], int]]],
    history: History,
    counts: dict[str, tuple[int, int]],
) -> None:
    print(
        f"KPI queries of the tenant's {len(history.site_ids)} sites, median of {len(runs)} runs"
        " (ms; calls: the fewest timed calls of get_kpis in a run):"
    )
    header = f"  {'period':<28} {'group_by':<8} {'rows':>5} {'calls':>5} {'get_kpis p50':>12}"
    print(header + f" {'p99':>8} {'GROUP BY p50':>12} {'p99':>7} {'x p50':>6}")
    per_bucket = {}
    for period in periods(history.plan):
        for groups in GROUPINGS:
            figures = []
            for way in ("get_kpis", "GROUP BY"):
                cells = [run[(period.name, way, groups)] for run in runs]
                figures.append(
                    (
                        statistics.median(percentile_ms(c[0], 0.5) for c in cells),
                        statistics.median(percentile_ms(c[0], 0.99) for c in cells),
                    )
                )
            rows = runs[0][(period.name, "get_kpis", groups)][1]
            calls = min(len(run[(period.name, "get_kpis", groups)][0]) for run in runs)
            span = (
                str(period.first)
                if period.first == period.last
                else f"{period.first}..{period.last}"
            )
            label = f"{period.name} {span}"
            ratio = figures[0][0] / figures[1][0] if figures[1][0] else math.nan
            if not groups and sum(counts[period.name]):
                per_bucket[period.name] = figures[0][0] * 1000 / sum(counts[period.name])
            print(
                f"  {label:<28} {','.join(groups) or 'none':<8} {rows:>5} {calls:>5}"
                f" {figures[0][0]:12.1f} {figures[0][1]:8.1f}"
                f" {figures[1][0]:12.1f} {figures[1][1]:7.1f} {ratio:6.1f}"
            )
    print("Rows each get_kpis has PostgreSQL sum (hourly visit buckets + agent-hours on duty):")
    for name, (buckets, duty) in counts.items():
        each = per_bucket.get(name, math.nan)
        print(f"  {name:<6} {buckets:9,} + {duty:9,} rows, {each:4.0f} us a row (p50, no grouping)")
    print(
        "get_kpis: Analytics.get_kpis through the container (reader role, tenant RLS, the rows\n"
        "summed per group by PostgreSQL, the sketch bins merged and DDSketch quantiles in\n"
        "Python, first page of the answer); GROUP BY: one SQL statement over the flat facts\n"
        "table (percentile_cont), owner login. x p50: get_kpis p50 / GROUP BY p50.",
        flush=True,
    )


# -- the run ---------------------------------------------------------------------------------------


def benchmark(options: Options) -> None:
    with contextlib.ExitStack() as stack:
        workdir = Path(tempfile.mkdtemp(prefix="sq-bench-analytics-"))
        stack.callback(reporting_failure(lambda: shutil.rmtree(workdir), f"remove {workdir}"))
        database = stack.enter_context(scratch_database(options.database_url, workdir))
        print("SmartQueue analytics benchmark")
        for name, value in machine_context(database):
            print(f"  {name:<13} {value}")
        print(flush=True)
        container = open_container(database, workdir / "home", POOL_SIZE)
        stack.callback(reporting_failure(container.close, "close the application"))
        sla = sla_rule(container.settings.stats)
        last_day = datetime.now(UTC).date() - timedelta(days=1)
        plan = HistoryPlan(options.sites, options.days, options.visits_per_day, last_day)
        warn(f"making the history: {plan}")
        history = make_history(database.url, plan, sla)
        events = log_length(container)
        print_history(history, events)

        runs = options.repeat
        warn("facts COPY")
        facts = repeat(
            container,
            "facts COPY (baseline)",
            runs,
            len(history.facts),
            lambda: copy_facts(database.url, history.tenant_id, history.facts),
        )
        warn("kpis catch-up")
        catch_up = [
            repeat(
                container,
                "kpis rebuild (projection)",
                runs,
                events,
                lambda: rebuild_kpis(container),
            ),
            repeat(
                container,
                "raw log read + COPY (baseline)",
                runs,
                events,
                lambda: raw_rebuild(container, "copy"),
            ),
        ]
        agreement = check_figures(container, history)
        print(f"\nCheck: the whole history's KPIs agree with the visits made: {agreement}")
        print()
        print_throughputs(
            f"KPI projection catch-up from position 0, {events:,} events, batches of"
            f" {REBUILD_BATCH_SIZE:,}, median of {runs} runs (events/s = events in the log / wall"
            " time):",
            catch_up,
        )
        print_throughputs("", [facts], unit="visits/s")
        print(
            "kpis rebuild: infrastructure.following.rebuild of the kpis read model (what"
            "\n`smartqueue projections rebuild kpis` runs); raw log read + COPY: the same"
            "\nnotifications read in the same batches, one row per event by COPY"
            "\n(bench/rebuild_runs.py); facts COPY: the visits as rows of a flat table, one COPY"
            "\n(visits/s). per CPU s: this process and the database's backends.\n",
            flush=True,
        )

        warn("KPI queries")
        query_runs = []
        for run in range(1, runs + 1):
            query_runs.append(time_queries(container, history, options, warm_up=run == 1))
            warn(f"  queries run {run}/{runs} done")
        print_queries(query_runs, history, bucket_counts(container, history))

        batch_size = AnalyticsSinkSettings().batch_size
        warn("making the sink's records (untimed)")
        polls, prepared = published_records(container, batch_size)
        warn("sink")
        sink = time_sink(polls, events, runs, workdir)
        print()
        print_throughputs(
            f"Analytics sink into DuckDB, the {events:,} events as Kafka records (no broker), polls"
            f" of {batch_size}, median of {runs} runs:",
            sink,
        )
        print(
            "sink: infrastructure.analytics.rows.batch_of + SinkStore.write per poll (envelope"
            "\ndecode, rows, anti-join on event id, offsets, one DuckDB transaction); raw: the same"
            "\nbatch_of, then one Arrow table per poll into a plain table (no key, no casts, no"
            f"\noffsets). Making the records as the relay does took {prepared:.0f} s"
            f" ({events / prepared:,.0f} events/s, untimed).",
        )
        print(f"Load average (1 min) at the end: {os.getloadavg()[0]:.1f}.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_options(argv)
    return run_interruptibly(
        lambda: benchmark(options), "the scratch database dropped, the server stopped"
    )


if __name__ == "__main__":
    sys.exit(main())
