"""An event the notifier cannot handle is logged and skipped, and the batch still commits: one
bad event must not hold back every other customer's messages (fakes for Kafka and the app)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import msgspec

from infrastructure.notify.notifier import Notifier
from infrastructure.settings import load_settings


@dataclass
class Record:
    topic: str
    partition: int
    offset: int
    value: bytes
    timestamp: int = 0


@dataclass
class FakeConsumer:
    batches: list[dict[Any, list[Record]]]
    commits: int = 0
    assigned: set[Any] = field(default_factory=set)

    def poll(self, timeout_ms: int, max_records: int) -> dict[Any, list[Record]]:
        return self.batches.pop(0) if self.batches else {}

    def commit(self, offsets: Any = None) -> None:
        self.commits += 1

    def assignment(self) -> set[Any]:
        return self.assigned


class BrokenFacts:
    """The application's queries, failing on every ticket as a bug would."""

    def get_ticket(self, tenant_id: uuid.UUID, ticket_id: uuid.UUID) -> Any:
        raise RuntimeError("a bug")


def envelope(event_type: str) -> bytes:
    return msgspec.json.encode(
        {
            "event_type": event_type,
            "tenant_id": str(uuid.uuid4()),
            "aggregate_id": str(uuid.uuid4()),
            "aggregate_version": 1,
            "data": {},
        }
    )


def test_an_event_that_fails_is_skipped_and_the_batch_commits():
    settings = load_settings({})
    notifier = Notifier(
        BrokenFacts(),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        settings.kafka,
        settings.notify,
    )
    partition = ("smartqueue.ticket.v1", 0)
    consumer = FakeConsumer(
        [
            {
                partition: [
                    Record("smartqueue.ticket.v1", 0, 10, envelope("Ticket.Called")),
                    Record("smartqueue.ticket.v1", 0, 11, b"not json"),
                    Record("smartqueue.ticket.v1", 0, 12, envelope("Ticket.ServiceStarted")),
                ]
            }
        ]
    )

    assert notifier.consume(consumer) == 2
    assert consumer.commits == 1
    (skipped,) = notifier.skipped
    assert skipped.startswith("smartqueue.ticket.v1[0]@10: RuntimeError: a bug")
