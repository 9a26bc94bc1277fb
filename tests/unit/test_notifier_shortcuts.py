"""The notifier's shortcuts change nothing it decides (an in-memory application, a ledger and
jobs kept in dicts): a "your turn is near" already queued is not decided again, a kept
customer is forgotten when they change or are erased, and queues, sites and settings are read
again when their own events say so or their time is up."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from uuid import UUID

import msgspec
import pytest

from application.notifications import NotificationFacts
from domain.delivery import DeliveryStatus
from infrastructure.notify.fact_cache import FactCache
from infrastructure.notify.ledger_rows import LedgerEntry
from infrastructure.notify.ticket_news import Envelope, TicketNews
from infrastructure.settings import load_settings
from tests.unit.customer_fakes import customer_world
from tests.unit.world import World


class CountingFacts(NotificationFacts):
    """The application's queries, counting the customers loaded."""

    customers_loaded = 0
    heads_loaded = 0

    def get_next_waiting(self, tenant_id: UUID, queue_id: UUID, count: int) -> Any:
        self.heads_loaded += 1
        return super().get_next_waiting(tenant_id, queue_id, count)

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> Any:
        self.customers_loaded += 1
        return super().get_customer(tenant_id, customer_id)


class MemoryLedger:
    """The ledger's batch insert and status query over a dict."""

    def __init__(self) -> None:
        self.entries: dict[UUID, LedgerEntry] = {}
        self.erased: list[UUID] = []

    def record_new(self, entries: Sequence[LedgerEntry]) -> set[UUID]:
        added = {e.message_id for e in entries if e.message_id not in self.entries}
        for entry in entries:
            self.entries.setdefault(entry.message_id, entry)
        return added

    def erase(self, tenant_id: UUID, at: Any, *, customer_id: UUID) -> int:
        """Note the erasure (the PostgreSQL ledger forgets addresses and bodies)."""
        self.erased.append(customer_id)
        return sum(1 for e in self.entries.values() if e.customer_id == customer_id)

    def queued_among(self, tenant_id: UUID, message_ids: Iterable[UUID]) -> set[UUID]:
        waiting = (DeliveryStatus.QUEUED, DeliveryStatus.HELD)
        return {
            m
            for m in message_ids
            if m in self.entries and self.entries[m].delivery.status in waiting
        }

    def skip_waiting(
        self, tenant_id: UUID, message_ids: Iterable[UUID], reason: str, at: Any
    ) -> set[UUID]:
        skipped = self.queued_among(tenant_id, message_ids)
        for message_id in skipped:
            self.entries[message_id].delivery.skip(reason, at)
        return skipped


class MemoryJobs:
    def __init__(self) -> None:
        self.queued: list[UUID] = []

    def enqueue(self, tenant_id: UUID, message_id: UUID, not_before: Any = None) -> None:
        self.queued.append(message_id)


class CrashingJobs(MemoryJobs):
    """A notifier stopped between recording its messages and queueing them."""

    def enqueue(self, tenant_id: UUID, message_id: UUID, not_before: Any = None) -> None:
        raise ConnectionError("killed before queueing")


@pytest.fixture
def world() -> World:
    return customer_world()[0]


def news(world: World) -> tuple[TicketNews, CountingFacts, MemoryLedger, MemoryJobs]:
    facts = CountingFacts(world.tickets, world.queues, world.catalogue, world.customers)
    ledger, jobs = MemoryLedger(), MemoryJobs()
    settings = load_settings({}).notify
    notifier = TicketNews(facts, ledger, jobs, settings, clock=world.clock)  # type: ignore[arg-type]
    return notifier, facts, ledger, jobs


def event(world: World, event_type: str, aggregate_id: UUID, version: int = 1) -> Envelope:
    return Envelope(event_type, world.tenant_id, aggregate_id, version, {})


def kinds(ledger: MemoryLedger) -> list[str]:
    return sorted(entry.delivery.kind.value for entry in ledger.entries.values())


def test_a_turn_near_already_queued_is_not_decided_or_queued_again(world: World) -> None:
    notifier, facts, ledger, jobs = news(world)
    queue_id = world.queue(world.service())
    ada = world.customers.register_customer(
        world.context, "Ada", email="ada@example.org", channels=["email"]
    )
    first = world.tickets.issue_ticket(world.context, queue_id, customer_id=ada.id)
    notifier.handle(event(world, "Ticket.Issued", first.id))
    assert kinds(ledger) == ["ticket_issued", "turn_near"]
    assert len(jobs.queued) == 2
    loaded = facts.customers_loaded

    for _ in range(3):  # others join behind: Ada stays first, already told
        other = world.tickets.issue_ticket(world.context, queue_id)
        notifier.handle(event(world, "Ticket.Issued", other.id))

    assert kinds(ledger) == ["ticket_issued", "turn_near"]
    assert len(jobs.queued) == 2
    assert facts.customers_loaded == loaded


def test_a_ticket_joining_behind_the_third_place_moves_nobody_and_the_head_is_not_read(
    world: World,
) -> None:
    notifier, facts, ledger, _ = news(world)
    queue_id = world.queue(world.service())
    agent_id = world.agent()
    customers = [
        world.customers.register_customer(
            world.context, f"C{i}", email=f"c{i}@example.org", channels=["email"]
        )
        for i in range(5)
    ]
    for customer in customers:
        ticket = world.tickets.issue_ticket(world.context, queue_id, customer_id=customer.id)
        notifier.handle(event(world, "Ticket.Issued", ticket.id))
    assert facts.heads_loaded == 3  # the fourth and fifth joined behind
    assert kinds(ledger).count("turn_near") == 3
    called = world.staffing.call_next(world.context, agent_id, queue_id)
    notifier.handle(event(world, "Ticket.Called", called.id, 2))
    assert facts.heads_loaded == 4
    assert kinds(ledger).count("turn_near") == 4  # the fourth is third now


def test_a_new_notifier_decides_a_queued_turn_near_again_and_queues_it_once_more(
    world: World,
) -> None:
    notifier, _, ledger, jobs = news(world)
    queue_id = world.queue(world.service())
    ada = world.customers.register_customer(
        world.context, "Ada", email="ada@example.org", channels=["email"]
    )
    ticket = world.tickets.issue_ticket(world.context, queue_id, customer_id=ada.id)
    notifier.handle(event(world, "Ticket.Issued", ticket.id))
    # A crash may have come between recording and queueing: a restarted notifier (nothing
    # remembered) queues the still-queued entries again, and records nothing new.
    again, _, _, again_jobs = news(world)
    again.ledger = ledger
    again.jobs = again_jobs
    again.handle(event(world, "Ticket.Issued", ticket.id))
    assert again.recorded == 0
    assert sorted(again_jobs.queued) == sorted(jobs.queued)


def test_a_kept_customer_who_changed_or_was_erased_is_read_again(world: World) -> None:
    notifier, _, ledger, _ = news(world)
    queue_id = world.queue(world.service())
    ada = world.customers.register_customer(
        world.context, "Ada", email="ada@example.org", channels=["email"]
    )
    for _ in range(3):  # Ada is fourth: no "turn near" for her yet
        world.tickets.issue_ticket(world.context, queue_id)
    ticket = world.tickets.issue_ticket(world.context, queue_id, customer_id=ada.id)
    with notifier.batch():
        notifier.handle(event(world, "Ticket.Issued", ticket.id))
        world.customers.update_customer(world.context, ada.id, email="ada@new.example.org")
        notifier.handle(event(world, "Customer.ContactChanged", ada.id, 2))
        notifier.handle(event(world, "Ticket.Cancelled", ticket.id, 2))
        world.customers.erase_customer(world.context, ada.id)
        notifier.handle(event(world, "Customer.Erased", ada.id, 3))
        planned = notifier.handle(event(world, "Ticket.Cancelled", ticket.id, 2))

    assert planned == []  # erased: not found, never told from what was kept
    by_kind = {e.delivery.kind.value: e.delivery.address for e in ledger.entries.values()}
    assert by_kind == {"ticket_issued": "ada@example.org", "cancelled": "ada@new.example.org"}
    assert ledger.erased == [ada.id]  # after the poll's earlier messages were recorded


def test_queues_sites_and_settings_are_kept_until_their_events_or_their_time_say_otherwise(
    world: World,
) -> None:
    now = [0.0]
    cache = FactCache(world, None, seconds=10, clock=lambda: now[0])
    queue_id = world.queue(world.service())
    site_id = world.queues.get_queue(world.tenant_id, queue_id).site_id
    calls: list[str] = []

    class Facts:
        def get_queue(self, tenant_id: UUID, queue_id: UUID) -> Any:
            calls.append("queue")
            return world.queues.get_queue(tenant_id, queue_id)

        def get_site(self, tenant_id: UUID, site_id: UUID) -> Any:
            calls.append("site")
            return world.catalogue.get_site(tenant_id, site_id)

    cache.facts = Facts()
    cache.get_queue(world.tenant_id, queue_id)
    cache.get_site(world.tenant_id, site_id)
    cache.observe("Queue.TicketJoined", world.tenant_id, queue_id)  # the line, not the queue
    cache.get_queue(world.tenant_id, queue_id)
    assert calls == ["queue", "site"]
    cache.observe("Queue.Reconfigured", world.tenant_id, queue_id)
    cache.get_queue(world.tenant_id, queue_id)
    cache.observe("Site.HoursChanged", world.tenant_id, site_id)
    cache.get_site(world.tenant_id, site_id)
    assert calls == ["queue", "site", "queue", "site"]
    now[0] = 10.5
    cache.get_queue(world.tenant_id, queue_id)
    assert calls[-1] == "queue" and len(calls) == 5


def test_a_batch_reads_the_etas_of_its_waiting_tickets_once_per_tenant(world: World) -> None:
    asked: list[list[UUID]] = []

    def with_etas(tenant_id: UUID, tickets: list[Any]) -> list[Any]:
        asked.append([ticket.id for ticket in tickets])
        return [msgspec.structs.replace(t, eta_seconds=600 * t.position) for t in tickets]

    notifier, _, ledger, _ = news(world)
    notifier.with_etas = with_etas
    queue_id = world.queue(world.service())
    issued = []
    with notifier.batch():
        for i in range(2):
            customer = world.customers.register_customer(
                world.context, f"C{i}", email=f"c{i}@example.org", channels=["email"]
            )
            ticket = world.tickets.issue_ticket(world.context, queue_id, customer_id=customer.id)
            notifier.handle(event(world, "Ticket.Issued", ticket.id))
            issued.append(ticket.id)

    assert len(asked) == 1 and sorted(asked[0]) == sorted(issued)  # deduplicated
    texts = {
        (e.delivery.kind.value, e.delivery.address): e.body.text if e.body else ""
        for e in ledger.entries.values()
    }
    assert "about 10 min" in texts[("ticket_issued", "c0@example.org")]
    assert "about 20 min" in texts[("ticket_issued", "c1@example.org")]


def test_news_recorded_by_a_stopped_notifier_that_went_stale_meanwhile_is_skipped(
    world: World,
) -> None:
    notifier, _, ledger, _ = news(world)
    notifier.jobs = CrashingJobs()
    queue_id = world.queue(world.service())
    agent_id = world.agent("4")
    ada = world.customers.register_customer(
        world.context, "Ada", email="ada@example.org", channels=["email"]
    )
    ticket = world.tickets.issue_ticket(world.context, queue_id, customer_id=ada.id)
    world.staffing.call_next(world.context, agent_id, queue_id)
    with pytest.raises(ConnectionError):  # recorded, then stopped before queueing
        notifier.handle(event(world, "Ticket.Called", ticket.id, 2))
    [called] = [e for e in ledger.entries.values() if e.delivery.kind.value == "called"]
    assert called.delivery.status is DeliveryStatus.QUEUED
    world.tickets.start_ticket(world.context, ticket.id)  # the customer came meanwhile

    again, _, _, again_jobs = news(world)
    again.ledger = ledger
    again.jobs = again_jobs
    again.handle(event(world, "Ticket.Called", ticket.id, 2))  # read again after the restart

    assert called.delivery.status is DeliveryStatus.SKIPPED
    assert called.delivery.error == "no longer news: the ticket is serving"
    assert again_jobs.queued == []
