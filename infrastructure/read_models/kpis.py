"""The KPI read model in PostgreSQL: the projection's stateful view (bucket rows and fold state
written together) and the query of a range's figures per group, summed by PostgreSQL under the
tenant's row-level security."""

from __future__ import annotations

import typing
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, Engine, Table, text

from application.analytics import GroupedKpis, GroupKeys, KpiFigures
from infrastructure.postgres.tables import kpis
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.postgres.tracking import store_state, stored_state
from infrastructure.postgres.upsert import accumulate, upsert
from projections.kpis import DutyBucket, KpiBucket, KpiFold
from projections.queue_day import SlaRule

KEY = ("tenant_id", "bucket_id")
COLUMNS = tuple(column.name for column in kpis.columns)
DUTY_ADDED = ("on_duty_seconds", "paused_seconds")


class PostgresKpiView:
    """Holds the fold while a batch runs (restored from ``projection_state`` at ``load``); at
    ``flush`` the changed buckets are upserted (a bucket emptied by an agent move is deleted),
    the time on duty counted since the last flush added to its hours, final days pruned from
    the fold and its state stored, in the runner's transaction."""

    def __init__(self, table: Table, duty_table: Table, sla: SlaRule) -> None:
        self.table = table
        self.duty_table = duty_table
        self.sla = sla
        self.kpis = KpiFold(sla)
        self.name: str | None = None
        self.folded = 0

    def load(self, connection: Connection, name: str) -> None:
        """Resume the fold ``name`` stored with its position (fresh before its first batch)."""
        self.name = name
        dumped = stored_state(connection, name)
        if dumped is not None:
            self.kpis = KpiFold.restore(dumped, self.sla)

    def fold(self, event: Any) -> None:
        """Fold one event in (the projection's handler calls this)."""
        self.kpis.apply(event)
        self.folded += 1

    def flush(self, connection: Connection) -> None:
        """Write the buckets changed by the batch and the fold's state."""
        if not self.folded:
            return
        if self.name is None:
            raise RuntimeError("a stateful view must be loaded before events are folded in")
        buckets = self.kpis.drain_changed()
        kept = [_row(bucket) for bucket in buckets if not bucket.is_empty]
        gone = [bucket.bucket_id for bucket in buckets if bucket.is_empty]
        if kept:
            connection.execute(upsert(self.table, KEY, COLUMNS), kept)
        if gone:
            connection.execute(self.table.delete().where(self.table.c.bucket_id.in_(gone)))
        duty = [_duty_row(hour) for hour in self.kpis.drain_duty()]
        if duty:  # increments: added to the stored hours (see projections.kpis)
            connection.execute(accumulate(self.duty_table, KEY, DUTY_ADDED), duty)
        self.kpis.prune()  # only after the rows are written: see projections.kpis
        store_state(connection, self.name, self.kpis.dump())
        self.folded = 0


def _row(bucket: KpiBucket) -> dict[str, Any]:
    """The bucket's row: its fields by name (the table's columns are named after them), with
    the key's id, the arrivals' total and the sketches in their stored form."""
    row = msgspec.structs.asdict(bucket)
    row["bucket_id"] = bucket.bucket_id
    row["arrivals_by_channel"] = dict(row.pop("arrivals"))
    row["arrivals"] = bucket.arrival_count
    row["wait_sketch"] = bucket.wait_sketch.encode()
    row["service_sketch"] = bucket.service_sketch.encode()
    return row


def _duty_row(hour: DutyBucket) -> dict[str, Any]:
    return {**msgspec.structs.asdict(hour), "bucket_id": hour.bucket_id}


def make_kpi_view(tables: dict[str, Table], sla: SlaRule) -> PostgresKpiView:
    """The view over ``tables`` (the live tables, or a rebuild's shadows)."""
    return PostgresKpiView(tables["kpis"], tables["kpi_agent_duty"], sla)


# What each group of a query is, in SQL over a ``kpis`` or ``kpi_agent_duty`` row (the names
# are KpiRow's; every expression is fixed here, never built from a request's text).
GROUP_SQL = {
    "site": "site_id",
    "service": "service_id",
    "queue": "queue_id",
    "agent": "agent_id",
    "day": "day",
    "week": "date_trunc('week', day)::date",  # the Monday of the ISO week
    "month": "date_trunc('month', day)::date",
    "weekday": "extract(isodow FROM day)::int",
    "hour": "hour",
}
GROUP_NAMES = {
    "site": "site_id",
    "service": "service_id",
    "queue": "queue_id",
    "agent": "agent_id",
}
# The figures summed, maxed and merged per group: KpiFigures' fields, which are the table's
# columns (``csat_total`` included: the mean needs it).
_TYPES = typing.get_type_hints(KpiFigures)
COUNTS = tuple(name for name, kind in _TYPES.items() if kind is int)
SUMS = tuple(name for name in _TYPES if name.endswith("_total_seconds"))
MAXIMA = tuple(name for name in _TYPES if name.endswith("_max_seconds"))
SKETCHES = tuple(name for name in _TYPES if name.endswith("_sketch"))


class PostgresKpis:
    """Sums the buckets of ``kpis`` (and the hours of ``kpi_agent_duty``) per group in
    PostgreSQL, as the reader role, for one tenant: the API process gets one row per group and
    sketch bin, not one per bucket (a year of 50 sites is 10⁵ to 10⁶ buckets)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def grouped(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        groups: tuple[str, ...],
        site_id: UUID | None = None,
    ) -> GroupedKpis:
        sql = _Statements(groups, site_id is not None)
        names = [_name(group) for group in groups]
        width = len(names)
        params = {"tenant": tenant_id, "first": first, "last": last, "site": site_id}
        figures: dict[tuple[Any, ...], tuple[GroupKeys, KpiFigures]] = {}
        hours = None
        # One snapshot for the four reads: the projection may write between them.
        with tenant_transaction(self.engine, tenant_id, repeatable=True) as connection:
            for row in connection.execute(text(sql.totals), params).mappings():
                group = {name: row[name] for name in names}
                found = KpiFigures(**{name: row[name] for name in COUNTS + SUMS + MAXIMA})
                found.wait_sketch.zero = row["wait_sketch_zero"]
                found.service_sketch.zero = row["service_sketch_zero"]
                figures[tuple(group.values())] = (group, found)
            for row in connection.execute(text(sql.bins), params):
                found = figures[tuple(row[:width])][1]
                sketch = found.wait_sketch if row.sketch == 0 else found.service_sketch
                sketch.bins[row.bin] = row.count
            for row in connection.execute(text(sql.channels), params):
                figures[tuple(row[:width])][1].arrivals_by_channel[row.channel] = row.count
            if not {"service", "queue"} & set(groups):
                rows = connection.execute(text(sql.duty), params)
                hours = [(dict(zip(names, row[:width], strict=True)), *row[width:]) for row in rows]
        return GroupedKpis(list(figures.values()), hours)


class _Statements:
    """The SQL of a grouped query. Every fragment is one of this module's constants (the
    groups are checked names of :data:`GROUP_SQL`); the values go as parameters."""

    def __init__(self, groups: tuple[str, ...], by_site: bool) -> None:
        keys = "".join(f"{GROUP_SQL[group]} AS {_name(group)}, " for group in groups)
        where = "tenant_id = :tenant AND day BETWEEN :first AND :last"
        where += " AND site_id = :site" if by_site else ""
        by = "".join(f"{n}, " for n in range(1, len(groups) + 1))
        whole = f"GROUP BY {by[:-2]}" if by else "HAVING count(*) > 0"
        figures = ", ".join(
            [
                *(f"sum({name}) AS {name}" for name in COUNTS + SUMS),
                *(f"max({name}) AS {name}" for name in MAXIMA),
                *(f"sum(({name}->>'zero')::int) AS {name}_zero" for name in SKETCHES),
            ]
        )
        self.totals = f"SELECT {keys}{figures} FROM kpis WHERE {where} {whole}"  # noqa: S608
        self.bins = " UNION ALL ".join(
            f"SELECT {keys}{index} AS sketch, b.key::int AS bin, sum(b.count::int) AS count"  # noqa: S608
            " FROM kpis CROSS JOIN LATERAL ROWS FROM (jsonb_array_elements_text("
            f"{name}->'keys'), jsonb_array_elements_text({name}->'counts')) AS b(key, count)"
            f" WHERE {where} GROUP BY {by}{len(groups) + 2}"
            for index, name in enumerate(SKETCHES)
        )
        self.channels = (
            f"SELECT {keys}c.key AS channel, sum(c.value::int) AS count FROM kpis"  # noqa: S608
            " CROSS JOIN LATERAL jsonb_each_text(arrivals_by_channel) AS c(key, value)"
            f" WHERE {where} GROUP BY {by}{len(groups) + 1}"
        )
        self.duty = (
            f"SELECT {keys}sum(on_duty_seconds), sum(paused_seconds) FROM kpi_agent_duty"  # noqa: S608
            f" WHERE {where} {whole}"
        )


def _name(group: str) -> str:
    return GROUP_NAMES.get(group, group)
