"""The sink's DuckDB file: the ``events`` table, the offsets read so far (``sink_offsets``) and
the records that were not envelopes (``sink_rejected``), written together.

Exactly once: a batch's new rows and its partitions' next offsets commit in one DuckDB
transaction, so after any crash the file holds both or neither, and the sink resumes from the
offsets stored here (not from Kafka's). A row whose event id is already stored is left out
(the primary key, and an anti-join so the insert never trips on it): the relay is at least once
and may publish an event twice, at two offsets.

DuckDB lets one process write a file: a second sink on the same file fails to open it.
"""

from __future__ import annotations

from dataclasses import astuple
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from infrastructure.analytics.rows import EVENT_COLUMNS, REJECTED_COLUMNS, Batch

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR PRIMARY KEY,       -- '<aggregate_id>:<aggregate_version>': one per event
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,       -- of the copy stored (the first one read)
    tenant_id UUID,                     -- null for platform events
    aggregate_type VARCHAR NOT NULL,
    aggregate_id UUID NOT NULL,
    aggregate_version BIGINT NOT NULL,
    event_type VARCHAR NOT NULL,        -- 'Ticket.Called'
    schema_version INTEGER NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    log_position BIGINT NOT NULL,       -- order across aggregates
    actor_id UUID,
    actor_role VARCHAR,
    correlation_id VARCHAR,
    causation_id VARCHAR,
    payload JSON NOT NULL,              -- the envelope's data, as published
    stored_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS sink_offsets (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    next_offset BIGINT NOT NULL,        -- the next record to read
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, kafka_partition)
);
CREATE TABLE IF NOT EXISTS sink_rejected (
    topic VARCHAR NOT NULL,
    kafka_partition INTEGER NOT NULL,
    kafka_offset BIGINT NOT NULL,
    error VARCHAR NOT NULL,
    value BLOB NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, kafka_partition, kafka_offset)
);
"""

CASTS = {
    "tenant_id": "UUID",
    "aggregate_id": "UUID",
    "occurred_at": "TIMESTAMPTZ",
    "actor_id": "UUID",
    "payload": "JSON",
}
"""Columns passed as text and cast in SQL (a list parameter of one plain type each)."""


def _unnested(columns: tuple[str, ...]) -> str:
    """``SELECT unnest($1) AS a, unnest($2) AS b, ...``: a batch passed as one list per column."""
    return ", ".join(f"unnest(${index}) AS {name}" for index, name in enumerate(columns, start=1))


def _selected(columns: tuple[str, ...]) -> str:
    return ", ".join(
        f"CAST(batch.{name} AS {CASTS[name]})" if name in CASTS else f"batch.{name}"
        for name in columns
    )


INSERT_EVENTS = f"""
INSERT INTO events ({", ".join(EVENT_COLUMNS)}, stored_at)
SELECT {_selected(EVENT_COLUMNS)}, now()
FROM (SELECT {_unnested(EVENT_COLUMNS)}) AS batch
WHERE NOT EXISTS (SELECT 1 FROM events WHERE events.event_id = batch.event_id)
"""  # noqa: S608 - column names are this module's constants
INSERT_REJECTED = f"""
INSERT INTO sink_rejected ({", ".join(REJECTED_COLUMNS)}, rejected_at)
SELECT {_selected(REJECTED_COLUMNS)}, now()
FROM (SELECT {_unnested(REJECTED_COLUMNS)}) AS batch
ON CONFLICT DO NOTHING
"""  # noqa: S608 - column names are this module's constants
UPSERT_OFFSET = """
INSERT INTO sink_offsets VALUES ($1, $2, $3, now())
ON CONFLICT (topic, kafka_partition)
DO UPDATE SET next_offset = excluded.next_offset, updated_at = excluded.updated_at
"""


class SinkStore:
    """One sink's DuckDB file; see the module docstring. Used by one thread."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.connection = duckdb.connect(str(path))
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.execute(SCHEMA)

    def offsets(self) -> dict[tuple[str, int], int]:
        """The next offset to read of every partition stored so far."""
        rows = self.connection.execute(
            "SELECT topic, kafka_partition, next_offset FROM sink_offsets"
        ).fetchall()
        return {(topic, partition): offset for topic, partition, offset in rows}

    def write(self, batch: Batch) -> int:
        """Store ``batch``'s new rows, its rejected records and its offsets in one transaction;
        the number of rows new to the file (the others were stored before)."""
        connection = self.connection
        connection.execute("BEGIN TRANSACTION")
        try:
            stored = 0
            if batch.rows:
                connection.execute(INSERT_EVENTS, _columns(batch.rows, len(EVENT_COLUMNS)))
                stored = _count(connection.fetchone())
            if batch.rejected:
                connection.execute(INSERT_REJECTED, _columns(batch.rejected, 5))
            for (topic, partition), offset in sorted(batch.offsets.items()):
                connection.execute(UPSERT_OFFSET, [topic, partition, offset])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        return stored

    def forget(self, partitions: list[tuple[str, int]]) -> None:
        """Drop the stored offsets of ``partitions``: they are read again from the beginning."""
        self.connection.executemany(
            "DELETE FROM sink_offsets WHERE topic = $1 AND kafka_partition = $2",
            [list(key) for key in partitions],
        )

    def totals(self) -> tuple[int, int, datetime | None]:
        """Rows stored, records rejected and the time of the newest event stored."""
        events, newest = self.connection.execute(
            "SELECT count(*), max(occurred_at) FROM events"
        ).fetchone() or (0, None)
        rejected = _count(self.connection.execute("SELECT count(*) FROM sink_rejected").fetchone())
        return int(events), rejected, newest

    def close(self) -> None:
        self.connection.close()


def _columns(items: list[Any], width: int) -> list[list[Any]]:
    """Rows of dataclasses as one list per column, as :func:`_unnested` takes them."""
    columns: list[list[Any]] = [[] for _ in range(width)]
    for item in items:
        for column, value in zip(columns, astuple(item), strict=True):
            column.append(value)
    return columns


def _count(row: tuple[Any, ...] | None) -> int:
    return int(row[0]) if row else 0
