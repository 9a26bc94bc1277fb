"""Webhook subscriptions and their delivery log in PostgreSQL (revision 0011).

Both tables are write-side tables under forced row-level security: every statement runs for
one tenant. A delivery moves under a row lock (:meth:`PostgresWebhooks.locked_delivery`), so two
runs of one job take turns and the second sees what the first did.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from domain.errors import InvalidInput
from domain.webhooks import (
    Subscription,
    SubscriptionNotFound,
    WebhookDelivery,
    WebhookDeliveryNotFound,
    WebhookStatus,
)
from infrastructure.postgres.tenancy import set_tenant

SUBSCRIPTION_COLUMNS = (
    "subscription_id, tenant_id, url, event_types, secret, created_at, updated_at, active"
)
DELIVERY_COLUMNS = (
    "delivery_id, subscription_id, event_id, event_type, created_at, attempt_limit, status,"
    " attempts, response_code, error, updated_at, delivered_at"
)


_COLUMNS = {
    "subscription": sql.SQL(SUBSCRIPTION_COLUMNS),
    "delivery": sql.SQL(DELIVERY_COLUMNS),
    "d_delivery": sql.SQL(", ".join("d." + c.strip() for c in DELIVERY_COLUMNS.split(","))),
    "s_subscription": sql.SQL(", ".join("s." + c.strip() for c in SUBSCRIPTION_COLUMNS.split(","))),
}


def _query(text: str) -> sql.Composed:
    """``text`` with ``{subscription}``, ``{delivery}`` (and their aliased forms) as columns."""
    return sql.SQL(text).format(**_COLUMNS)


def _subscription(row: Sequence[Any]) -> Subscription:
    sid, tenant_id, url, event_types, secret, created_at, updated_at, active = row
    return Subscription(
        sid, tenant_id, url, tuple(event_types), secret, created_at, updated_at, active
    )


def _delivery(row: Sequence[Any]) -> WebhookDelivery:
    values = list(row)
    values[6] = WebhookStatus(values[6])
    return WebhookDelivery(*values)


def _key(cursor: str | None) -> tuple[datetime, UUID] | None:
    if cursor is None:
        return None
    try:
        moment, item = decode_cursor(cursor).split("|")
        return datetime.fromisoformat(moment), UUID(item)
    except ValueError:
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page") from None


def _page(items: list[Any], request: PageRequest, key: Any) -> Page[Any]:
    shown = items[: request.limit]
    more = len(items) > request.limit
    return Page(shown, encode_cursor(key(shown[-1])) if more else None)


class PostgresWebhooks:
    """Every tenant's subscriptions and deliveries, on the process's pool."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    # -- subscriptions -------------------------------------------------------------------------

    def add(self, subscription: Subscription) -> None:
        """Store a new subscription."""
        s = subscription
        with self.pool.connection() as connection:
            set_tenant(connection, s.tenant_id)
            connection.execute(
                _query(
                    "INSERT INTO webhook_subscriptions ({subscription})"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                ),
                (s.id, s.tenant_id, s.url, list(s.event_types), s.secret, s.created_at,
                 s.updated_at, s.active),
            )  # fmt: skip

    def get(self, tenant_id: UUID, subscription_id: UUID) -> Subscription:
        """The tenant's subscription, or :class:`SubscriptionNotFound`."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                _query(
                    "SELECT {subscription} FROM webhook_subscriptions"
                    " WHERE tenant_id = %s AND subscription_id = %s"
                ),
                (tenant_id, subscription_id),
            ).fetchone()
        if row is None:
            raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")
        return _subscription(row)

    def list(self, tenant_id: UUID, request: PageRequest) -> Page[Subscription]:
        """The tenant's subscriptions, oldest first."""
        after = _key(request.cursor)
        condition = " AND (created_at, subscription_id) > (%s, %s)" if after else ""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                _query("SELECT {subscription} FROM webhook_subscriptions WHERE tenant_id = %s")
                + sql.SQL(condition)
                + sql.SQL(" ORDER BY created_at, subscription_id LIMIT %s"),
                (tenant_id, *(after or ()), request.limit + 1),
            ).fetchall()
        items = [_subscription(row) for row in rows]
        return _page(items, request, lambda s: f"{s.created_at.isoformat()}|{s.id}")

    def wanting(self, tenant_id: UUID, event_type: str) -> list[Subscription]:
        """The tenant's active subscriptions to ``event_type``."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                _query(
                    "SELECT {subscription} FROM webhook_subscriptions"
                    " WHERE tenant_id = %s AND active AND %s = ANY(event_types)"
                ),
                (tenant_id, event_type),
            ).fetchall()
        return [_subscription(row) for row in rows]

    def update(self, subscription: Subscription) -> None:
        """Store a changed subscription."""
        s = subscription
        with self.pool.connection() as connection:
            set_tenant(connection, s.tenant_id)
            cursor = connection.execute(
                "UPDATE webhook_subscriptions SET url = %s, event_types = %s, secret = %s,"
                " active = %s, updated_at = %s WHERE tenant_id = %s AND subscription_id = %s",
                (s.url, list(s.event_types), s.secret, s.active, s.updated_at, s.tenant_id, s.id),
            )
        if cursor.rowcount != 1:
            raise SubscriptionNotFound(f"no webhook subscription {s.id}")

    def remove(self, tenant_id: UUID, subscription_id: UUID) -> None:
        """Delete a subscription and its delivery log."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            cursor = connection.execute(
                "DELETE FROM webhook_subscriptions WHERE tenant_id = %s AND subscription_id = %s",
                (tenant_id, subscription_id),
            )
        if cursor.rowcount != 1:
            raise SubscriptionNotFound(f"no webhook subscription {subscription_id}")

    # -- deliveries ----------------------------------------------------------------------------

    def record(self, tenant_id: UUID, delivery: WebhookDelivery, payload: dict[str, Any]) -> bool:
        """Add a delivery unless its id is there already; whether it was added."""
        d = delivery
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            cursor = connection.execute(
                "INSERT INTO webhook_deliveries (delivery_id, tenant_id, subscription_id,"
                " event_id, event_type, payload, status, attempts, attempt_limit, created_at,"
                " updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (delivery_id) DO NOTHING",
                (d.id, tenant_id, d.subscription_id, d.event_id, d.event_type, Jsonb(payload),
                 d.status.value, d.attempts, d.attempt_limit, d.created_at, d.created_at),
            )  # fmt: skip
            return cursor.rowcount == 1

    def deliveries(
        self, tenant_id: UUID, subscription_id: UUID, request: PageRequest
    ) -> Page[WebhookDelivery]:
        """A subscription's deliveries, newest first."""
        before = _key(request.cursor)
        condition = " AND (created_at, delivery_id) < (%s, %s)" if before else ""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                _query(
                    "SELECT {delivery} FROM webhook_deliveries"
                    " WHERE tenant_id = %s AND subscription_id = %s"
                )
                + sql.SQL(condition)
                + sql.SQL(" ORDER BY created_at DESC, delivery_id DESC LIMIT %s"),
                (tenant_id, subscription_id, *(before or ()), request.limit + 1),
            ).fetchall()
        items = [_delivery(row) for row in rows]
        return _page(items, request, lambda d: f"{d.created_at.isoformat()}|{d.id}")

    def get_delivery(
        self, tenant_id: UUID, subscription_id: UUID, delivery_id: UUID
    ) -> WebhookDelivery:
        """One delivery of a subscription, or :class:`WebhookDeliveryNotFound`."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                _query(
                    "SELECT {delivery} FROM webhook_deliveries"
                    " WHERE tenant_id = %s AND subscription_id = %s AND delivery_id = %s"
                ),
                (tenant_id, subscription_id, delivery_id),
            ).fetchone()
        if row is None:
            raise WebhookDeliveryNotFound(f"no webhook delivery {delivery_id}")
        return _delivery(row)

    @contextmanager
    def locked_delivery(
        self, tenant_id: UUID, delivery_id: UUID
    ) -> Iterator[tuple[WebhookDelivery, Subscription, dict[str, Any]]]:
        """The delivery, its subscription and payload under a row lock for the block; the
        delivery is written back when the block ends (nothing is written when it raises)."""
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                _query(
                    "SELECT {d_delivery}, d.payload, {s_subscription}"
                    " FROM webhook_deliveries d JOIN webhook_subscriptions s"
                    " ON s.tenant_id = d.tenant_id AND s.subscription_id = d.subscription_id"
                    " WHERE d.tenant_id = %s AND d.delivery_id = %s FOR UPDATE OF d"
                ),
                (tenant_id, delivery_id),
            ).fetchone()
            if row is None:
                raise WebhookDeliveryNotFound(f"no webhook delivery {delivery_id}")
            delivery = _delivery(row[:12])
            payload = row[12]
            subscription = _subscription(row[13:])
            yield delivery, subscription, payload
            d = delivery
            connection.execute(
                "UPDATE webhook_deliveries SET status = %s, attempts = %s, attempt_limit = %s,"
                " response_code = %s, error = %s, updated_at = %s, delivered_at = %s"
                " WHERE tenant_id = %s AND delivery_id = %s",
                (d.status.value, d.attempts, d.attempt_limit, d.response_code, d.error,
                 d.updated_at, d.delivered_at, tenant_id, d.id),
            )  # fmt: skip
