"""Outbound webhooks: a tenant's subscriptions and the rules of one delivery's life.

A subscription names a URL, the published event types it wants (``Ticket.Called``) and the
secret its requests are signed with. One delivery per (event, subscription), with an id that a
redelivered Kafka record derives again: ``queued -> delivered``, or ``failed`` (a retry queues
it again) until the attempt limit makes it ``dead``. A tenant may redeliver any settled one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit
from uuid import UUID, uuid5

from domain.errors import Conflict, InvalidInput, ResourceNotFound

WEBHOOK_NAMESPACE = UUID("3c2b8a0e-6d5f-5e1a-9b7c-40e2f1d8a6b3")
"""uuid5 namespace of delivery ids; changing it would let in-flight events be delivered twice."""

PING_EVENT = "Webhook.Ping"
"""The event type of the signed ping ``POST .../test/`` sends (never published to Kafka)."""
MAX_EVENT_TYPES = 100
MAX_URL_LENGTH = 2000
SECRET_BYTES = 32
MIN_SECRET_LENGTH = 16


class WebhookError(Conflict):
    """Base of the webhooks' refusals."""

    code = "webhook_conflict"


class SubscriptionNotFound(ResourceNotFound):
    """Raised when the tenant has no webhook subscription with the id asked for."""

    code = "webhook_not_found"


class WebhookDeliveryNotFound(ResourceNotFound):
    """Raised when a subscription's log has no delivery with the id asked for."""

    code = "webhook_delivery_not_found"


class IllegalWebhookTransition(WebhookError):
    """Raised when a delivery is asked to move to a state its current one does not lead to."""

    code = "illegal_webhook_transition"


class WebhookStatus(StrEnum):
    """Where a delivery is on its way to the receiver."""

    QUEUED = "queued"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"


def delivery_id(event_id: str, subscription_id: UUID) -> UUID:
    """The id of ``event_id``'s delivery to ``subscription_id``: the same inputs, the same id."""
    return uuid5(WEBHOOK_NAMESPACE, f"{event_id}\x1f{subscription_id}")


def new_secret() -> str:
    """A signing secret for a subscription created without one (shown once)."""
    return "whsec_" + secrets.token_urlsafe(SECRET_BYTES)


def check_secret(secret: str) -> str:
    """The tenant's own secret, if long enough to sign with."""
    if len(secret) < MIN_SECRET_LENGTH or len(secret) > 200:
        raise InvalidInput(f"secret: between {MIN_SECRET_LENGTH} and 200 characters")
    return secret


def check_url(url: str, *, allow_http: bool) -> str:
    """A receiver's URL: absolute, https (plain http only where ``allow_http``), no credentials."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput(f"url: at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise InvalidInput("url: not a valid URL") from None
    allowed = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in allowed:
        raise InvalidInput(f"url: must be {' or '.join(allowed)}")
    if not parts.hostname:
        raise InvalidInput("url: has no host")
    if parts.username or parts.password:
        raise InvalidInput("url: must not carry credentials")
    if parts.fragment:
        raise InvalidInput("url: must not have a fragment")
    return url


def check_event_types(wanted: list[str], known: frozenset[str]) -> tuple[str, ...]:
    """The event types a subscription wants: at least one, each a published type."""
    if not wanted:
        raise InvalidInput("event_types: name at least one event type")
    if len(wanted) > MAX_EVENT_TYPES:
        raise InvalidInput(f"event_types: at most {MAX_EVENT_TYPES}")
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise InvalidInput(f"event_types: unknown event types {unknown}")
    return tuple(sorted(set(wanted)))


@dataclass
class Subscription:
    """A tenant's subscription: where to post which events, signed with ``secret``."""

    id: UUID
    tenant_id: UUID
    url: str
    event_types: tuple[str, ...]
    secret: str
    created_at: datetime
    updated_at: datetime
    active: bool = True

    def wants(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` goes to this subscription."""
        return self.active and event_type in self.event_types


@dataclass
class WebhookDelivery:
    """One event's delivery to one subscription, and its state. Methods check, then change."""

    id: UUID
    subscription_id: UUID
    event_id: str
    event_type: str
    created_at: datetime
    attempt_limit: int
    status: WebhookStatus = WebhookStatus.QUEUED
    attempts: int = 0
    response_code: int | None = None
    error: str | None = None
    updated_at: datetime | None = None
    delivered_at: datetime | None = None

    def _require(self, action: str, *allowed: WebhookStatus) -> None:
        if self.status not in allowed:
            raise IllegalWebhookTransition(f"cannot {action} a delivery that is {self.status}")

    def check_can_send(self) -> None:
        """Raise unless a job may post this delivery now."""
        self._require("send", WebhookStatus.QUEUED)

    def mark_delivered(self, response_code: int, at: datetime) -> None:
        """The receiver answered 2xx (one attempt spent)."""
        self.check_can_send()
        self.attempts += 1
        self.status = WebhookStatus.DELIVERED
        self.response_code = response_code
        self.error = None
        self.delivered_at = self.updated_at = at

    def mark_failed(
        self, error: str, response_code: int | None, at: datetime, *, retryable: bool = True
    ) -> None:
        """An attempt failed; ``dead`` when not retryable or out of attempts."""
        self.check_can_send()
        self.attempts += 1
        exhausted = self.attempts >= self.attempt_limit
        self.status = WebhookStatus.FAILED if retryable and not exhausted else WebhookStatus.DEAD
        self.response_code = response_code
        self.error = error
        self.updated_at = at

    def requeue(self, at: datetime) -> None:
        """Queue a failed delivery for its next attempt."""
        self._require("retry", WebhookStatus.FAILED)
        self.status = WebhookStatus.QUEUED
        self.updated_at = at

    def redeliver(self, at: datetime, extra_attempts: int) -> None:
        """The tenant asks for the event again: a settled delivery is queued with
        ``extra_attempts`` more attempts (a delivered one is sent once more)."""
        self._require("redeliver", WebhookStatus.DELIVERED, WebhookStatus.DEAD)
        self.attempt_limit = self.attempts + max(1, extra_attempts)
        self.status = WebhookStatus.QUEUED
        self.updated_at = at
