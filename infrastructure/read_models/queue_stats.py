"""The queue statistics read model in PostgreSQL: the projection's stateful view (rows and fold
state written together) and the query under the tenant's row-level security."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, select, tuple_

from application.stats import QueueDay, QueueDayCounters
from infrastructure.postgres.tables import queue_stats
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.postgres.tracking import store_state, stored_state
from infrastructure.postgres.upsert import upsert
from infrastructure.settings import StatsSettings
from projections.queue_day import QueueStatsRow, SlaRule
from projections.queue_stats import QueueStatistics

KEY = ("tenant_id", "queue_id", "day")
ROW_FIELDS = QueueStatsRow.__struct_fields__
COUNTER_FIELDS = QueueDayCounters.__struct_fields__


class PostgresQueueStatsView:
    """Holds the fold while a batch runs: restored from ``projection_state`` at ``load``; at
    ``flush`` the changed day rows are upserted, finished days pruned from the fold and its state
    stored, all in the runner's transaction."""

    def __init__(self, table: Table, sla: SlaRule) -> None:
        self.table = table
        self.sla = sla
        self.statistics = QueueStatistics(sla)
        self.name: str | None = None
        self.folded = 0  # events folded in since ``load``
        self.state_bytes = 0  # size of the state last loaded or stored (for measurements)

    def load(self, connection: Connection, name: str) -> None:
        """Resume the fold ``name`` stored with its position (fresh before its first batch)."""
        self.name = name
        dumped = stored_state(connection, name)
        if dumped is not None:
            self.statistics = QueueStatistics.restore(dumped, self.sla)
            self.state_bytes = len(dumped)

    def fold(self, event: Any) -> None:
        """Fold one event in (the projection's handler calls this)."""
        self.statistics.apply(event)
        self.folded += 1

    def flush(self, connection: Connection) -> None:
        """Write the rows changed by the batch and the fold's state, in the caller's
        transaction."""
        if not self.folded:
            return  # nothing folded in: the stored state is still exact
        if self.name is None:
            raise RuntimeError("a stateful view must be loaded before events are folded in")
        rows = self.statistics.drain_changed()
        values = [{name: getattr(row, name) for name in ROW_FIELDS} for row in rows]
        if values:
            connection.execute(upsert(self.table, KEY, ROW_FIELDS), values)
        self.statistics.prune()  # only after the rows are written: see projections.queue_stats
        dumped = self.statistics.dump()
        store_state(connection, self.name, dumped)
        self.state_bytes = len(dumped)
        self.folded = 0


def sla_rule(stats: StatsSettings) -> SlaRule:
    """The SLA rule the settings ask for."""
    return SlaRule(count_abandoned=stats.sla_count_abandoned, count_no_show=stats.sla_count_no_show)


def make_queue_stats_view(tables: dict[str, Table], sla: SlaRule) -> PostgresQueueStatsView:
    """The view over ``tables`` (the live table, or a rebuild's shadow)."""
    return PostgresQueueStatsView(tables["queue_stats"], sla)


class PostgresQueueStats:
    """Reads day rows of ``queue_stats`` as the reader role, for one tenant."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def counters(
        self, tenant_id: UUID, keys: Sequence[QueueDay]
    ) -> dict[QueueDay, QueueDayCounters]:
        if not keys:
            return {}
        columns = [queue_stats.c[name] for name in ("queue_id", "day", *COUNTER_FIELDS)]
        query = select(*columns).where(
            queue_stats.c.tenant_id == tenant_id,  # RLS enforces it; this lets the index help
            tuple_(queue_stats.c.queue_id, queue_stats.c.day).in_(list(keys)),
        )
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query).mappings().all()
        return {(row["queue_id"], row["day"]): _counters(row) for row in rows}


def _counters(row: Any) -> QueueDayCounters:
    return QueueDayCounters(**{name: row[name] for name in COUNTER_FIELDS})
