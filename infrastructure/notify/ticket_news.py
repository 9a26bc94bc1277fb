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
"""

from __future__ import annotations

from collections.abc import Callable
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
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.message_text import message_values, render_for_tenant
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

ERASED = "Customer.Erased"
QUEUED = DeliveryStatus.QUEUED
ETA_SCAN = 20
"""How far down a line the notifier looks for customers near by ETA rather than position."""


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
    ) -> None:
        self.facts = facts
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
        self.near = NearThresholds(position=settings.near_position, eta_minutes=None)
        """The thresholds when no tenant settings are at hand."""

    def handle(self, envelope: Envelope) -> list[PlannedMessage]:
        """Record and queue the messages one event causes (none for most events): the ticket's
        own news, and "your turn is near" for the customers the event moved up the line; forget
        the address and body of every message to an erased customer."""
        tenant_id = envelope.tenant_id
        if tenant_id is None:
            return []
        if envelope.event_type == ERASED:
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
        for queue_id in queues:
            planned += self._turn_near(tenant_id, tenant, queue_id)
        return planned

    def _tenant_settings(self, tenant_id: UUID) -> TenantNotificationSettings:
        if self.setup is not None:
            return self.setup.get_settings(tenant_id)
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
            return []
        try:
            customer = self.facts.get_customer(tenant_id, ticket.customer_id)
            queue = self.facts.get_queue(tenant_id, ticket.queue_id)
            site = self.facts.get_site(tenant_id, queue.site_id)
        except NotFound as error:  # an erased customer, a removed site
            log.info("notification skipped", ticket_id=str(ticket.id), reason=str(error))
            return []
        now = self.clock()
        if self.with_eta is not None and ticket.position is not None:
            ticket = self.with_eta(tenant_id, ticket)
        plan = plan_messages(kind, event_id, recipient_of(customer), now, site.timezone)
        if plan.held_back:
            log.info("notification held back", ticket_id=str(ticket.id), reason=plan.held_back)
        link = self.link(tenant_id, ticket, site) if self.link is not None else None
        values = message_values(ticket, queue, site, link, counter)
        for planned in plan.messages:
            self._record_and_queue(tenant_id, planned, ticket, customer.id, values, now)
        return list(plan.messages)

    def _turn_near(
        self, tenant_id: UUID, tenant: TenantNotificationSettings, queue_id: UUID
    ) -> list[PlannedMessage]:
        """ "Your turn is near" to each customer at the head of the line who reached one of
        the tenant's thresholds (a position, an ETA): once per stint, since the stint keys the
        message id. By ETA, the first :data:`ETA_SCAN` waiting tickets are looked at."""
        near = tenant.near
        by_eta = near.eta_minutes is not None and self.with_eta is not None
        if not tenant.is_on(MessageKind.TURN_NEAR) or (near.position is None and not by_eta):
            return []
        depth = max(near.position or 0, ETA_SCAN if by_eta else 0)
        try:
            head = self.facts.get_next_waiting(tenant_id, queue_id, depth)
        except NotFound:
            return []
        planned: list[PlannedMessage] = []
        for ticket in head:
            if ticket.customer_id is None:
                continue
            eta_minutes = None
            if by_eta and self.with_eta is not None and ticket.position is not None:
                eta = self.with_eta(tenant_id, ticket).eta_seconds
                eta_minutes = eta / 60 if eta is not None else None
            if near.reached(ticket.position, eta_minutes):
                stint = stint_id(ticket.id, ticket.transfers)
                planned += self._tell(tenant_id, tenant, MessageKind.TURN_NEAR, stint, ticket)
        return planned

    def _record_and_queue(
        self,
        tenant_id: UUID,
        planned: PlannedMessage,
        ticket: TicketView,
        customer_id: UUID,
        values: dict[str, object],
        now: datetime,
    ) -> None:
        rendered = render_for_tenant(self.setup, tenant_id, planned, values)
        body = MessageBody(text=rendered.text, subject=rendered.subject, html=rendered.html)
        delivery = Delivery(
            id=planned.message_id,
            kind=planned.kind,
            channel=planned.channel,
            created_at=now,
            address=planned.address,
            body=body.encode(),
            ticket_id=ticket.id,
            attempt_limit=self.settings.max_attempts,
        )
        if self.ledger.record(LedgerEntry(tenant_id, delivery, planned.language, customer_id)):
            self.recorded += 1
        elif self.ledger.get(tenant_id, planned.message_id).delivery.status is not QUEUED:
            return  # decided before and on its way (or done): "turn near" is re-decided often
        # A queued entry that was there already is queued again: a crash may have come between
        # recording and queueing. The job sends only what is still queued, so never twice.
        self.jobs.enqueue(tenant_id, planned.message_id)
