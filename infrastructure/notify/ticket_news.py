"""What a ticket event causes: the customer messages the notifier
(:mod:`infrastructure.notify.notifier`) records in the ledger and queues for delivery.

For each event that tells a ticket's customer something
(:data:`application.notifications.TICKET_EVENT_KINDS`) the ticket, its queue and site and the
customer are loaded, the messages planned (:func:`application.notifications.plan_messages`),
each rendered with the tenant's template for its kind, channel and language (the built-in one
when the tenant has none, or when the tenant's fails to render), recorded in the ledger (a
message already there is not added again) and its delivery queued. The tenant's notification
settings decide which kinds are sent at all and the "your turn is near" thresholds (a position,
an ETA in minutes, either one is enough). A customer's erasure erases the ledger's copies of
their address and messages (unsent ones go dead). A called ticket in a queue with an auto
no-show delay gets its ``expire_call`` scheduled.

Fast enough for a busy site: queues, sites, settings, templates and customers are read
through a short-lived cache (:mod:`infrastructure.notify.fact_cache`; an erasure still wins);
a "your turn is near" already recorded and queued by this process is not decided again (every
event re-examines the head of the line, and the head rarely changes); and, in a batch
(:meth:`TicketNews.batch`, the notifier's poll), the messages are rendered (the ETAs of their
waiting tickets read once per tenant), recorded in one insert per tenant and queued after it.

In the customer's quiet hours a message is recorded ``held`` and its delivery queued with a
delay until they end (:mod:`infrastructure.notify.jobs` checks it is still news then).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec
import structlog

from application.notification_templates import TenantNotificationSettings
from application.notifications import (
    TICKET_EVENT_KINDS,
    PlannedMessage,
    event_uuid,
    plan_messages,
    recipient_of,
    still_news,
    stint_id,
)
from application.views import CustomerView, QueueView, SiteView, TicketView
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import NotFound
from domain.messages import Channel, MessageKind, TemplateParts
from domain.notify_rules import NearThresholds
from domain.tickets import TicketStatus
from infrastructure.jobs.auto_no_show import SCHEDULED_EVENTS, AutoNoShowJobs
from infrastructure.notify.fact_cache import FactCache
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.message_text import message_values, render_for_tenant
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

ERASED = "Customer.Erased"
ETA_SCAN = 20
"""How far down a line the notifier looks for customers near by ETA rather than position."""
TOLD_KEPT = 100_000
"""Stints whose "your turn is near" this process remembers having queued."""


class TicketFacts(Protocol):
    """The queries the notifier reads a ticket's context with (the application's)."""

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView: ...

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView: ...

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView: ...

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView: ...

    def get_next_waiting(self, tenant_id: UUID, queue_id: UUID, count: int) -> list[TicketView]: ...


class TenantSetup(Protocol):
    """A tenant's templates and notification settings (the application's
    :class:`application.notification_setup.NotificationSetup`)."""

    def template_for(
        self, tenant_id: UUID, kind: MessageKind, channel: Channel, language: str
    ) -> TemplateParts | None: ...

    def get_settings(self, tenant_id: UUID) -> TenantNotificationSettings: ...


TicketLink = Callable[[UUID, TicketView, SiteView], "str | None"]
"""The customer's "my ticket" address of a ticket (tenant, ticket, its site)."""


class Envelope(msgspec.Struct):
    """The part of a published envelope the notifier reads."""

    event_type: str
    tenant_id: UUID | None
    aggregate_id: UUID
    aggregate_version: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Unrendered:
    """A message decided, to be rendered and recorded with its batch."""

    tenant_id: UUID
    planned: PlannedMessage
    ticket: TicketView
    queue: QueueView
    site: SiteView
    link: str | None
    counter: object
    customer_id: UUID
    now: datetime


class TicketNews:
    """Decides, records and queues the messages ticket events cause; see the module docstring."""

    def __init__(
        self,
        facts: TicketFacts,
        ledger: PostgresLedger,
        jobs: DeliveryJobs,
        settings: NotifySettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        with_eta: Callable[[UUID, TicketView], TicketView] | None = None,
        setup: TenantSetup | None = None,
        no_shows: AutoNoShowJobs | None = None,
        link: TicketLink | None = None,
        with_etas: Callable[[UUID, list[TicketView]], list[TicketView]] | None = None,
    ) -> None:
        self.facts = facts
        self.with_etas = with_etas
        """``with_eta`` for several tickets of a tenant at once (one read for a batch's
        messages); without it, ``with_eta`` one ticket at a time."""
        self.setup = setup
        """The tenants' templates and settings; without it, built-in templates and defaults."""
        self.no_shows = no_shows
        """Schedules the auto no-show of called tickets in queues that have one."""
        self.link = link
        """The customer's "my ticket" address of a ticket, for ``{link}`` (none: no link)."""
        self.with_eta = with_eta
        """Adds a waiting ticket's ETA (the read side's estimator), for ``{eta_minutes}``."""
        self.ledger = ledger
        self.jobs = jobs
        self.settings = settings
        self.clock = clock
        self.recorded = 0  # new ledger entries, for tests and logs
        self.cache = FactCache(facts, setup, settings.facts_ttl_seconds)
        self.pending: dict[UUID, Unrendered] = {}
        """Messages decided and not yet rendered nor recorded (in a batch), by message id."""
        self.pending_stints: set[tuple[UUID, UUID]] = set()
        self.told: dict[tuple[UUID, UUID], None] = {}
        """(tenant, stint) whose "your turn is near" this process recorded and queued: not
        decided again (the ledger would add nothing anyway), oldest first."""
        self.batching = False
        self.near = NearThresholds(position=settings.near_position, eta_minutes=None)
        """The thresholds when no tenant settings are at hand."""

    def handle(self, envelope: Envelope) -> list[PlannedMessage]:
        """Record and queue the messages one event causes (none for most events): the ticket's
        own news, and "your turn is near" for the customers the event moved up the line; forget
        the address and body of every message to an erased customer."""
        tenant_id = envelope.tenant_id
        if tenant_id is None:
            return []
        self.cache.observe(envelope.event_type, tenant_id, envelope.aggregate_id)
        if envelope.event_type == ERASED:
            self.flush()  # the batch's messages to them first, so that they are erased too
            erased = self.ledger.erase(tenant_id, self.clock(), customer_id=envelope.aggregate_id)
            log.info("notifications erased", customer_id=str(envelope.aggregate_id), count=erased)
            return []
        kind = TICKET_EVENT_KINDS.get(envelope.event_type)
        if kind is None:
            return []
        try:
            ticket = self.facts.get_ticket(tenant_id, envelope.aggregate_id)
        except NotFound as error:  # another database's event
            log.info("notification skipped", event=envelope.event_type, reason=str(error))
            return []
        if envelope.event_type in SCHEDULED_EVENTS:
            self._schedule_no_show(tenant_id, envelope, ticket)
        tenant = self._tenant_settings(tenant_id)
        event_id = event_uuid(envelope.aggregate_id, envelope.aggregate_version)
        counter = envelope.data.get("counter") if kind is MessageKind.CALLED else None
        planned = self._tell(tenant_id, tenant, kind, event_id, ticket, counter)
        # Every ticket event may move others up: the ticket's queue, and the one it left.
        queues = {ticket.queue_id}
        if envelope.data.get("from_queue_id"):
            queues.add(UUID(str(envelope.data["from_queue_id"])))
        # A ticket that joins behind the part of the line looked at moves nobody there.
        joined_at = ticket.position if kind is MessageKind.TICKET_ISSUED else None
        for queue_id in queues:
            behind = joined_at if queue_id == ticket.queue_id else None
            planned += self._turn_near(tenant_id, tenant, queue_id, behind)
        if not self.batching:
            self.flush()
        return planned

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Handle several events, recording and queueing their messages together when the
        block ends (nothing when it raises: handled again, they are decided again)."""
        self.pending.clear()
        self.pending_stints.clear()
        self.batching = True
        try:
            yield
            self.flush()
        finally:
            self.batching = False
            self.pending.clear()
            self.pending_stints.clear()

    def flush(self) -> None:
        """Record the pending messages (those already there, or to a customer erased meanwhile,
        are not added) and queue each that is new or still queued. A queued entry that was
        there already is queued again (a held one too, with its delay): a crash may have come
        between recording and queueing; the job sends only what is still waiting, so never
        twice."""
        entries = self._render(list(self.pending.values()))
        if entries:
            added = self.ledger.record_new(entries)
            self.recorded += len(added)
            again: dict[UUID, list[UUID]] = {}
            for entry in entries:
                if entry.message_id not in added:
                    again.setdefault(entry.tenant_id, []).append(entry.message_id)
            queued = set(added)
            for tenant_id, message_ids in again.items():
                queued |= self.ledger.queued_among(tenant_id, message_ids)
            for entry in entries:
                if entry.message_id in queued:
                    not_before = entry.delivery.not_before
                    self.jobs.enqueue(entry.tenant_id, entry.message_id, not_before=not_before)
        self.pending.clear()
        for stint in self.pending_stints:
            self.told[stint] = None
        self.pending_stints.clear()
        if len(self.told) > TOLD_KEPT:
            for stint in list(self.told)[: TOLD_KEPT // 2]:
                del self.told[stint]

    def _tenant_settings(self, tenant_id: UUID) -> TenantNotificationSettings:
        if self.setup is not None:
            return self.cache.get_settings(tenant_id)
        return TenantNotificationSettings(
            kinds={},
            turn_near_position=self.near.position,
            turn_near_eta_minutes=None,
        )

    def _schedule_no_show(self, tenant_id: UUID, envelope: Envelope, ticket: TicketView) -> None:
        """Queue the delayed ``expire_call`` of this call if the ticket's queue has a delay (a
        ticket called again since has its own event, which schedules its own)."""
        if self.no_shows is None or ticket.status != TicketStatus.CALLED:
            return
        try:
            queue = self.facts.get_queue(tenant_id, ticket.queue_id)
        except NotFound:
            return
        if queue.auto_no_show_minutes is None:
            return
        called_at = datetime.fromisoformat(str(envelope.data["at"]))
        delay = timedelta(minutes=queue.auto_no_show_minutes)
        self.no_shows.schedule(tenant_id, ticket.id, called_at, delay)

    def _tell(
        self,
        tenant_id: UUID,
        tenant: TenantNotificationSettings,
        kind: MessageKind,
        event_id: UUID,
        ticket: TicketView,
        counter: object = None,
    ) -> list[PlannedMessage]:
        """Record and queue the messages of ``kind`` to the ticket's customer, if it has one
        and the news is still news."""
        if ticket.customer_id is None:
            return []
        if not tenant.is_on(kind):
            log.info("notification switched off", ticket_id=str(ticket.id), kind=kind.value)
            return []
        if not still_news(kind, ticket.status):
            log.info("notification stale", ticket_id=str(ticket.id), kind=kind.value)
            self._skip_recorded(tenant_id, kind, event_id, ticket)
            return []
        try:
            customer = self.cache.get_customer(tenant_id, ticket.customer_id)
            queue = self.cache.get_queue(tenant_id, ticket.queue_id)
            site = self.cache.get_site(tenant_id, queue.site_id)
        except NotFound as error:  # an erased customer, a removed site
            log.info("notification skipped", ticket_id=str(ticket.id), reason=str(error))
            return []
        now = self.clock()
        plan = plan_messages(kind, event_id, recipient_of(customer), now, site.timezone)
        if plan.held_back:
            until = plan.not_before.isoformat() if plan.not_before else None
            log.info(
                "notification held", ticket_id=str(ticket.id), reason=plan.held_back, until=until
            )
        if not plan.messages:
            return []
        link = self.link(tenant_id, ticket, site) if self.link is not None else None
        for planned in plan.messages:
            self.pending.setdefault(
                planned.message_id,
                Unrendered(
                    tenant_id, planned, ticket, queue, site, link, counter, customer.id, now
                ),
            )
        return list(plan.messages)

    def _turn_near(
        self,
        tenant_id: UUID,
        tenant: TenantNotificationSettings,
        queue_id: UUID,
        joined_at: int | None = None,
    ) -> list[PlannedMessage]:
        """ "Your turn is near" to each customer at the head of the line who reached one of
        the tenant's thresholds (a position, an ETA): once per stint, since the stint keys the
        message id. By ETA, the first :data:`ETA_SCAN` waiting tickets are looked at; none
        when the event is a ticket joining the line at ``joined_at``, behind them."""
        near = tenant.near
        by_eta = near.eta_minutes is not None and self.with_eta is not None
        if not tenant.is_on(MessageKind.TURN_NEAR) or (near.position is None and not by_eta):
            return []
        depth = max(near.position or 0, ETA_SCAN if by_eta else 0)
        if joined_at is not None and joined_at > depth:
            return []
        try:
            head = self.facts.get_next_waiting(tenant_id, queue_id, depth)
        except NotFound:
            return []
        planned: list[PlannedMessage] = []
        for ticket in head:
            stint = stint_id(ticket.id, ticket.transfers)
            if ticket.customer_id is None or (tenant_id, stint) in self.told:
                continue
            eta_minutes = None
            if by_eta and self.with_eta is not None and ticket.position is not None:
                eta = self.with_eta(tenant_id, ticket).eta_seconds
                eta_minutes = eta / 60 if eta is not None else None
            if near.reached(ticket.position, eta_minutes):
                told = self._tell(tenant_id, tenant, MessageKind.TURN_NEAR, stint, ticket)
                if told:  # none (quiet hours, no channel): decided again next time
                    self.pending_stints.add((tenant_id, stint))
                planned += told
        return planned

    def _skip_recorded(
        self, tenant_id: UUID, kind: MessageKind, event_id: UUID, ticket: TicketView
    ) -> None:
        """News gone stale may have been recorded before: by a notifier stopped between
        recording and queueing, whose replacement reads the event again after the ticket moved
        on. Its messages would wait for a job for ever; they are skipped, as a held message
        that is no longer news is, so the ledger tells the truth."""
        try:
            customer = self.cache.get_customer(tenant_id, ticket.customer_id)
            queue = self.cache.get_queue(tenant_id, ticket.queue_id)
            site = self.cache.get_site(tenant_id, queue.site_id)
        except NotFound:
            return
        now = self.clock()
        plan = plan_messages(kind, event_id, recipient_of(customer), now, site.timezone)
        message_ids = [planned.message_id for planned in plan.messages]
        if message_ids:
            reason = f"no longer news: the ticket is {ticket.status}"
            self.ledger.skip_waiting(tenant_id, message_ids, reason, now)

    def _render(self, messages: list[Unrendered]) -> list[LedgerEntry]:
        """The ledger entries of decided messages: each rendered with the tenant's template
        (else the built-in one), a waiting ticket with its ETA (read once per tenant)."""
        # Keyed by ticket and position: a batch may tell one ticket twice as it moves up.
        waiting: dict[UUID, dict[tuple[UUID, int], TicketView]] = {}
        for message in messages:
            if message.ticket.position is not None:
                key = (message.ticket.id, message.ticket.position)
                waiting.setdefault(message.tenant_id, {})[key] = message.ticket
        estimated: dict[tuple[UUID, int | None], TicketView] = {}
        for tenant_id, tickets in waiting.items():
            if self.with_etas is not None:
                found = self.with_etas(tenant_id, list(tickets.values()))
            elif self.with_eta is not None:
                found = [self.with_eta(tenant_id, ticket) for ticket in tickets.values()]
            else:
                continue
            estimated.update(zip(tickets, found, strict=True))
        templates = self.cache if self.setup is not None else None
        entries = []
        for m in messages:
            ticket = estimated.get((m.ticket.id, m.ticket.position), m.ticket)
            values = message_values(ticket, m.queue, m.site, m.link, m.counter)
            rendered = render_for_tenant(templates, m.tenant_id, m.planned, values)
            body = MessageBody(text=rendered.text, subject=rendered.subject, html=rendered.html)
            delivery = Delivery(
                id=m.planned.message_id,
                kind=m.planned.kind,
                channel=m.planned.channel,
                created_at=m.now,
                address=m.planned.address,
                body=body.encode(),
                ticket_id=ticket.id,
                attempt_limit=self.settings.max_attempts,
                # In the customer's quiet hours: held until they end, then checked for news again.
                status=DeliveryStatus.HELD if m.planned.not_before else DeliveryStatus.QUEUED,
                not_before=m.planned.not_before,
            )
            entries.append(LedgerEntry(m.tenant_id, delivery, m.planned.language, m.customer_id))
        return entries
