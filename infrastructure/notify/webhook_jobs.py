"""Webhook deliveries on dramatiq: the ``deliver_webhook`` actor, and the dispatcher that turns a
published event into one recorded and queued delivery per subscription that wants it.

A delivery's id derives from (event id, subscription id), so a Kafka record read twice adds
nothing. The job posts only a ``queued`` delivery, under its row lock, so a job run twice (or
two at once) posts once. The body is the published envelope, signed as
:mod:`infrastructure.notify.webhooks` says. A timeout, an unreachable receiver, 408, 429 or 5xx
spend an attempt and raise dramatiq's ``Retry`` (the Retries middleware backs off); any other
answer, or the last attempt, makes the delivery ``dead``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import dramatiq
import httpx
import msgspec
import structlog

from application.delivery import PermanentFailure, TransientFailure
from domain.webhooks import (
    Subscription,
    WebhookDelivery,
    WebhookDeliveryNotFound,
    WebhookStatus,
    delivery_id,
)
from infrastructure.notify.http import DEFAULT_TIMEOUT, ERROR_TEXT_LIMIT, http_client, retry_after
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.notify.webhooks import (
    EVENT_ID_HEADER,
    IDEMPOTENCY_HEADER,
    SIGNATURE_HEADER,
    check_public,
    sign,
)

log = structlog.get_logger(__name__)

ACTOR = "deliver_webhook"
QUEUE = "webhooks"
_RETRYABLE_4XX = frozenset({408, 425, 429})


class Rejected(PermanentFailure):
    """The receiver's final answer (``response_code``), or a URL we refuse to call."""

    def __init__(self, reason: str, response_code: int | None = None) -> None:
        super().__init__(reason)
        self.response_code = response_code


class Unavailable(TransientFailure):
    """The receiver may take the delivery later."""

    def __init__(
        self, reason: str, response_code: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(reason, retry_after)
        self.response_code = response_code


class WebhookJobs:
    """Records, queues and posts webhook deliveries (see the module docstring)."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        store: PostgresWebhooks,
        *,
        attempt_limit: int,
        public_only: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        user_agent: str = "SmartQueue-Webhooks/1",
    ) -> None:
        """``public_only`` refuses receivers on loopback, private or link-local addresses (off
        only where receivers are local: development, tests)."""
        self.broker = broker
        self.store = store
        self.attempt_limit = attempt_limit
        self.public_only = public_only
        self.client = client or http_client(timeout)
        self.clock = clock
        self.user_agent = user_agent
        self.polled: dict[tuple[UUID, str], list[Subscription]] | None = None
        """Within :meth:`poll`, the subscriptions already asked for, by tenant and type."""
        self.actor = dramatiq.Actor(
            self.deliver,
            broker=broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            priority=0,
            options={},
        )

    # -- recording and queueing ----------------------------------------------------------------

    def dispatch(self, envelope: dict[str, Any]) -> int:
        """Record and queue ``envelope`` (a published event) for every subscription of its
        tenant that wants its type; how many deliveries were new."""
        tenant = envelope.get("tenant_id")
        event_type = envelope.get("event_type")
        if not tenant or not isinstance(event_type, str):
            return 0
        added = 0
        for subscription in self._wanting(UUID(str(tenant)), event_type):
            if self._record_and_queue(subscription, envelope)[1]:
                added += 1
        return added

    @contextmanager
    def poll(self) -> Iterator[None]:
        """Dispatch a consumer's poll of events: a tenant's subscriptions to a type are read
        once for the whole poll rather than for every event."""
        self.polled = {}
        try:
            yield
        finally:
            self.polled = None

    def _wanting(self, tenant_id: UUID, event_type: str) -> list[Subscription]:
        if self.polled is None:
            return self.store.wanting(tenant_id, event_type)
        key = (tenant_id, event_type)
        if key not in self.polled:
            self.polled[key] = self.store.wanting(tenant_id, event_type)
        return self.polled[key]

    def deliver_event(
        self, subscription: Subscription, envelope: dict[str, Any]
    ) -> WebhookDelivery:
        """Record and queue one event for one subscription (the port of the use case)."""
        return self._record_and_queue(subscription, envelope)[0]

    def _record_and_queue(
        self, subscription: Subscription, envelope: dict[str, Any]
    ) -> tuple[WebhookDelivery, bool]:
        event_id = str(envelope["event_id"])
        delivery = WebhookDelivery(
            id=delivery_id(event_id, subscription.id),
            subscription_id=subscription.id,
            event_id=event_id,
            event_type=str(envelope["event_type"]),
            created_at=self.clock(),
            attempt_limit=self.attempt_limit,
        )
        added = self.store.record(subscription.tenant_id, delivery, envelope)
        if not added:
            delivery = self.store.get_delivery(subscription.tenant_id, subscription.id, delivery.id)
            if delivery.status is not WebhookStatus.QUEUED:
                return delivery, False
        # Queued again when it was there and still queued: a crash may have come between the
        # two. The job posts only what is still queued, so never twice.
        self.enqueue(subscription.tenant_id, delivery.id)
        return delivery, added

    def enqueue(self, tenant_id: UUID, delivery: UUID) -> None:
        """Queue the post of a recorded delivery."""
        self.actor.send(str(tenant_id), str(delivery))

    def redeliver(self, tenant_id: UUID, delivery: UUID) -> WebhookDelivery:
        """Queue a settled delivery once more (a delivered one, or a dead one)."""
        with self.store.locked_delivery(tenant_id, delivery) as (entry, _, _):
            entry.redeliver(self.clock(), self.attempt_limit)
        self.enqueue(tenant_id, delivery)
        return entry

    # -- the job -------------------------------------------------------------------------------

    def deliver(self, tenant_id: str, delivery: str) -> None:
        """The job: post the delivery once; raise ``Retry`` after a transient failure with
        attempts left."""
        started = time.monotonic()
        failure: TransientFailure | None = None
        with structlog.contextvars.bound_contextvars(job=ACTOR, delivery_id=delivery):
            try:
                with self.store.locked_delivery(UUID(tenant_id), UUID(delivery)) as found:
                    entry, subscription, payload = found
                    skipped = entry.status is not WebhookStatus.QUEUED
                    if entry.status is WebhookStatus.FAILED:
                        entry.requeue(self.clock())
                        skipped = False
                    if not skipped:
                        failure = self._attempt(entry, subscription, payload)
            except WebhookDeliveryNotFound:
                log.warning("webhook.job", outcome="not in the log", tenant_id=tenant_id)
                return
            log.info(
                "webhook.job",
                tenant_id=tenant_id,
                event_type=entry.event_type,
                status=entry.status.value,
                attempts=entry.attempts,
                response_code=entry.response_code,
                skipped=skipped,
                error=entry.error,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
        if entry.status is WebhookStatus.FAILED and failure is not None:
            delay = int(failure.retry_after * 1000) if failure.retry_after else None
            raise dramatiq.Retry(failure.reason, delay=delay)

    def _attempt(
        self, entry: WebhookDelivery, subscription: Subscription, payload: dict[str, Any]
    ) -> TransientFailure | None:
        try:
            code = self.post(subscription, entry, payload)
        except Unavailable as error:
            entry.mark_failed(error.reason, error.response_code, self.clock())
            return error
        except Rejected as error:
            entry.mark_failed(error.reason, error.response_code, self.clock(), retryable=False)
            return None
        entry.mark_delivered(code, self.clock())
        return None

    def post(
        self, subscription: Subscription, entry: WebhookDelivery, payload: dict[str, Any]
    ) -> int:
        """POST the signed envelope; the 2xx status, else :class:`Unavailable` or
        :class:`Rejected`. Redirects are not followed."""
        url = subscription.url
        if self.public_only:
            try:
                check_public(url)
            except TransientFailure as error:
                raise Unavailable(error.reason) from None
            except PermanentFailure as error:
                raise Rejected(error.reason) from None
        body = msgspec.json.encode(payload)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": self.user_agent,
            SIGNATURE_HEADER: sign(subscription.secret, body, int(time.time())),
            EVENT_ID_HEADER: entry.event_id,
            IDEMPOTENCY_HEADER: str(entry.id),
            "SmartQueue-Event-Type": entry.event_type,
        }
        try:
            response = self.client.post(url, content=body, headers=headers)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
            raise Rejected(f"webhook: invalid URL ({error})") from None
        except httpx.TimeoutException as error:
            raise Unavailable(f"webhook: timed out ({type(error).__name__})") from None
        except httpx.TransportError as error:
            raise Unavailable(f"webhook: unreachable ({error})") from None
        code = response.status_code
        if 200 <= code < 300:
            return code
        reason = f"webhook: HTTP {code}: {response.text[:ERROR_TEXT_LIMIT]}"
        if code in _RETRYABLE_4XX or code >= 500:
            raise Unavailable(reason, code, retry_after(response))
        raise Rejected(reason, code)

    def close(self) -> None:
        """Release the HTTP connections."""
        self.client.close()
