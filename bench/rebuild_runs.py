"""Rebuild throughput: each read model rebuilt from the whole log, timed, beside a raw baseline.

The baseline does in one process what a rebuild must do at the least: create a table with the
audit log's columns and indexes, read the same notifications in batches of the same size, turn
each into one audit-shaped row (JSON-decoding the stored state once), insert the batch with a
plain ``executemany`` or ``COPY`` and commit it with a position, then drop the table (a rebuild
creates its shadow table and drops the old one too).
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from bench.environment import warn
from bench.harness import CpuMeter
from infrastructure.container import Container
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import DEFAULT_BATCH_SIZE, ReadModel, read_models

REBUILD_BATCH_SIZE = DEFAULT_BATCH_SIZE * 5  # rebuild()'s default
RAW_TABLE = "bench_raw_projection"
RAW_TRACKING = "bench_raw_projection"
RAW_COLUMNS = (
    "position",
    "tenant_id",
    "event_id",
    "event_type",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "actor_id",
    "actor_role",
    "client_ip",
    "correlation_id",
    "causation_id",
    "recorded_at",
    "data",
)


@dataclass(frozen=True)
class Throughput:
    """Several timed runs of one way of building a read model from the whole log."""

    name: str
    events: int
    seconds: list[float]
    cpu_seconds: list[float]
    """CPU used by this process and the database's PostgreSQL backends, per run."""

    @property
    def rates(self) -> list[float]:
        return [self.events / seconds for seconds in self.seconds]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    @property
    def per_cpu_second(self) -> float:
        """Median events per CPU second: what the run would reach with the CPU to itself
        (the work is sequential: Python, then PostgreSQL, then Python), whatever else runs."""
        return statistics.median(self.events / seconds for seconds in self.cpu_seconds)


def timed(container: Container, action: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds of ``action``, and the CPU seconds it cost here and in PostgreSQL."""
    meter = CpuMeter(str(conninfo_to_dict(container.database_url)["dbname"]), None)
    before = meter.read()
    action()
    after = meter.read()
    backends = sum(cpu - before.postgres.get(pid, 0.0) for pid, cpu in after.postgres.items())
    return after.wall - before.wall, after.bench - before.bench + backends


def log_length(container: Container) -> int:
    """How many events the log holds (ids have gaps, so not the last id)."""
    recorder = container.app.recorder
    statement = sql.SQL("SELECT count(*) AS n FROM {}").format(
        sql.Identifier(recorder.events_table_name)
    )
    with recorder.datastore.get_connection() as connection:
        row = connection.execute(statement).fetchone()
        return int(row["n"]) if row else 0


def rebuild_once(container: Container, model: ReadModel) -> None:
    """Rebuild ``model`` from position 0 and swap it in."""
    app = container.app
    rebuild(model, container.read_engine, app.recorder, app.mapper)


def repeat(
    container: Container, name: str, runs: int, events: int, action: Callable[[], object]
) -> Throughput:
    """``action`` timed ``runs`` times."""
    seconds, cpu_seconds = [], []
    for run in range(1, runs + 1):
        wall, cpu = timed(container, action)
        seconds.append(wall)
        cpu_seconds.append(cpu)
        warn(f"  {name} run {run}/{runs}: {events / wall:,.0f} events/s")
    return Throughput(name, events, seconds, cpu_seconds)


def time_rebuilds(container: Container, runs: int, events: int) -> list[Throughput]:
    """Every read model of ``read_models()`` rebuilt ``runs`` times."""
    return [
        repeat(container, name, runs, events, partial(rebuild_once, container, model))
        for name, model in read_models().items()
    ]


def time_baselines(container: Container, runs: int, events: int) -> list[Throughput]:
    """The raw baseline, with ``executemany`` and with ``COPY``, ``runs`` times each."""
    return [
        repeat(
            container,
            f"raw {method} (baseline)",
            runs,
            events,
            partial(raw_rebuild, container, method),
        )
        for method in ("executemany", "copy")
    ]


def _raw_row(row: dict[str, Any]) -> tuple[Any, ...]:
    """One notification as an audit-shaped row, straight from the stored JSON."""
    state = json.loads(row["state"])
    metadata = state.get("metadata") or {}
    _module, _, qualname = row["topic"].partition(":")
    return (
        row["notification_id"],
        metadata.get("tenant_id"),
        f"{row['originator_id']}:{row['originator_version']}",
        qualname,
        qualname.partition(".")[0],
        row["originator_id"],
        row["originator_version"],
        metadata.get("actor_id"),
        metadata.get("actor_role"),
        metadata.get("client_ip"),
        metadata.get("correlation_id"),
        metadata.get("causation_id"),
        state["timestamp"]["_data_"],
        row["state"].decode(),
    )


def raw_rebuild(container: Container, method: str) -> None:
    """The raw baseline: read the whole log and write one row per event."""
    events_table = sql.Identifier(container.app.recorder.events_table_name)
    table = sql.Identifier(RAW_TABLE)
    columns = sql.SQL(", ").join(map(sql.Identifier, RAW_COLUMNS))
    select = sql.SQL(
        "SELECT notification_id, originator_id, originator_version, topic, state FROM {} "
        "WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    ).format(events_table)
    insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        table, columns, sql.SQL(", ").join(sql.Placeholder() * len(RAW_COLUMNS))
    )
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(table, columns)
    track = (
        "INSERT INTO projection_tracking (projection_name, position, updated_at) "
        "VALUES (%s, %s, now()) ON CONFLICT (projection_name) "
        "DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at"
    )
    with psycopg.connect(container.database_url, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        connection.execute(sql.SQL("CREATE TABLE {} (LIKE audit_log INCLUDING ALL)").format(table))
        position = 0
        while True:
            with connection.transaction(), connection.cursor(row_factory=dict_row) as cursor:
                batch = cursor.execute(select, (position, REBUILD_BATCH_SIZE)).fetchall()
                rows = [_raw_row(row) for row in batch]
                if method == "copy":
                    with cursor.copy(copy) as writer:
                        for values in rows:
                            writer.write_row(values)
                elif rows:
                    cursor.executemany(insert, rows)
                if batch:
                    position = batch[-1]["notification_id"]
                    cursor.execute(track, (RAW_TRACKING, position))
            if len(batch) < REBUILD_BATCH_SIZE:
                break
        connection.execute(sql.SQL("DROP TABLE {}").format(table))
        connection.execute(
            "DELETE FROM projection_tracking WHERE projection_name = %s", (RAW_TRACKING,)
        )


def profile_rebuild(container: Container, model: ReadModel, top: int = 18) -> str:
    """One rebuild of ``model`` under cProfile: the functions that took the most own time, and
    the cumulative time of the stages a rebuild goes through."""
    profiler = cProfile.Profile()
    profiler.enable()
    rebuild_once(container, model)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    total = stats.total_tt  # type: ignore[attr-defined]
    out.write(f"stages of one rebuild ({total:.2f} s of profiled time):\n")
    for label, function in STAGES:
        seconds = _cumulative(stats, function)
        out.write(f"  {label:<52} {seconds:6.2f} s  {seconds / total:4.0%}\n")
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


# What a rebuild spends its time on, by the function that does it (cumulative time).
STAGES = (
    ("read notifications (recorder.select_notifications)", "select_notifications"),
    ("decode events (mapper.to_domain_event)", "to_domain_event"),
    ("projection handlers (projection.handle)", "handle"),
    ("write rows (view.flush)", "flush"),
)


def _cumulative(stats: pstats.Stats, function: str) -> float:
    """The largest cumulative time of any function named ``function`` (recursion and
    same-named helpers would double count if summed)."""
    found = [
        cumulative
        for (_file, _line, name), (_calls, _prim, _own, cumulative, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        if name == function
    ]
    return max(found, default=0.0)
