"""From Kafka records to the sink's rows: pure functions, no broker and no database.

A record's value is the contract's envelope (:class:`infrastructure.kafka.contract.Envelope`);
its ``data`` is kept as the exact JSON published, so the raw table stays faithful to the stream
(fields this version does not know included). A record that is not an envelope becomes a
:class:`Rejected` row, kept with its bytes, never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec


class KafkaRecord(Protocol):
    """The part of a consumed record (kafka-python's ``ConsumerRecord``) the sink reads."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


class Actor(msgspec.Struct, frozen=True):
    """Who caused the event (both null for the system)."""

    id: UUID | None = None
    role: str | None = None


class SinkEnvelope(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope as the sink reads it: the required fields checked, ``data`` kept raw."""

    event_id: str
    event_type: str
    schema_version: int
    tenant_id: UUID | None
    aggregate_type: str
    aggregate_id: UUID
    aggregate_version: int
    log_position: int
    occurred_at: datetime
    data: msgspec.Raw
    actor: Actor | None = None
    correlation_id: str | None = None
    causation_id: str | None = None


@dataclass(frozen=True)
class EventRow:
    """One row of the ``events`` table."""

    event_id: str
    topic: str
    kafka_partition: int
    kafka_offset: int
    tenant_id: str | None
    aggregate_type: str
    aggregate_id: str
    aggregate_version: int
    event_type: str
    schema_version: int
    occurred_at: str
    """ISO 8601 with its offset, as published."""
    log_position: int
    actor_id: str | None
    actor_role: str | None
    correlation_id: str | None
    causation_id: str | None
    payload: str
    """The envelope's ``data``, the JSON text exactly as published."""


@dataclass(frozen=True)
class Rejected:
    """A record that is not a readable envelope: kept in ``sink_rejected`` with why."""

    topic: str
    kafka_partition: int
    kafka_offset: int
    error: str
    value: bytes


EVENT_COLUMNS: tuple[str, ...] = tuple(EventRow.__dataclass_fields__)
REJECTED_COLUMNS: tuple[str, ...] = tuple(Rejected.__dataclass_fields__)


def row_of(record: KafkaRecord) -> EventRow | Rejected:
    """The ``events`` row of one record, or why it cannot be one."""
    value = record.value or b""
    try:
        envelope = msgspec.json.decode(value, type=SinkEnvelope)
    except (msgspec.DecodeError, msgspec.ValidationError) as error:
        return Rejected(
            record.topic, record.partition, record.offset, f"{type(error).__name__}: {error}", value
        )
    actor = envelope.actor or Actor()
    return EventRow(
        event_id=envelope.event_id,
        topic=record.topic,
        kafka_partition=record.partition,
        kafka_offset=record.offset,
        tenant_id=None if envelope.tenant_id is None else str(envelope.tenant_id),
        aggregate_type=envelope.aggregate_type,
        aggregate_id=str(envelope.aggregate_id),
        aggregate_version=envelope.aggregate_version,
        event_type=envelope.event_type,
        schema_version=envelope.schema_version,
        occurred_at=envelope.occurred_at.isoformat(),
        log_position=envelope.log_position,
        actor_id=None if actor.id is None else str(actor.id),
        actor_role=actor.role,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        payload=bytes(envelope.data).decode(),
    )


def first_of_each(rows: Iterable[EventRow]) -> list[EventRow]:
    """``rows`` with each event id once, at its first copy: the relay is at least once, and a
    re-sent event may sit in the same batch as its first copy (on another partition, even, if
    the topic was re-created)."""
    seen: set[str] = set()
    kept = []
    for row in rows:
        if row.event_id not in seen:
            seen.add(row.event_id)
            kept.append(row)
    return kept


@dataclass(frozen=True)
class Batch:
    """What one poll stores, in one DuckDB transaction: its rows, its rejected records and, per
    partition, the offset to read next."""

    rows: list[EventRow] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    records: int = 0
    """Records polled (rows before de-duplication, plus rejected)."""


def batch_of(polled: Mapping[Any, Sequence[KafkaRecord]]) -> Batch:
    """The batch of one poll (records by partition, each partition's in offset order)."""
    rows: list[EventRow] = []
    rejected: list[Rejected] = []
    offsets: dict[tuple[str, int], int] = {}
    count = 0
    for records in polled.values():
        for record in records:
            count += 1
            row = row_of(record)
            if isinstance(row, EventRow):
                rows.append(row)
            else:
                rejected.append(row)
            key = (record.topic, record.partition)
            offsets[key] = max(offsets.get(key, 0), record.offset + 1)
    return Batch(first_of_each(rows), rejected, offsets, count)
