"""The notification ledger on a real PostgreSQL, as the runtime login under row-level security."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from psycopg_pool import ConnectionPool

from application.paging import PageRequest
from domain.delivery import Delivery, DeliveryStatus, IllegalDeliveryTransition, message_id
from domain.messages import Channel, MessageKind
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, LedgerEntryNotFound, MessageBody
from infrastructure.postgres.database import open_pool

pytestmark = pytest.mark.integration

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=2)
    yield opened
    opened.close()


@pytest.fixture
def ledger(pool: ConnectionPool) -> PostgresLedger:
    return PostgresLedger(pool)


def entry(
    tenant_id: uuid.UUID,
    *,
    ticket_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    channel: Channel = Channel.EMAIL,
    at: datetime = NOON,
    event_id: uuid.UUID | None = None,
) -> LedgerEntry:
    ticket_id = ticket_id or uuid.uuid4()
    customer_id = customer_id or uuid.uuid4()
    delivery = Delivery(
        id=message_id(event_id or uuid.uuid4(), channel, str(customer_id), "called"),
        kind=MessageKind.CALLED,
        channel=channel,
        created_at=at,
        address="jeanne@example.org",
        body=MessageBody(text="Please go to counter 3", subject="Your turn").encode(),
        ticket_id=ticket_id,
        attempt_limit=3,
    )
    return LedgerEntry(tenant_id, delivery, "en", customer_id)


def test_recording_a_message_twice_adds_it_once(ledger: PostgresLedger) -> None:
    tenant = uuid.uuid4()
    event = uuid.uuid4()
    first = entry(tenant, event_id=event)
    again = entry(tenant, event_id=event, ticket_id=first.delivery.ticket_id)
    again.delivery.ticket_id = first.delivery.ticket_id
    again.customer_id = first.customer_id
    again.delivery.id = first.message_id

    assert ledger.record(first) is True
    assert ledger.record(again) is False

    stored = ledger.get(tenant, first.message_id)
    assert stored.delivery.status is DeliveryStatus.QUEUED
    assert stored.body == MessageBody(text="Please go to counter 3", subject="Your turn")
    assert stored.delivery.address == "jeanne@example.org"
    assert stored.customer_id == first.customer_id


def test_another_tenant_cannot_see_a_message(ledger: PostgresLedger) -> None:
    recorded = entry(uuid.uuid4())
    ledger.record(recorded)

    with pytest.raises(LedgerEntryNotFound):
        ledger.get(uuid.uuid4(), recorded.message_id)


def test_transitions_follow_the_delivery_rules_and_are_stored(ledger: PostgresLedger) -> None:
    tenant = uuid.uuid4()
    recorded = entry(tenant)
    ledger.record(recorded)
    later = NOON + timedelta(seconds=5)

    failed = ledger.transition(
        tenant, recorded.message_id, lambda d: d.mark_failed("HTTP 500", later)
    )
    assert (failed.delivery.status, failed.delivery.attempts) == (DeliveryStatus.FAILED, 1)
    ledger.transition(tenant, recorded.message_id, lambda d: d.requeue(later))
    ledger.transition(tenant, recorded.message_id, lambda d: d.mark_sent("SM123", later))

    stored = ledger.get(tenant, recorded.message_id)
    assert stored.delivery.status is DeliveryStatus.SENT
    assert stored.delivery.attempts == 2
    assert stored.delivery.provider_id == "SM123"
    assert stored.delivery.sent_at == later
    with pytest.raises(IllegalDeliveryTransition):
        ledger.transition(tenant, recorded.message_id, lambda d: d.mark_sent("again", later))
    assert ledger.get(tenant, recorded.message_id).delivery.provider_id == "SM123"


def test_search_filters_and_pages_newest_first(ledger: PostgresLedger) -> None:
    tenant = uuid.uuid4()
    ticket = uuid.uuid4()
    entries = [
        entry(tenant, ticket_id=ticket, at=NOON + timedelta(minutes=i), channel=channel)
        for i, channel in enumerate([Channel.EMAIL, Channel.SMS, Channel.EMAIL, Channel.EMAIL])
    ]
    for recorded in entries:
        ledger.record(recorded)
    ledger.record(entry(tenant))  # another ticket
    ledger.record(entry(uuid.uuid4(), ticket_id=ticket))  # another tenant
    ledger.transition(tenant, entries[3].message_id, lambda d: d.mark_sent("id", NOON))

    first = ledger.search(tenant, PageRequest(limit=2), ticket_id=ticket, channel=Channel.EMAIL)
    assert [e.message_id for e in first.items] == [entries[3].message_id, entries[2].message_id]
    assert first.next_cursor is not None
    second = ledger.search(
        tenant,
        PageRequest(cursor=first.next_cursor, limit=2),
        ticket_id=ticket,
        channel=Channel.EMAIL,
    )
    assert [e.message_id for e in second.items] == [entries[0].message_id]
    assert second.next_cursor is None
    sent = ledger.search(tenant, PageRequest(), status=DeliveryStatus.SENT)
    assert [e.message_id for e in sent.items] == [entries[3].message_id]


def test_erasing_a_customer_keeps_no_address_or_body(ledger: PostgresLedger) -> None:
    tenant = uuid.uuid4()
    customer = uuid.uuid4()
    sent, queued = entry(tenant, customer_id=customer), entry(tenant, customer_id=customer)
    other = entry(tenant)
    for recorded in (sent, queued, other):
        ledger.record(recorded)
    ledger.transition(tenant, sent.message_id, lambda d: d.mark_sent("SM1", NOON))

    assert ledger.erase(tenant, NOON, customer_id=customer) == 2

    for recorded, status in ((sent, DeliveryStatus.SENT), (queued, DeliveryStatus.DEAD)):
        stored = ledger.get(tenant, recorded.message_id)
        assert stored.delivery.status is status
        assert (stored.delivery.address, stored.body, stored.delivery.erased) == (None, None, True)
    assert ledger.get(tenant, other.message_id).delivery.address == "jeanne@example.org"


def test_dead_letters_are_listed_across_tenants_without_personal_data(
    ledger: PostgresLedger,
) -> None:
    recorded = entry(uuid.uuid4())
    ledger.record(recorded)
    ledger.transition(
        recorded.tenant_id,
        recorded.message_id,
        lambda d: d.mark_failed("invalid number", NOON, retryable=False),
    )

    (dead,) = ledger.dead_letters(message_id=recorded.message_id)
    assert (dead.tenant_id, dead.kind, dead.channel) == (recorded.tenant_id, "called", "email")
    assert dead.error == "invalid number"
    assert recorded.message_id in {d.message_id for d in ledger.dead_letters()}
