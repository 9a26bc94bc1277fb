"""The notifier: ticket events from Kafka become customer messages in the ledger and delivery
jobs on dramatiq.

A Kafka consumer group (``SMARTQUEUE_NOTIFIER_GROUP``) on the ticket and customer topics: run
as many ``smartqueue notifier`` processes as wanted, the group shares the partitions. For
each event that tells a ticket's customer something
(:data:`application.notifications.TICKET_EVENT_KINDS`) the notifier loads the ticket, its
queue and site and the customer, plans the messages
(:func:`application.notifications.plan_messages`), renders each with the tenant's template for
its kind, channel and language (the built-in one when the tenant has none, or when the tenant's
fails to render), records it in the ledger (a message already there is not added again) and
queues its delivery. The tenant's notification settings decide which kinds are sent at all and
the "your turn is near" thresholds (a position, an ETA in minutes, either one is enough).
A customer's erasure erases the ledger's copies of their address and messages (unsent ones go
dead). Offsets are committed only after a whole batch is handled, so a crash handles a batch
again: the message ids are the same, the ledger adds nothing, and a job queued twice sends once.

With webhooks (``smartqueue notifier`` always has them), the group reads every published topic
and hands each event to the webhook dispatcher, which records one delivery per subscription
that wants its type (the delivery id derives from event and subscription, so a batch handled
again adds nothing) and queues its ``deliver_webhook`` job.

A new group starts at the notifier's start time (less a few seconds), never at the beginning of
the topics: the history holds messages that are no longer news.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec
import psycopg
import redis
import structlog
from eventsourcing.persistence import PersistenceError

from application.notification_setup import TenantNotificationSettings
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
from infrastructure.kafka.client import FAST_GROUP, ensure_topics, quiet_kafka_python
from infrastructure.kafka.contract import topic_of, topics
from infrastructure.kafka.gateway_start import NewGroupStart
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import LedgerEntry, MessageBody, PostgresLedger
from infrastructure.notify.templates import RenderedMessage, render_message
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import KafkaSettings
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

TOPIC = topic_of("Ticket")
CUSTOMER_TOPIC = topic_of("Customer")
ERASED = "Customer.Erased"
POLL_MS = 200
MAX_BACKOFF_SECONDS = 5.0
QUEUED = DeliveryStatus.QUEUED
ETA_SCAN = 20
"""How far down a line the notifier looks for customers near by ETA rather than position."""
TRANSIENT = (psycopg.Error, redis.RedisError, PersistenceError)
"""Trouble that handling the batch again after a back-off can get past."""


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


class WebhookDispatch(Protocol):
    """Records and queues a published event for the webhook subscriptions that want it."""

    def dispatch(self, envelope: dict[str, Any]) -> int: ...


class Envelope(msgspec.Struct):
    """The part of a published envelope the notifier reads."""

    event_type: str
    tenant_id: UUID | None
    aggregate_id: UUID
    aggregate_version: int
    data: dict[str, Any]


class Notifier:
    """Consumes, decides, records, queues, commits; see the module docstring."""

    def __init__(
        self,
        facts: TicketFacts,
        ledger: PostgresLedger,
        jobs: DeliveryJobs,
        kafka: KafkaSettings,
        settings: NotifySettings,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        backoff_seconds: float = 0.5,
        with_eta: Callable[[UUID, TicketView], TicketView] | None = None,
        setup: TenantSetup | None = None,
        webhooks: WebhookDispatch | None = None,
        no_shows: AutoNoShowJobs | None = None,
        link: TicketLink | None = None,
    ) -> None:
        """``webhooks``, when given, also receives every event of every published topic, for
        the tenants' webhook subscriptions."""
        self.facts = facts
        self.setup = setup
        """The tenants' templates and settings; without it, built-in templates and defaults."""
        self.webhooks = webhooks
        self.no_shows = no_shows
        """Schedules the auto no-show of called tickets in queues that have one."""
        self.link = link
        """The customer's "my ticket" address of a ticket, for ``{link}`` (none: no link)."""
        self.with_eta = with_eta
        """Adds a waiting ticket's ETA (the read side's estimator), for ``{eta_minutes}``."""
        self.ledger = ledger
        self.jobs = jobs
        self.kafka = kafka
        self.settings = settings
        self.clock = clock
        self.backoff_seconds = backoff_seconds
        self.start = NewGroupStart(time.time())
        self.pinned: set[Any] = set()
        self.recorded = 0  # new ledger entries, for tests and logs
        self.handled = 0  # events read and handled
        self.skipped: list[str] = []  # events that failed other than transiently, and why
        self.near = NearThresholds(position=settings.near_position, eta_minutes=None)
        """The thresholds when no tenant settings are at hand."""

    # -- deciding ----------------------------------------------------------------------------

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
        values = self._values(tenant_id, ticket, queue, site, counter)
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
        rendered = self._render(tenant_id, planned, values)
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

    def _render(
        self, tenant_id: UUID, planned: PlannedMessage, values: dict[str, object]
    ) -> RenderedMessage:
        """The message in the tenant's template for its kind, channel and language, else in
        the built-in one; a stored template that fails to render falls back to the built-in
        one (logged), so the customer still hears."""
        parts = None
        if self.setup is not None:
            parts = self.setup.template_for(
                tenant_id, planned.kind, planned.channel, planned.language
            )
        if parts is not None:
            try:
                return render_message(
                    planned.kind, planned.channel, planned.language, values, parts
                )
            except Exception as error:  # a template saved under older rules, say
                log.warning(
                    "tenant template failed; built-in used",
                    tenant_id=str(tenant_id),
                    kind=planned.kind.value,
                    channel=planned.channel.value,
                    language=planned.language,
                    error=str(error),
                )
        return render_message(planned.kind, planned.channel, planned.language, values)

    def _values(
        self,
        tenant_id: UUID,
        ticket: TicketView,
        queue: QueueView,
        site: SiteView,
        counter: object = None,
    ) -> dict[str, object]:
        eta = ticket.eta_seconds
        return {
            "number": ticket.number,
            "position": ticket.position,
            "eta_minutes": max(1, round(eta / 60)) if eta is not None else None,
            "counter": counter or ticket.counter,
            "queue": queue.name,
            "site": site.name,
            "link": self.link(tenant_id, ticket, site) if self.link is not None else None,
        }

    # -- consuming ---------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``; after Kafka, database or Redis trouble, a new consumer
        resumes from the committed offsets (the unfinished batch is handled again)."""
        from kafka.errors import KafkaError

        quiet_kafka_python()
        backoff = self.backoff_seconds
        while not stop.is_set():
            consumer = None
            self.pinned = set()
            try:
                consumer = self._consumer()
                while not stop.is_set():
                    self.consume(consumer)
                    backoff = self.backoff_seconds
            except (KafkaError, OSError, *TRANSIENT) as error:
                log.warning("notifier interrupted; resuming", error=repr(error))
                stop.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
            finally:
                if consumer is not None:
                    try:
                        consumer.close(autocommit=False)
                    except Exception as error:  # a broken consumer may fail to close; drop it
                        log.debug("notifier consumer close failed", error=str(error))

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        ensure_topics(self.kafka)
        consumer = KafkaConsumer(
            bootstrap_servers=self.kafka.bootstrap_servers,
            group_id=self.settings.notifier_group,
            client_id="smartqueue-notifier",
            enable_auto_commit=False,
            auto_offset_reset="none",  # a new group: seek to the start time ourselves
            fetch_max_wait_ms=20,
            **FAST_GROUP,
        )
        consumer.subscribe(topics() if self.webhooks is not None else [TOPIC, CUSTOMER_TOPIC])
        return consumer

    def consume(self, consumer: Any) -> int:
        """One poll: handle its events, then commit. The number of events handled."""
        from kafka.errors import NoOffsetForPartitionError

        try:
            batch = consumer.poll(timeout_ms=POLL_MS, max_records=200)
        except NoOffsetForPartitionError as error:
            self.start.seek(consumer, set(error.args[0]) if error.args else set())
            return 0
        handled = 0
        for partition, records in batch.items():
            for record in self.start.recent(partition, records):
                try:
                    envelope = msgspec.json.decode(record.value, type=Envelope)
                except (msgspec.DecodeError, TypeError) as error:
                    where = f"{record.topic}[{record.partition}]@{record.offset}"
                    log.error("notifier skipped a malformed record", record=where, error=str(error))
                    continue
                try:
                    if self.webhooks is not None:
                        self.webhooks.dispatch(msgspec.json.decode(record.value))
                    if record.topic in (TOPIC, CUSTOMER_TOPIC):
                        self.handle(envelope)
                except TRANSIENT:
                    raise  # the batch is handled again after a back-off
                except Exception as error:  # one bad event must not stop every customer's news
                    where = f"{record.topic}[{record.partition}]@{record.offset}"
                    log.exception("notifier skipped an event it could not handle", record=where)
                    self.skipped.append(f"{where}: {type(error).__name__}: {error}")
                handled += 1
        if batch:
            consumer.commit()
        self.handled += handled
        assigned = consumer.assignment()
        if assigned != self.pinned:
            self._pin(consumer, assigned)
        return handled

    def _pin(self, consumer: Any, assigned: set[Any]) -> None:
        """Commit a position for every newly assigned partition, so a partition that changes
        hands resumes where it was rather than at the new owner's start time."""
        from kafka.structs import OffsetAndMetadata

        offsets = {
            partition: OffsetAndMetadata(consumer.position(partition), "", -1)
            for partition in assigned
        }
        if offsets:
            consumer.commit(offsets)
        self.pinned = set(assigned)


def start_notifier(
    facts: TicketFacts,
    ledger: PostgresLedger,
    jobs: DeliveryJobs,
    kafka: KafkaSettings,
    settings: NotifySettings,
    supervisor: Supervisor,
    with_eta: Callable[[UUID, TicketView], TicketView] | None = None,
    setup: TenantSetup | None = None,
    webhooks: WebhookDispatch | None = None,
    no_shows: AutoNoShowJobs | None = None,
    link: TicketLink | None = None,
) -> Notifier:
    """Run a notifier in a supervised thread until the supervisor's stop is set."""
    notifier = Notifier(
        facts,
        ledger,
        jobs,
        kafka,
        settings,
        with_eta=with_eta,
        setup=setup,
        webhooks=webhooks,
        no_shows=no_shows,
        link=link,
    )
    supervisor.add("notifier", notifier.run)
    return notifier
