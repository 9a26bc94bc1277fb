"""Delivery jobs on dramatiq: one ``deliver`` message per ledger entry, on a Redis broker.

dramatiq delivers a message at least once, so the job is idempotent through the ledger: it sends
only an entry that is ``queued`` (or ``failed``, when this is its retry), under the entry's row
lock, so the same job run twice, or two runs at once, send once. The provider's answer is
recorded in the same transaction. A :class:`TransientFailure` spends an attempt and is raised
again as dramatiq's ``Retry``, so the Retries middleware runs the job again after an exponential
back-off with jitter (or after the provider's ``Retry-After``); a :class:`PermanentFailure`, or
the ledger's last attempt, makes the entry ``dead`` and ends the job.

Nothing here connects at import: :func:`delivery_broker` and :class:`DeliveryJobs` are built by
the process that uses them (the notifier to enqueue, ``smartqueue jobs`` to run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
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

from application.delivery import (
    Channel,
    DeliveryFailure,
    OutboundMessage,
    PermanentFailure,
    TransientFailure,
)
from domain.delivery import Delivery, DeliveryStatus
from infrastructure.notify.console import ConsoleChannel
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, LedgerEntryNotFound
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

QUEUE = "notifications"
ACTOR = "deliver"
NAMESPACE = "smartqueue-jobs"
"""The Redis key prefix of the broker's queues."""
SETTLED = frozenset({DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.DEAD})


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
    ) -> None:
        self.broker = broker
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

    def enqueue(self, tenant_id: UUID, message_id: UUID) -> None:
        """Queue the delivery of a recorded message (queueing it twice sends it once)."""
        self.actor.send(str(tenant_id), str(message_id))

    def channel_for(self, name: str) -> Channel:
        """The configured channel ``name``, else the console channel."""
        return self.channels.get(name) or self.fallback

    def deliver(self, tenant_id: str, message_id: str) -> None:
        """The job: send the entry once; raise ``Retry`` for a transient failure with attempts
        left, so dramatiq runs it again later."""
        started = time.monotonic()
        failure: list[DeliveryFailure] = []
        skipped: list[DeliveryStatus] = []
        with structlog.contextvars.bound_contextvars(job=ACTOR, message_id=message_id):
            try:
                with self.ledger.locked(UUID(tenant_id), UUID(message_id)) as entry:
                    delivery = entry.delivery
                    if delivery.status in SETTLED:
                        skipped.append(delivery.status)
                    else:
                        self._attempt(entry, delivery, failure)
            except LedgerEntryNotFound:
                # Another database's message, or one deleted since: nothing to send, ever.
                log.warning("notification.job", outcome="not in the ledger", tenant_id=tenant_id)
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
