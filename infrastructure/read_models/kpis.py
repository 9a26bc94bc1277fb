"""The KPI read model in PostgreSQL: the projection's stateful view (bucket rows and fold state
written together) and the query of a range's buckets under the tenant's row-level security."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, select

from application.analytics import DurationSketch, KpiBucketFigures
from infrastructure.postgres.tables import kpis
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.postgres.tracking import store_state, stored_state
from infrastructure.postgres.upsert import upsert
from projections.kpis import KpiBucket, KpiFold
from projections.queue_day import SlaRule

KEY = ("tenant_id", "bucket_id")
COLUMNS = tuple(column.name for column in kpis.columns)
FIGURES = tuple(name for name in KpiBucketFigures.__struct_fields__)


class PostgresKpiView:
    """Holds the fold while a batch runs (restored from ``projection_state`` at ``load``); at
    ``flush`` the changed buckets are upserted (a bucket emptied by an agent move is deleted),
    final days pruned from the fold and its state stored, in the runner's transaction."""

    def __init__(self, table: Table, sla: SlaRule) -> None:
        self.table = table
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
        kept = [_row(bucket) for bucket in buckets if bucket.arrival_count]
        gone = [bucket.bucket_id for bucket in buckets if not bucket.arrival_count]
        if kept:
            connection.execute(upsert(self.table, KEY, COLUMNS), kept)
        if gone:
            connection.execute(self.table.delete().where(self.table.c.bucket_id.in_(gone)))
        self.kpis.prune()  # only after the rows are written: see projections.kpis
        store_state(connection, self.name, self.kpis.dump())
        self.folded = 0


def _row(bucket: KpiBucket) -> dict[str, Any]:
    return {
        "tenant_id": bucket.tenant_id,
        "bucket_id": bucket.bucket_id,
        "site_id": bucket.site_id,
        "service_id": bucket.service_id,
        "queue_id": bucket.queue_id,
        "agent_id": bucket.agent_id,
        "day": bucket.day,
        "hour": bucket.hour,
        "arrivals": bucket.arrival_count,
        "arrivals_by_channel": dict(bucket.arrivals),
        "served": bucket.served,
        "no_shows": bucket.no_shows,
        "cancellations": bucket.cancellations,
        "abandonments": bucket.abandonments,
        "transferred_out": bucket.transferred_out,
        "waits_counted": bucket.waits_counted,
        "services_counted": bucket.services_counted,
        "sla_met": bucket.sla_met,
        "sla_counted": bucket.sla_counted,
        "wait_total_seconds": bucket.wait_total_seconds,
        "wait_max_seconds": bucket.wait_max_seconds,
        "wait_sketch": bucket.wait_sketch.encode(),
        "service_total_seconds": bucket.service_total_seconds,
        "service_max_seconds": bucket.service_max_seconds,
        "service_sketch": bucket.service_sketch.encode(),
    }


def make_kpi_view(tables: dict[str, Table], sla: SlaRule) -> PostgresKpiView:
    """The view over ``tables`` (the live table, or a rebuild's shadow)."""
    return PostgresKpiView(tables["kpis"], sla)


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
            kpis.c.arrivals > 0,
        )
        if site_id is not None:
            query = query.where(kpis.c.site_id == site_id)
        with tenant_transaction(self.engine, tenant_id) as connection:
            # Streamed in chunks: a year of a large tenant need not sit in memory as rows.
            result = connection.execution_options(yield_per=2000).execute(query).mappings()
            for row in result:
                yield _figures(row)


def _figures(row: Any) -> KpiBucketFigures:
    values = {name: row[name] for name in FIGURES}
    values["wait_sketch"] = DurationSketch.decode(row["wait_sketch"])
    values["service_sketch"] = DurationSketch.decode(row["service_sketch"])
    return KpiBucketFigures(**values)
