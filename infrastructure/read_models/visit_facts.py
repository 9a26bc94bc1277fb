"""Visit facts for the exports: the ``tickets`` read model's rows (no customer column), with
their site, site-local day, durations and outcome computed in SQL, read through a server-side
cursor in chunks so that an export of any range holds one chunk in memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Date, Engine, and_, case, cast, extract, func, select

from application.analytics_exports import VisitFact
from infrastructure.postgres.tables import queue_eta, ticket_queues, tickets
from infrastructure.postgres.tenancy import tenant_transaction

CHUNK_ROWS = 5000
"""Rows fetched from the cursor at a time (and rows per CSV chunk and Parquet row group)."""
# Site-local days reach at most 14 hours either side of UTC (Kiribati, Baker Island): a UTC
# window one day wider each side holds every ticket of the range and lets the index narrow it.
_ZONE_MARGIN = timedelta(days=1)

_zone = func.coalesce(queue_eta.c.timezone, "UTC")
_local_day = cast(func.timezone(_zone, tickets.c.issued_at), Date)


def _seconds(later: Any, earlier: Any) -> Any:
    return extract("epoch", later - earlier)


_OUTCOME = case(
    (tickets.c.status == "completed", "served"),
    (
        and_(tickets.c.status == "cancelled", tickets.c.first_called_at.is_(None)),
        "abandoned",
    ),
    else_=tickets.c.status,
)
_COLUMNS = (
    tickets.c.ticket_id,
    tickets.c.number,
    ticket_queues.c.site_id,
    tickets.c.service_id,
    tickets.c.queue_id,
    tickets.c.agent_id,
    tickets.c.channel,
    tickets.c.counter,
    _local_day.label("day"),
    tickets.c.issued_at,
    tickets.c.first_called_at.label("called_at"),
    tickets.c.service_started_at,
    tickets.c.finished_at,
    _seconds(tickets.c.first_called_at, tickets.c.issued_at).label("waiting_seconds"),
    case(
        (
            tickets.c.status == "completed",
            _seconds(tickets.c.finished_at, tickets.c.service_started_at),
        ),
    ).label("service_seconds"),
    _OUTCOME.label("outcome"),
    tickets.c.recalls,
    tickets.c.transfers,
)


class PostgresVisitFacts:
    """The ``VisitFacts`` port, as the tenant's reader (row-level security applies)."""

    def __init__(self, engine: Engine, chunk_rows: int = CHUNK_ROWS) -> None:
        self.engine = engine
        self.chunk_rows = chunk_rows

    def facts(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[list[VisitFact]]:
        since = datetime.combine(first, time(), UTC) - _ZONE_MARGIN
        until = datetime.combine(last + timedelta(days=1), time(), UTC) + _ZONE_MARGIN
        query = (
            select(*_COLUMNS)
            .select_from(
                tickets.outerjoin(
                    ticket_queues, ticket_queues.c.queue_id == tickets.c.queue_id
                ).outerjoin(queue_eta, queue_eta.c.queue_id == tickets.c.queue_id)
            )
            .where(
                tickets.c.tenant_id == tenant_id,  # RLS enforces it; this lets the index help
                tickets.c.issued_at >= since,
                tickets.c.issued_at < until,
                _local_day.between(first, last),
            )
            .order_by(tickets.c.issued_at, tickets.c.ticket_id)
        )
        if site_id is not None:
            query = query.where(ticket_queues.c.site_id == site_id)
        with tenant_transaction(self.engine, tenant_id) as connection:
            # yield_per: a named (server-side) cursor fetching chunk_rows at a time, so the rows
            # of a year never sit in memory together, on the client or in the driver.
            result = connection.execution_options(yield_per=self.chunk_rows).execute(query)
            for rows in result.partitions():
                yield [_fact(row) for row in rows]


def _fact(row: Any) -> VisitFact:
    return VisitFact(
        ticket_id=row.ticket_id,
        number=row.number,
        site_id=row.site_id,
        service_id=row.service_id,
        queue_id=row.queue_id,
        agent_id=row.agent_id,
        channel=row.channel,
        counter=row.counter,
        day=row.day,
        issued_at=row.issued_at,
        called_at=row.called_at,
        service_started_at=row.service_started_at,
        finished_at=row.finished_at,
        waiting_seconds=None if row.waiting_seconds is None else float(row.waiting_seconds),
        service_seconds=None if row.service_seconds is None else float(row.service_seconds),
        outcome=row.outcome,
        recalls=row.recalls,
        transfers=row.transfers,
    )
