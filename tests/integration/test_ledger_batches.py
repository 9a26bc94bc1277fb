"""The notifier's batch insert into the ledger (real PostgreSQL): each message once however
often it is recorded, none to a customer whose erasure committed first, whatever the notifier
still remembered of them; and which of a batch's messages are still queued."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.delivery import Delivery, DeliveryStatus
from domain.messages import Channel, MessageKind
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from tests.integration.conftest import TenantWorld, new_world

pytestmark = pytest.mark.integration


def entry(world: TenantWorld, customer_id: UUID | None, address: str) -> LedgerEntry:
    delivery = Delivery(
        id=uuid.uuid4(),
        kind=MessageKind.TICKET_ISSUED,
        channel=Channel.EMAIL,
        created_at=datetime.now(UTC),
        address=address,
        body=MessageBody(text="Your number is A-001").encode(),
        ticket_id=uuid.uuid4(),
        attempt_limit=3,
    )
    return LedgerEntry(world.tenant_id, delivery, "en", customer_id)


def test_a_batch_adds_each_message_once_and_none_to_a_customer_erased_before_it(
    world: TenantWorld,
) -> None:
    app = world.container
    ledger = PostgresLedger(app.pool)
    staying = app.customers.register_customer(world.context, "Stays", email="stays@example.org")
    leaving = app.customers.register_customer(world.context, "Leaves", email="leaves@example.org")
    first, second = entry(world, staying.id, "stays@example.org"), entry(world, None, "+3361")
    late = entry(world, leaving.id, "leaves@example.org")
    app.customers.erase_customer(world.context, leaving.id)  # after the notifier read them

    added = ledger.record_new([first, second, late, first])

    assert added == {first.message_id, second.message_id}
    assert ledger.get(world.tenant_id, first.message_id).delivery.address == "stays@example.org"
    with pytest.raises(Exception, match="no notification"):
        ledger.get(world.tenant_id, late.message_id)
    assert ledger.record_new([first, second]) == set()
    ledger.transition(
        world.tenant_id, second.message_id, lambda d: d.mark_sent("p-1", d.created_at)
    )
    ids = [first.message_id, second.message_id, late.message_id]
    assert ledger.queued_among(world.tenant_id, ids) == {first.message_id}
    assert ledger.get(world.tenant_id, second.message_id).delivery.status is DeliveryStatus.SENT


def test_a_batch_of_several_tenants_writes_each_under_its_own_tenant(world: TenantWorld) -> None:
    other_world = new_world(world.container)
    ledger = PostgresLedger(world.container.pool)
    mine, theirs = entry(world, None, "a@example.org"), entry(other_world, None, "b@example.org")
    assert ledger.record_new([mine, theirs]) == {mine.message_id, theirs.message_id}
    assert ledger.queued_among(world.tenant_id, [mine.message_id, theirs.message_id]) == {
        mine.message_id
    }


def test_skipping_stale_news_touches_only_messages_still_waiting_for_their_job(
    world: TenantWorld,
) -> None:
    ledger = PostgresLedger(world.container.pool)
    waiting, sent = entry(world, None, "w@example.org"), entry(world, None, "s@example.org")
    ledger.record_new([waiting, sent])
    ledger.transition(world.tenant_id, sent.message_id, lambda d: d.mark_sent("p-2", d.created_at))
    ids = [waiting.message_id, sent.message_id, uuid.uuid4()]

    skipped = ledger.skip_waiting(world.tenant_id, ids, "no longer news", datetime.now(UTC))

    assert skipped == {waiting.message_id}
    stale = ledger.get(world.tenant_id, waiting.message_id).delivery
    assert (stale.status, stale.error) == (DeliveryStatus.SKIPPED, "no longer news")
    assert ledger.get(world.tenant_id, sent.message_id).delivery.status is DeliveryStatus.SENT
    assert ledger.skip_waiting(world.tenant_id, ids, "again", datetime.now(UTC)) == set()
