"""The notifier: ticket and appointment events from Kafka become customer messages in the ledger
and delivery jobs on dramatiq.

A Kafka consumer group (``SMARTQUEUE_NOTIFIER_GROUP``) on the ticket, customer and appointment
topics (:mod:`infrastructure.notify.appointment_news` decides an appointment's messages): run
as many ``smartqueue notifier`` processes as wanted, the group shares the partitions. What each
event causes (messages planned, rendered, recorded in the ledger and queued; erasures; auto
no-shows) is :class:`infrastructure.notify.ticket_news.TicketNews`'s to decide; this module
consumes (the loop shared with the display gateway,
:mod:`infrastructure.kafka.consumer_loop`). Offsets are committed only after a whole batch is
handled, so a crash handles a batch again: the message ids are the same, the ledger adds
nothing, and a job queued twice sends once.

With webhooks (``smartqueue notifier`` always has them), the group reads every published topic
and hands each event to the webhook dispatcher, which records one delivery per subscription
that wants its type (the delivery id derives from event and subscription, so a batch handled
again adds nothing) and queues its ``deliver_webhook`` job.

A new group starts at the notifier's start time (less a few seconds), never at the beginning of
the topics: the history holds messages that are no longer news.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec
import psycopg
import redis
import structlog
from eventsourcing.persistence import PersistenceError

from application.views import TicketView
from infrastructure.jobs.auto_no_show import AutoNoShowJobs
from infrastructure.kafka.client import ensure_topics
from infrastructure.kafka.consumer_loop import (
    MAX_RECORDS,
    consumer_options,
    pin,
    poll,
    run_consumer,
)
from infrastructure.kafka.contract import topic_of, topics
from infrastructure.kafka.gateway_start import NewGroupStart, process_started_at
from infrastructure.notify.appointment_news import (
    AppointmentEnvelope,
    AppointmentFacts,
    AppointmentLink,
    AppointmentNews,
)
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ticket_news import (
    Envelope,
    TenantSetup,
    TicketFacts,
    TicketLink,
    TicketNews,
)
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import KafkaSettings
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

TOPIC = topic_of("Ticket")
CUSTOMER_TOPIC = topic_of("Customer")
APPOINTMENT_TOPIC = topic_of("Appointment")
TRANSIENT = (psycopg.Error, redis.RedisError, PersistenceError)
"""Trouble that handling the batch again after a back-off can get past."""


class WebhookDispatch(Protocol):
    """Records and queues a published event for the webhook subscriptions that want it."""

    def dispatch(self, envelope: dict[str, Any]) -> int: ...

    def poll(self) -> AbstractContextManager[None]:
        """A block dispatching one poll's events (subscriptions read once for the poll)."""
        ...


class Notifier(TicketNews):
    """Consumes, decides (:class:`TicketNews`), records, queues, commits; see the module
    docstring."""

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
        with_etas: Callable[[UUID, list[TicketView]], list[TicketView]] | None = None,
        appointment_facts: AppointmentFacts | None = None,
        appointment_link: AppointmentLink | None = None,
    ) -> None:
        """``webhooks``, when given, also receives every event of every published topic, for
        the tenants' webhook subscriptions; ``appointment_facts``, when given, makes the
        appointments' events send their customers' messages too."""
        super().__init__(
            facts,
            ledger,
            jobs,
            settings,
            clock=clock,
            with_eta=with_eta,
            setup=setup,
            no_shows=no_shows,
            link=link,
            with_etas=with_etas,
        )
        self.webhooks = webhooks
        self.appointments = (
            None
            if appointment_facts is None
            else AppointmentNews(
                appointment_facts,
                ledger,
                jobs,
                settings,
                setup=setup,
                link=appointment_link,
                clock=clock,
            )
        )
        self.kafka = kafka
        self.backoff_seconds = backoff_seconds
        self.start = NewGroupStart(process_started_at())
        self.pinned: set[Any] = set()
        self.handled = 0  # events read and handled
        self.skipped: list[str] = []  # events that failed other than transiently, and why

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``; after Kafka, database or Redis trouble, a new consumer
        resumes from the committed offsets (the unfinished batch is handled again)."""
        run_consumer(
            stop,
            self._consumer,
            self.consume,
            name="notifier",
            backoff_seconds=self.backoff_seconds,
            reconnect_on=TRANSIENT,
        )

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        self.pinned = set()
        ensure_topics(self.kafka)
        options = consumer_options(self.kafka, self.settings.notifier_group, "smartqueue-notifier")
        consumer = KafkaConsumer(**options)
        wanted = [TOPIC, CUSTOMER_TOPIC]
        if self.appointments is not None:
            wanted.append(APPOINTMENT_TOPIC)
        consumer.subscribe(topics() if self.webhooks is not None else wanted)
        return consumer

    def consume(self, consumer: Any) -> int:
        """One poll: handle its events, record and queue their messages, then commit. The
        number of events handled."""
        batch = poll(consumer, self.start, max_records=MAX_RECORDS)
        if batch is None:
            return 0
        handled = 0
        webhooks = self.webhooks.poll() if self.webhooks is not None else nullcontext()
        # The poll's messages are recorded and queued when it ends.
        with self.batch(), webhooks:
            for partition, records in batch.items():
                for record in self.start.recent(partition, records):
                    handled += self._one(record)
        if batch:
            consumer.commit()
        self.handled += handled
        assigned = consumer.assignment()
        if assigned != self.pinned:
            self._pin(consumer, assigned)
        return handled

    def _one(self, record: Any) -> int:
        """Handle one record; 0 when it is malformed and skipped."""
        try:
            envelope = msgspec.json.decode(record.value, type=Envelope)
        except (msgspec.DecodeError, TypeError) as error:
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            log.error("notifier skipped a malformed record", record=where, error=str(error))
            return 0
        try:
            if self.webhooks is not None:
                self.webhooks.dispatch(msgspec.json.decode(record.value))
            if record.topic in (TOPIC, CUSTOMER_TOPIC):
                self.handle(envelope)
            elif record.topic == APPOINTMENT_TOPIC and self.appointments is not None:
                self.appointments.handle(
                    msgspec.json.decode(record.value, type=AppointmentEnvelope)
                )
            elif envelope.tenant_id is not None:  # a queue's or a site's news, for the cache
                self.cache.observe(envelope.event_type, envelope.tenant_id, envelope.aggregate_id)
        except TRANSIENT:
            raise  # the batch is handled again after a back-off
        except Exception as error:  # one bad event must not stop every customer's news
            where = f"{record.topic}[{record.partition}]@{record.offset}"
            log.exception("notifier skipped an event it could not handle", record=where)
            self.skipped.append(f"{where}: {type(error).__name__}: {error}")
        return 1

    def _pin(self, consumer: Any, assigned: set[Any]) -> None:
        """Commit a position for every newly assigned partition, so a partition that changes
        hands resumes where it was rather than at the new owner's start time."""
        pin(consumer, assigned)
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
    with_etas: Callable[[UUID, list[TicketView]], list[TicketView]] | None = None,
    appointment_facts: AppointmentFacts | None = None,
    appointment_link: AppointmentLink | None = None,
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
        with_etas=with_etas,
        appointment_facts=appointment_facts,
        appointment_link=appointment_link,
    )
    supervisor.add("notifier", notifier.run)
    return notifier
