"""The analytics' export formats: CSV lines, the visit facts (one row per ticket, no personal
data), and the typed columns of a columnar file written in row groups as it streams (the
:class:`ColumnarFiles` port: Parquet, ``infrastructure/parquet.py``). See
``application/analytics.py`` for the queries that feed them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec


def csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(
        ["" if value is None else value for value in values]
    )
    return buffer.getvalue()


# -- exports of visit facts -----------------------------------------------------------------------

PARQUET_ROW_GROUP = 10_000
"""Rows per Parquet row group of the KPI export (the visit export has one per chunk read)."""
PARQUET_MEDIA_TYPE = "application/vnd.apache.parquet"

Kind = Literal["string", "date", "utc_time", "int8", "int32", "int64", "float64"]
"""A column's type in a columnar file (UTC times to the microsecond)."""


class Column(msgspec.Struct, frozen=True):
    """One typed column of a columnar export."""

    name: str
    kind: Kind
    nullable: bool = True


class ColumnarFiles(Protocol):
    """Writes one columnar file (Parquet) as it streams."""

    def chunks(
        self, columns: Sequence[Column], batches: Iterable[list[list[Any]]]
    ) -> Iterator[bytes]:
        """The file of ``columns``, a row group per batch of rows (value lists in the columns'
        order; ids as text), as chunks of bytes produced as each row group is written: memory
        holds a row group and the footer's metadata, never the file."""


class VisitFact(msgspec.Struct, frozen=True, kw_only=True):
    """One ticket's visit as the ``tickets`` read model holds it: ids, times (UTC), durations
    and outcome; never who the customer is. A transferred ticket is its latest visit (the queue
    it went to), with ``transfers`` counting the moves."""

    ticket_id: UUID
    number: str
    site_id: UUID | None
    service_id: UUID
    queue_id: UUID
    agent_id: UUID | None
    channel: str
    counter: str | None
    day: date
    """The site-local day it was issued (the range filters on it)."""
    issued_at: datetime
    called_at: datetime | None
    """Its first call."""
    service_started_at: datetime | None
    finished_at: datetime | None
    waiting_seconds: float | None
    """First call - issue; ``None`` until called."""
    service_seconds: float | None
    """Finish - service start, for a served visit."""
    outcome: str
    """``served``, ``no_show``, ``cancelled``, ``abandoned`` (cancelled never called), or
    where it stands: ``waiting``, ``called``, ``serving``, ``paused``."""
    recalls: int
    transfers: int


VISIT_COLUMNS = tuple(VisitFact.__struct_fields__)
_TIMES = ("issued_at", "called_at", "service_started_at", "finished_at")


class VisitFacts(Protocol):
    """The visit facts of the ``tickets`` read model, read with a server-side cursor."""

    def facts(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[list[VisitFact]]:
        """The tenant's tickets issued on the site-local days ``first`` to ``last``
        (inclusive), of ``site_id`` only when given, by issue time, in chunks of bounded size."""


def _utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def csv_values(fact: VisitFact) -> list[Any]:
    values = [getattr(fact, name) for name in VISIT_COLUMNS]
    for index, name in enumerate(VISIT_COLUMNS):
        if name in _TIMES:
            values[index] = _utc_text(values[index])
    return ["" if value is None else value for value in values]


def parquet_values(fact: VisitFact) -> list[Any]:
    values = [getattr(fact, name) for name in VISIT_COLUMNS]
    return [str(value) if isinstance(value, UUID) else value for value in values]


VISIT_FILE_COLUMNS = (
    Column("ticket_id", "string", nullable=False),
    Column("number", "string", nullable=False),
    Column("site_id", "string"),
    Column("service_id", "string", nullable=False),
    Column("queue_id", "string", nullable=False),
    Column("agent_id", "string"),
    Column("channel", "string", nullable=False),
    Column("counter", "string"),
    Column("day", "date", nullable=False),
    Column("issued_at", "utc_time", nullable=False),
    Column("called_at", "utc_time"),
    Column("service_started_at", "utc_time"),
    Column("finished_at", "utc_time"),
    Column("waiting_seconds", "float64"),
    Column("service_seconds", "float64"),
    Column("outcome", "string", nullable=False),
    Column("recalls", "int32", nullable=False),
    Column("transfers", "int32", nullable=False),
)
"""The visit export's columnar types: ids as their text, times as UTC microseconds."""


def kpi_columns(header: list[str], types: Mapping[str, type]) -> list[Column]:
    """The columnar types of a KPI export of these columns, from each one's Python type in
    ``types`` (a column not named there counts, like ``arrivals_<channel>``): ids as text, days
    as dates, the hour and weekday as small integers, counts as 64-bit integers, the rest
    (rates, seconds, means) as doubles."""
    columns = []
    for name in header:
        kind = types.get(name, int)
        if name == "period" or kind is UUID:
            columns.append(Column(name, "string"))
        elif kind is date:
            columns.append(Column(name, "date"))
        elif name in ("hour", "weekday"):
            columns.append(Column(name, "int8"))
        else:
            columns.append(Column(name, "int64" if kind is int else "float64"))
    return columns


def batches(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append([str(value) if isinstance(value, UUID) else value for value in row])
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
