"""Delivery jobs on dramatiq: one ``deliver`` message per ledger entry, on a Redis broker.

dramatiq delivers a message at least once, so the job is idempotent through the ledger: it sends
only an entry that is ``queued`` (or ``failed``, when this is its retry), under the entry's row
lock, so the same job run twice, or two runs at once, send once. The provider's answer is
recorded in the same transaction. A :class:`TransientFailure` spends an attempt and is raised
again as dramatiq's ``Retry``, so the Retries middleware runs the job again after an exponential
back-off with jitter (or after the provider's ``Retry-After``); a :class:`PermanentFailure`, or
the ledger's last attempt, makes the entry ``dead`` and ends the job.

A message ``held`` in the customer's quiet hours is queued with a dramatiq delay until its
``not_before`` (the delayed message waits in Redis, so it survives worker restarts). When it
comes due, the job asks the ticket's current status whether the message is still news
(:func:`application.notifications.still_news`): if so it is released and sent, else it is
``skipped`` with the reason, and never sent. An appointment's timed messages (reminders, "you
can check in now") are held until their time the same way, and checked against the appointment
as it is then (:func:`application.appointment_notifications.appointment_news_gone`: moved,
cancelled or checked in since, they are skipped). Arriving early (another host's clock), it waits
again for the rest of the delay.

Nothing here connects at import: :func:`delivery_broker` and :class:`DeliveryJobs` are built by
the process that uses them (the notifier to enqueue, ``smartqueue jobs`` to run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import dramatiq
import redis
import structlog
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)

from application.appointment_notifications import appointment_news_gone
from application.appointment_views import AppointmentView
from application.delivery import (
    Channel,
    DeliveryFailure,
    OutboundMessage,
    PermanentFailure,
    TransientFailure,
)
from application.notifications import still_news
from application.views import TicketView
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import NotFound
from infrastructure.notify.console import ConsoleChannel
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, LedgerEntryNotFound
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

QUEUE = "notifications"
ACTOR = "deliver"
NAMESPACE = "smartqueue-jobs"
"""The Redis key prefix of the broker's queues."""
SETTLED = frozenset(
    {DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.SKIPPED}
)


class AppointmentReader(Protocol):
    """Reads an appointment as it is now (``application.appointments.Appointments``), for a
    held appointment message's check that it is still news."""

    def get_appointment(self, tenant_id: UUID, appointment_id: UUID) -> AppointmentView: ...


class TicketReader(Protocol):
    """Reads a ticket as it is now (``application.tickets.Tickets``), for a held message's
    check that it is still news."""

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView: ...


def delivery_broker(
    redis_url: str, settings: NotifySettings, namespace: str = NAMESPACE
) -> RedisBroker:
    """A dramatiq broker on the Redis of ``redis_url`` whose Retries middleware backs off from
    ``min_backoff_seconds`` doubling (with jitter) up to ``max_backoff_seconds``."""
    retries = Retries(
        max_retries=settings.max_attempts,
        min_backoff=int(settings.min_backoff_seconds * 1000),
        max_backoff=int(settings.max_backoff_seconds * 1000),
    )
    middleware = [AgeLimit(), TimeLimit(), ShutdownNotifications(), Callbacks(), Pipelines()]
    # dramatiq speaks bytes to Redis: a client of its own (the app's decodes responses).
    client = redis.Redis.from_url(redis_url, health_check_interval=30)
    return RedisBroker(client=client, namespace=namespace, middleware=[*middleware, retries])


def outbound(entry: LedgerEntry) -> OutboundMessage:
    """What the channel sends for a ledger entry that still has its address and body."""
    delivery, body = entry.delivery, entry.body
    if delivery.address is None or body is None:
        raise PermanentFailure("the message was erased")
    return OutboundMessage(
        message_id=str(delivery.id),
        channel=delivery.channel.value,  # type: ignore[arg-type]
        recipient=delivery.address,
        text=body.text,
        subject=body.subject or "",
        html=body.html,
        language=entry.language,
        tenant_id=entry.tenant_id,
    )


class DeliveryJobs:
    """The ``deliver`` actor on ``broker``: sends ledger entries through their channel."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        ledger: PostgresLedger,
        channels: Mapping[str, Channel],
        *,
        fallback: Channel | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tickets: TicketReader | None = None,
        appointments: AppointmentReader | None = None,
    ) -> None:
        self.broker = broker
        self.appointments = appointments
        """Checks a held appointment message (a reminder...) when it comes due; without it,
        they are released unchecked."""
        self.tickets = tickets
        """Checks a held message's news when it comes due; without it, held messages are
        released unchecked (a process that only enqueues has none)."""
        self.ledger = ledger
        self.channels = dict(channels)
        self.fallback = fallback or ConsoleChannel()
        self.clock = clock
        self.actor = dramatiq.Actor(
            self.deliver,
            broker=broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            priority=0,
            options={},
        )

    def enqueue(
        self, tenant_id: UUID, message_id: UUID, not_before: datetime | None = None
    ) -> None:
        """Queue the delivery of a recorded message (queueing it twice sends it once), delayed
        until ``not_before`` when it is held."""
        delay = None
        if not_before is not None:
            delay = max(0, int((not_before - self.clock()).total_seconds() * 1000))
        self.actor.send_with_options(args=(str(tenant_id), str(message_id)), delay=delay)

    def channel_for(self, name: str) -> Channel:
        """The configured channel ``name``, else the console channel."""
        return self.channels.get(name) or self.fallback

    def deliver(self, tenant_id: str, message_id: str) -> None:
        """The job: send the entry once; raise ``Retry`` for a transient failure with attempts
        left, so dramatiq runs it again later."""
        started = time.monotonic()
        failure: list[DeliveryFailure] = []
        skipped: list[DeliveryStatus] = []
        early: list[datetime] = []
        with structlog.contextvars.bound_contextvars(job=ACTOR, message_id=message_id):
            try:
                with self.ledger.locked(UUID(tenant_id), UUID(message_id)) as entry:
                    delivery = entry.delivery
                    if delivery.status in SETTLED:
                        skipped.append(delivery.status)
                    elif not delivery.is_due(self.clock()):
                        early.append(delivery.not_before)  # type: ignore[arg-type]
                    else:
                        if delivery.status is DeliveryStatus.HELD:
                            self._release(entry, delivery)
                        if delivery.status is not DeliveryStatus.SKIPPED:
                            self._attempt(entry, delivery, failure)
            except LedgerEntryNotFound:
                # Another database's message, or one deleted since: nothing to send, ever.
                log.warning("notification.job", outcome="not in the ledger", tenant_id=tenant_id)
                return
            if early:
                log.info("notification.job", outcome="held", until=early[0].isoformat())
                self.enqueue(UUID(tenant_id), UUID(message_id), not_before=early[0])
                return
            self._summary(tenant_id, delivery, bool(skipped), started)
        if delivery.status is DeliveryStatus.FAILED and failure:
            error = failure[0]
            retry_after = getattr(error, "retry_after", None)
            delay = int(retry_after * 1000) if retry_after else None
            raise dramatiq.Retry(error.reason, delay=delay)

    @staticmethod
    def _summary(tenant_id: str, delivery: Delivery, skipped: bool, started: float) -> None:
        log.info(
            "notification.job",
            tenant_id=tenant_id,
            channel=delivery.channel.value,
            status=delivery.status.value,
            attempts=delivery.attempts,
            skipped=skipped,
            error=delivery.error,
            duration_ms=round((time.monotonic() - started) * 1000, 1),
        )

    def _release(self, entry: LedgerEntry, delivery: Delivery) -> None:
        """A held message's time has come: queued to send if still news, else skipped."""
        now = self.clock()
        reason = None
        if entry.appointment_id is not None:
            reason = self._appointment_news_gone(entry, delivery)
        elif self.tickets is not None and delivery.ticket_id is not None:
            try:
                ticket = self.tickets.get_ticket(entry.tenant_id, delivery.ticket_id)
            except NotFound:
                reason = "no longer news: the ticket is gone"
            else:
                if not still_news(delivery.kind, ticket.status):
                    reason = f"no longer news: the ticket is {ticket.status}"
        if reason is None:
            delivery.release(now)
        else:
            delivery.skip(reason, now)

    def _appointment_news_gone(self, entry: LedgerEntry, delivery: Delivery) -> str | None:
        """Why a held message about an appointment is no longer news (it moved, was cancelled
        or checked in since it was planned); ``None`` when it still is."""
        if self.appointments is None or entry.appointment_id is None:
            return None
        try:
            appointment = self.appointments.get_appointment(entry.tenant_id, entry.appointment_id)
        except NotFound:
            return "no longer news: the appointment is gone"
        return appointment_news_gone(
            delivery.kind, entry.appointment_start, appointment.status, appointment.start
        )

    def _attempt(
        self, entry: LedgerEntry, delivery: Delivery, failure: list[DeliveryFailure]
    ) -> None:
        now = self.clock()
        if delivery.status is DeliveryStatus.FAILED:
            delivery.requeue(now)
        try:
            delivery.check_can_send()
            receipt = self.channel_for(delivery.channel.value).send(outbound(entry))
        except TransientFailure as error:
            failure.append(error)
            delivery.mark_failed(error.reason, self.clock())
        except PermanentFailure as error:
            failure.append(error)
            delivery.mark_failed(error.reason, self.clock(), retryable=False)
        else:
            delivery.mark_sent(receipt.provider_id, self.clock())
