"""Rebuild throughput: each read model rebuilt from the whole log, timed, beside a raw baseline.

The baseline does in one process what a rebuild must do at the least: read the same
notifications in batches of the same size, turn each into one audit-shaped row (JSON-decoding
the stored state once) and insert the batch with a plain ``executemany`` or ``COPY`` into a
table with the audit log's columns and indexes, committing a position with each batch.
"""

from __future__ import annotations

import cProfile
import io
import json
import pstats
import statistics
import time
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from bench.environment import warn
from infrastructure.container import Container
from infrastructure.projection_runner import DEFAULT_BATCH_SIZE, ReadModel, read_models
from infrastructure.rebuild import rebuild

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

    @property
    def rates(self) -> list[float]:
        return [self.events / seconds for seconds in self.seconds]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def log_length(container: Container) -> int:
    """How many events the log holds (ids have gaps, so not the last id)."""
    recorder = container.app.recorder
    statement = sql.SQL("SELECT count(*) AS n FROM {}").format(
        sql.Identifier(recorder.events_table_name)
    )
    with recorder.datastore.get_connection() as connection:
        row = connection.execute(statement).fetchone()
        return int(row["n"]) if row else 0


def rebuild_once(container: Container, model: ReadModel) -> float:
    """Seconds to rebuild ``model`` from position 0 and swap it in."""
    app = container.app
    started = time.perf_counter()
    rebuild(model, container.read_engine, app.recorder, app.mapper)
    return time.perf_counter() - started


def time_rebuilds(container: Container, runs: int, events: int) -> list[Throughput]:
    """Every read model of ``read_models()`` rebuilt ``runs`` times."""
    results = []
    for name, model in read_models().items():
        seconds = []
        for run in range(1, runs + 1):
            seconds.append(rebuild_once(container, model))
            warn(f"  rebuild {name} run {run}/{runs}: {events / seconds[-1]:,.0f} events/s")
        results.append(Throughput(name, events, seconds))
    return results


def time_baselines(container: Container, runs: int, events: int) -> list[Throughput]:
    """The raw baseline, with ``executemany`` and with ``COPY``, ``runs`` times each."""
    results = []
    for method in ("executemany", "copy"):
        seconds = []
        for run in range(1, runs + 1):
            seconds.append(raw_rebuild(container, method))
            warn(f"  raw {method} run {run}/{runs}: {events / seconds[-1]:,.0f} events/s")
        results.append(Throughput(f"raw {method} (baseline)", events, seconds))
    return results


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


def raw_rebuild(container: Container, method: str) -> float:
    """Seconds for the raw baseline to read the whole log and write one row per event."""
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
        started = time.perf_counter()
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
        elapsed = time.perf_counter() - started
        connection.execute(sql.SQL("DROP TABLE {}").format(table))
        connection.execute(
            "DELETE FROM projection_tracking WHERE projection_name = %s", (RAW_TRACKING,)
        )
    return elapsed


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
