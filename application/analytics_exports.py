"""The analytics' export formats: CSV lines, the visit facts (one row per ticket, no personal
data) and Parquet written in row groups as it streams (see ``application/analytics.py`` for the
queries that feed them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq


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


_UTC_TIME = pa.timestamp("us", tz="UTC")
VISIT_SCHEMA = pa.schema(
    [
        pa.field("ticket_id", pa.string(), nullable=False),
        pa.field("number", pa.string(), nullable=False),
        pa.field("site_id", pa.string()),
        pa.field("service_id", pa.string(), nullable=False),
        pa.field("queue_id", pa.string(), nullable=False),
        pa.field("agent_id", pa.string()),
        pa.field("channel", pa.string(), nullable=False),
        pa.field("counter", pa.string()),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("issued_at", _UTC_TIME, nullable=False),
        pa.field("called_at", _UTC_TIME),
        pa.field("service_started_at", _UTC_TIME),
        pa.field("finished_at", _UTC_TIME),
        pa.field("waiting_seconds", pa.float64()),
        pa.field("service_seconds", pa.float64()),
        pa.field("outcome", pa.string(), nullable=False),
        pa.field("recalls", pa.int32(), nullable=False),
        pa.field("transfers", pa.int32(), nullable=False),
    ]
)
"""The visit export's Parquet schema: ids as their text, times as UTC microseconds."""


def kpi_schema(header: list[str], types: Mapping[str, type]) -> pa.Schema:
    """The Parquet schema of a KPI export of these columns, from each one's Python type in
    ``types`` (a column not named there counts, like ``arrivals_<channel>``): ids as text, days
    as dates, the hour and weekday as small integers, counts as 64-bit integers, the rest
    (rates, seconds, means) as doubles."""
    fields = []
    for name in header:
        kind = types.get(name, int)
        if name == "period" or kind is UUID:
            arrow = pa.string()
        elif kind is date:
            arrow = pa.date32()
        elif name in ("hour", "weekday"):
            arrow = pa.int8()
        elif kind is int:
            arrow = pa.int64()
        else:
            arrow = pa.float64()
        fields.append(pa.field(name, arrow))
    return pa.schema(fields)


def batches(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append([str(value) if isinstance(value, UUID) else value for value in row])
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _ChunkSink:
    """A write-only file for ``ParquetWriter`` that keeps what was written until taken: the
    writer writes sequentially (the footer last), so nothing is ever sought back."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.position = 0
        self.closed = False

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Nothing to flush: :meth:`take` hands the bytes on."""

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        taken = b"".join(self.parts)
        self.parts = []
        return taken


def parquet_chunks(schema: pa.Schema, batches: Iterable[list[list[Any]]]) -> Iterator[bytes]:
    """One Parquet file of ``schema``, a row group per batch of rows (value lists in the
    schema's order), produced as chunks of bytes as each row group is written: memory holds a
    row group and the footer's metadata, never the file."""
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        for batch in batches:
            columns = list(zip(*batch, strict=True)) if batch else [() for _ in schema]
            writer.write_table(
                pa.Table.from_arrays(
                    [
                        pa.array(column, type=field.type)
                        for column, field in zip(columns, schema, strict=True)
                    ],
                    schema=schema,
                ),
                row_group_size=len(batch) or None,
            )
            chunk = sink.take()
            if chunk:
                yield chunk
    finally:
        writer.close()
    yield sink.take()
