"""The notifier's poll of events asks for a tenant's webhook subscriptions to a type once, not
once per event; outside a poll every event asks (a stub broker, a store that counts)."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from dramatiq.brokers.stub import StubBroker

from infrastructure.notify.webhook_jobs import WebhookJobs


class CountingStore:
    """No subscriptions; counts how often they are asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[UUID, str]] = []

    def wanting(self, tenant_id: UUID, event_type: str) -> list[Any]:
        self.asked.append((tenant_id, event_type))
        return []


def test_a_poll_reads_each_tenants_subscriptions_to_a_type_once() -> None:
    store = CountingStore()
    jobs = WebhookJobs(StubBroker(), store, attempt_limit=3)  # type: ignore[arg-type]
    one, two = uuid.uuid4(), uuid.uuid4()
    pairs = [(one, "Ticket.Issued"), (one, "Ticket.Issued"), (two, "Ticket.Issued")]
    pairs.append((one, "Ticket.Called"))
    events = [
        {"tenant_id": str(tenant), "event_type": kind, "event_id": f"{n}"}
        for n, (tenant, kind) in enumerate(pairs)
    ]
    with jobs.poll():
        for envelope in events:
            jobs.dispatch(envelope)
    assert store.asked == [(one, "Ticket.Issued"), (two, "Ticket.Issued"), (one, "Ticket.Called")]
    jobs.dispatch(events[0])
    jobs.dispatch(events[0])
    assert store.asked[3:] == [(one, "Ticket.Issued"), (one, "Ticket.Issued")]
    jobs.close()
