"""The rows of the notification ledger (:mod:`infrastructure.notify.ledger`): a message's entry
and rendered body, a dead letter, and how each is read from and written to the table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from psycopg import sql

from application.paging import decode_cursor
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import InvalidInput, ResourceNotFound
from domain.messages import Channel, MessageKind

COLUMNS = (
    "message_id, tenant_id, ticket_id, customer_id, kind, channel, recipient, language,"
    " body::text, status, attempts, attempt_limit, provider_id, error, erased, created_at,"
    " sent_at, delivered_at, updated_at, not_before, appointment_id, appointment_start"
)
INSERT = (
    "INSERT INTO notification_ledger (message_id, tenant_id, ticket_id, customer_id, kind,"
    " channel, recipient, language, body, status, attempts, attempt_limit, provider_id, error,"
    " erased, created_at, sent_at, delivered_at, updated_at, not_before, appointment_id,"
    " appointment_start) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s,"
    " %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (message_id) DO NOTHING"
)
ROW_TYPES = (
    "uuid", "uuid", "uuid", "uuid", "text", "text", "text", "text", "jsonb", "text", "integer",
    "integer", "text", "text", "boolean", "timestamptz", "timestamptz", "timestamptz",
    "timestamptz", "timestamptz", "uuid", "timestamptz",
)  # fmt: skip
"""The SQL types of an :data:`INSERT`'s values, in its column order."""
INSERT_COLUMNS = INSERT[INSERT.index("(") + 1 : INSERT.index(")")]


def insert_live(rows: int) -> sql.Composed:
    """An insert of ``rows`` entries that adds only those whose message id is new and whose
    customer (if any) still has a profile, that is, is not erased; returns the ids added."""
    columns = sql.SQL(INSERT_COLUMNS)
    row = sql.SQL("({})").format(sql.SQL(", ").join(sql.SQL("%s::" + kind) for kind in ROW_TYPES))
    return sql.SQL(
        "INSERT INTO notification_ledger ({columns}) SELECT * FROM (VALUES {rows})"
        " AS entry ({columns}) WHERE entry.customer_id IS NULL OR EXISTS (SELECT 1 FROM"
        " customer_profiles profile WHERE profile.tenant_id = entry.tenant_id"
        " AND profile.customer_id = entry.customer_id)"
        " ON CONFLICT (message_id) DO NOTHING RETURNING message_id"
    ).format(columns=columns, rows=sql.SQL(", ").join([row] * rows))


SELECT = sql.SQL("SELECT {} FROM notification_ledger WHERE ").format(sql.SQL(COLUMNS))
SELECT_ONE = SELECT + sql.SQL("tenant_id = %s AND message_id = %s")
UPDATE = (
    "UPDATE notification_ledger SET recipient = %s, body = %s::jsonb, status = %s,"
    " attempts = %s, attempt_limit = %s, provider_id = %s, error = %s, erased = %s,"
    " sent_at = %s, delivered_at = %s, updated_at = %s WHERE tenant_id = %s AND message_id = %s"
)


class MessageBody(msgspec.Struct, frozen=True, omit_defaults=True):
    """A message's rendered parts, as the ledger keeps them until the customer is erased."""

    text: str
    subject: str | None = None
    html: str | None = None

    def encode(self) -> str:
        """The JSON text stored in :attr:`Delivery.body`."""
        return msgspec.json.encode(self).decode()

    @classmethod
    def decode(cls, body: str) -> MessageBody:
        """The parts from :attr:`Delivery.body`."""
        return msgspec.json.decode(body, type=cls)


@dataclass
class LedgerEntry:
    """One message of a tenant: its delivery state, and who and what it is about."""

    tenant_id: UUID
    delivery: Delivery
    language: str
    customer_id: UUID | None = None
    appointment_id: UUID | None = None
    """The appointment the message is about, if any (its delivery checks it is still news)."""
    appointment_start: datetime | None = None
    """The appointment's start when the message was planned: one that moved since is no news."""

    @property
    def message_id(self) -> UUID:
        return self.delivery.id

    @property
    def body(self) -> MessageBody | None:
        """The rendered parts; ``None`` once erased."""
        return MessageBody.decode(self.delivery.body) if self.delivery.body else None


class LedgerEntryNotFound(ResourceNotFound):
    """Raised when a tenant's ledger has no message with the id asked for."""

    code = "notification_not_found"


@dataclass(frozen=True)
class DeadLetter:
    """A dead message, as the operator's list across tenants shows it (no address, no body)."""

    message_id: UUID
    tenant_id: UUID
    kind: str
    channel: str
    attempts: int
    error: str | None
    updated_at: datetime


def entry_of(row: Sequence[Any]) -> LedgerEntry:
    (
        message_id,
        tenant_id,
        ticket_id,
        customer_id,
        kind,
        channel,
        recipient,
        language,
        body,
        status,
        attempts,
        attempt_limit,
        provider_id,
        error,
        erased,
        created_at,
        sent_at,
        delivered_at,
        updated_at,
        not_before,
        appointment_id,
        appointment_start,
    ) = row
    delivery = Delivery(
        id=message_id,
        kind=MessageKind(kind),
        channel=Channel(channel),
        created_at=created_at,
        address=recipient,
        body=body,
        ticket_id=ticket_id,
        status=DeliveryStatus(status),
        attempts=attempts,
        attempt_limit=attempt_limit,
        provider_id=provider_id,
        error=error,
        updated_at=updated_at,
        sent_at=sent_at,
        delivered_at=delivered_at,
        erased=erased,
        not_before=not_before,
    )
    return LedgerEntry(
        tenant_id, delivery, language, customer_id, appointment_id, appointment_start
    )


def cursor_key(entry: LedgerEntry) -> str:
    return f"{entry.delivery.created_at.isoformat()}|{entry.message_id}"


def decode_key(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, message_id = decode_cursor(cursor).split("|")
        return datetime.fromisoformat(created_at), UUID(message_id)
    except ValueError:
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page") from None


def write_entry(connection: Any, entry: LedgerEntry) -> None:
    d = entry.delivery
    connection.execute(
        UPDATE,
        (
            d.address,
            d.body,
            d.status.value,
            d.attempts,
            d.attempt_limit,
            d.provider_id,
            d.error,
            d.erased,
            d.sent_at,
            d.delivered_at,
            d.updated_at,
            entry.tenant_id,
            d.id,
        ),
    )


def row_of(entry: LedgerEntry) -> tuple[Any, ...]:
    """The values of an :data:`INSERT` of ``entry``."""
    d = entry.delivery
    return (
        d.id,
        entry.tenant_id,
        d.ticket_id,
        entry.customer_id,
        d.kind.value,
        d.channel.value,
        d.address,
        entry.language,
        d.body,
        d.status.value,
        d.attempts,
        d.attempt_limit,
        d.provider_id,
        d.error,
        d.erased,
        d.created_at,
        d.sent_at,
        d.delivered_at,
        d.updated_at or d.created_at,
        d.not_before,
        entry.appointment_id,
        entry.appointment_start,
    )
