"""A display gateway whose read models lag never holds its poll loop: it gives the batch back
(reads it again at the next poll) instead of waiting past the group's max_poll_interval_ms,
which put it out of its group, again and again, on a loaded machine (the consumer then reads
the same batch again and never moves: a silent gateway)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import msgspec
from kafka.structs import TopicPartition
from structlog.testing import capture_logs

from application.consistency import ReadModelBehind
from infrastructure.kafka.consumer_loop import MAX_RECORDS
from infrastructure.kafka.display_gateway import DisplayGateway

PARTITION = TopicPartition("smartqueue.ticket.v1", 0)


def record(offset: int) -> SimpleNamespace:
    envelope = {
        "event_id": f"{uuid.uuid4()}:1",
        "event_type": "Ticket.Called",
        "schema_version": 1,
        "tenant_id": str(uuid.uuid4()),
        "aggregate_type": "Ticket",
        "aggregate_id": str(uuid.uuid4()),
        "aggregate_version": 2,
        "log_position": 10 + offset,
        "occurred_at": datetime.now(UTC).isoformat(),
        "actor": {"type": "system", "id": None},
        "correlation_id": None,
        "causation_id": None,
        "data": {},
    }
    return SimpleNamespace(
        topic=PARTITION.topic,
        partition=0,
        offset=offset,
        timestamp=int(time.time() * 1000),
        value=msgspec.json.encode(envelope),
    )


class Consumer:
    """Hands over the same three records until committed; notes seeks and commits."""

    def __init__(self) -> None:
        self.records = [record(offset) for offset in range(3)]
        self.asked: list[int] = []
        self.seeks: list[int] = []
        self.commits = 0

    def poll(self, timeout_ms: int, max_records: int) -> dict[Any, list[Any]]:
        self.asked.append(max_records)
        return {PARTITION: self.records}

    def seek(self, partition: Any, offset: int) -> None:
        self.seeks.append(offset)

    def commit(self, offsets: Any = None) -> None:
        self.commits += 1

    def assignment(self) -> set[Any]:
        return set()


class Consistency:
    def __init__(self) -> None:
        self.behind = True
        self.calls = 0

    def await_position(self, names: tuple[str, ...], position: int | None) -> int:
        self.calls += 1
        if self.behind:
            # A second wait for the same batch without a poll between: the loop that outlived
            # the group's poll interval.
            assert self.calls == 1, "the gateway waited again without polling"
            raise ReadModelBehind("behind")
        return position or 0


class Pipeline:
    def __init__(self, published: list[Any]) -> None:
        self.published = published
        self.queued: list[Any] = []

    def publish(self, channel: str, message: bytes) -> None:
        self.queued.append((channel, message))

    def __len__(self) -> int:
        return len(self.queued)

    def execute(self) -> None:
        self.published.extend(self.queued)


class Redis:
    def __init__(self) -> None:
        self.published: list[Any] = []

    def pipeline(self, transaction: bool) -> Pipeline:
        return Pipeline(self.published)


class Views:
    def __init__(self) -> None:
        self.consistency = Consistency()
        self.seen: list[str] = []

    def changes(self, event: Any, as_of: int, reads: Any) -> list[Any]:
        self.seen.append(event.event_type)
        return []


def gateway() -> tuple[DisplayGateway, Views]:
    views = Views()
    return DisplayGateway(views, Redis(), SimpleNamespace(), "group"), views


def test_a_batch_the_read_models_have_not_reached_is_given_back_at_once():
    gate, views = gateway()
    consumer = Consumer()
    started = time.monotonic()
    gate.consume(consumer)
    assert time.monotonic() - started < 1.0
    assert views.consistency.calls == 1  # one wait (the consistency's own bound), not a loop
    assert consumer.commits == 0 and consumer.seeks == [0]  # read again at the next poll
    assert views.seen == []


def test_the_batch_given_back_is_published_and_committed_once_they_have():
    gate, views = gateway()
    consumer = Consumer()
    gate.consume(consumer)
    views.consistency.behind = False
    views.consistency.calls = 0
    assert gate.consume(consumer) == 3
    assert views.seen == ["Ticket.Called"] * 3 and consumer.commits == 1


def test_a_poll_hands_over_a_batch_small_enough_to_handle_between_two_polls():
    gate, _ = gateway()
    consumer = Consumer()
    gate.consume(consumer)
    assert consumer.asked == [MAX_RECORDS] and MAX_RECORDS <= 100


def test_a_batch_that_reaches_redis_late_is_logged_with_how_late():
    """The operator's clue when displays lag: the batch's age when it reached Redis (from the
    records' times, the events' own), and how much of it was spent waiting for read models."""
    gate, views = gateway()
    views.consistency.behind = False
    consumer = Consumer()
    consumer.records[0].timestamp -= 4_000  # happened 4 s ago
    with capture_logs() as logs:
        gate.consume(consumer)
    [late] = [entry for entry in logs if entry["event"] == "changes reached the sockets late"]
    assert 4.0 <= late["seconds"] < 6.0 and late["read_model_wait_seconds"] < 1.0

    fresh = Consumer()
    with capture_logs() as logs:
        gate.consume(fresh)
    assert [entry for entry in logs if "late" in entry["event"]] == []
