"""The KPI read model in PostgreSQL: the projection's stateful view (bucket rows and fold state
written together) and the query of a range's buckets under the tenant's row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, Engine, Table, select

from application.analytics import DurationSketch, DutyFigures, KpiBucketFigures
from infrastructure.postgres.tables import kpi_agent_duty, kpis
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.postgres.tracking import store_state, stored_state
from infrastructure.postgres.upsert import accumulate, upsert
from projections.kpis import DutyBucket, KpiBucket, KpiFold
from projections.queue_day import SlaRule

KEY = ("tenant_id", "bucket_id")
COLUMNS = tuple(column.name for column in kpis.columns)
FIGURES = tuple(name for name in KpiBucketFigures.__struct_fields__)
DUTY_ADDED = ("on_duty_seconds", "paused_seconds")
DUTY_FIGURES = DutyFigures.__struct_fields__


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


class PostgresKpis:
    """Reads the buckets of ``kpis`` as the reader role, for one tenant."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def buckets(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[KpiBucketFigures]:
        columns = [kpis.c[name] for name in FIGURES]
        query = select(*columns).where(
            kpis.c.tenant_id == tenant_id,  # RLS enforces it; this lets the index help
            kpis.c.day.between(first, last),
        )
        if site_id is not None:
            query = query.where(kpis.c.site_id == site_id)
        with tenant_transaction(self.engine, tenant_id) as connection:
            # Streamed in chunks: a year of a large tenant need not sit in memory as rows.
            result = connection.execution_options(yield_per=2000).execute(query).mappings()
            for row in result:
                yield _figures(row)

    def duty(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[DutyFigures]:
        columns = [kpi_agent_duty.c[name] for name in DUTY_FIGURES]
        query = select(*columns).where(
            kpi_agent_duty.c.tenant_id == tenant_id,
            kpi_agent_duty.c.day.between(first, last),
        )
        if site_id is not None:
            query = query.where(kpi_agent_duty.c.site_id == site_id)
        with tenant_transaction(self.engine, tenant_id) as connection:
            result = connection.execution_options(yield_per=2000).execute(query).mappings()
            for row in result:
                yield DutyFigures(**row)


def _figures(row: Any) -> KpiBucketFigures:
    values = {name: row[name] for name in FIGURES}
    values["wait_sketch"] = DurationSketch.decode(row["wait_sketch"])
    values["service_sketch"] = DurationSketch.decode(row["service_sketch"])
    return KpiBucketFigures(**values)
