"""Webhooks: a tenant's subscriptions to published events, their delivery log, a signed test
ping and redelivery.

No event is stored here: subscriptions are a write-side table (the secret must never travel in
an event), behind :class:`SubscriptionStore`; sending is :class:`WebhookSender`'s (dramatiq
jobs in production).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID, uuid4

import msgspec

from application.context import CommandContext
from application.paging import Page, PageRequest, map_page
from domain.errors import InvalidInput
from domain.webhooks import (
    PING_EVENT,
    Subscription,
    WebhookDelivery,
    check_event_types,
    check_secret,
    check_url,
    new_secret,
)


class SubscriptionView(msgspec.Struct, frozen=True, kw_only=True):
    """A subscription as the tenant reads it: never its secret."""

    id: UUID
    url: str
    event_types: list[str]
    active: bool
    created_at: datetime
    updated_at: datetime


class CreatedSubscription(SubscriptionView, frozen=True, kw_only=True):
    """A new subscription, with its secret: the only time it is shown."""

    secret: str


class WebhookDeliveryView(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of a subscription's delivery log."""

    id: UUID
    event_id: str
    event_type: str
    status: str
    attempts: int
    response_code: int | None
    error: str | None
    created_at: datetime
    updated_at: datetime | None
    delivered_at: datetime | None


class SubscriptionStore(Protocol):
    """Subscriptions and their delivery log, per tenant."""

    def add(self, subscription: Subscription) -> None: ...

    def get(self, tenant_id: UUID, subscription_id: UUID) -> Subscription: ...

    def list(self, tenant_id: UUID, request: PageRequest) -> Page[Subscription]: ...

    def update(self, subscription: Subscription) -> None: ...

    def remove(self, tenant_id: UUID, subscription_id: UUID) -> None: ...

    def deliveries(
        self, tenant_id: UUID, subscription_id: UUID, request: PageRequest
    ) -> Page[WebhookDelivery]: ...

    def get_delivery(
        self, tenant_id: UUID, subscription_id: UUID, delivery_id: UUID
    ) -> WebhookDelivery: ...


class WebhookSender(Protocol):
    """Records and queues deliveries (each sent at most once per queueing)."""

    def deliver_event(
        self, subscription: Subscription, envelope: dict[str, object]
    ) -> WebhookDelivery: ...

    def redeliver(self, tenant_id: UUID, delivery_id: UUID) -> WebhookDelivery: ...


def _tenant(context: CommandContext) -> UUID:
    if context.tenant_id is None:
        raise InvalidInput("webhooks belong to a tenant")
    return context.tenant_id


def subscription_view(subscription: Subscription) -> SubscriptionView:
    """What the tenant sees of a subscription."""
    return SubscriptionView(
        id=subscription.id,
        url=subscription.url,
        event_types=list(subscription.event_types),
        active=subscription.active,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
    )


def delivery_view(delivery: WebhookDelivery) -> WebhookDeliveryView:
    """What the tenant sees of a delivery (not the payload: the event contract describes it)."""
    return WebhookDeliveryView(
        id=delivery.id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=delivery.status.value,
        attempts=delivery.attempts,
        response_code=delivery.response_code,
        error=delivery.error,
        created_at=delivery.created_at,
        updated_at=delivery.updated_at,
        delivered_at=delivery.delivered_at,
    )


class Webhooks:
    """The tenant's webhook subscriptions and their deliveries."""

    def __init__(
        self,
        store: SubscriptionStore,
        sender: WebhookSender,
        event_types: frozenset[str],
        *,
        allow_http: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """``event_types`` are the published ones a subscription may name; ``allow_http``
        admits plain-http URLs (development, where receivers are local)."""
        self.store = store
        self.sender = sender
        self.event_types = event_types
        self.allow_http = allow_http
        self.clock = clock

    def create_subscription(
        self,
        context: CommandContext,
        url: str,
        event_types: list[str],
        secret: str | None = None,
    ) -> CreatedSubscription:
        """Subscribe ``url`` to ``event_types``; a secret is generated when none is given."""
        now = self.clock()
        subscription = Subscription(
            id=uuid4(),
            tenant_id=_tenant(context),
            url=check_url(url, allow_http=self.allow_http),
            event_types=check_event_types(event_types, self.event_types),
            secret=check_secret(secret) if secret is not None else new_secret(),
            created_at=now,
            updated_at=now,
        )
        self.store.add(subscription)
        view = subscription_view(subscription)
        return CreatedSubscription(**msgspec.structs.asdict(view), secret=subscription.secret)

    def update_subscription(
        self,
        context: CommandContext,
        subscription_id: UUID,
        *,
        url: str | None = None,
        event_types: list[str] | None = None,
        secret: str | None = None,
        active: bool | None = None,
    ) -> SubscriptionView:
        """Change only what is given."""
        subscription = self.store.get(_tenant(context), subscription_id)
        if url is not None:
            subscription.url = check_url(url, allow_http=self.allow_http)
        if event_types is not None:
            subscription.event_types = check_event_types(event_types, self.event_types)
        if secret is not None:
            subscription.secret = check_secret(secret)
        if active is not None:
            subscription.active = active
        subscription.updated_at = self.clock()
        self.store.update(subscription)
        return subscription_view(subscription)

    def delete_subscription(self, context: CommandContext, subscription_id: UUID) -> None:
        """Remove the subscription and its delivery log."""
        self.store.remove(_tenant(context), subscription_id)

    def get_subscription(self, tenant_id: UUID, subscription_id: UUID) -> SubscriptionView:
        """One subscription, without its secret."""
        return subscription_view(self.store.get(tenant_id, subscription_id))

    def list_subscriptions(self, tenant_id: UUID, request: PageRequest) -> Page[SubscriptionView]:
        """The tenant's subscriptions, oldest first."""
        return map_page(self.store.list(tenant_id, request), subscription_view)

    def list_deliveries(
        self, tenant_id: UUID, subscription_id: UUID, request: PageRequest
    ) -> Page[WebhookDeliveryView]:
        """A subscription's delivery log, newest first."""
        self.store.get(tenant_id, subscription_id)
        return map_page(self.store.deliveries(tenant_id, subscription_id, request), delivery_view)

    def send_test(self, context: CommandContext, subscription_id: UUID) -> WebhookDeliveryView:
        """Queue a signed ``Webhook.Ping`` to the subscription (whatever types it wants)."""
        subscription = self.store.get(_tenant(context), subscription_id)
        now = self.clock()
        ping_id = f"ping:{uuid4()}"
        envelope: dict[str, object] = {
            "event_id": ping_id,
            "event_type": PING_EVENT,
            "tenant_id": str(_tenant(context)),
            "occurred_at": now.isoformat(),
            "data": {"subscription_id": str(subscription.id)},
        }
        return delivery_view(self.sender.deliver_event(subscription, envelope))

    def redeliver(
        self, context: CommandContext, subscription_id: UUID, delivery_id: UUID
    ) -> WebhookDeliveryView:
        """Send a delivered or dead delivery's event again."""
        self.store.get_delivery(_tenant(context), subscription_id, delivery_id)
        return delivery_view(self.sender.redeliver(_tenant(context), delivery_id))
