"""The staff's side of notifications: the tenant's delivery ledger, and a free message to a
ticket's customer.

A free message goes through the same ledger and delivery jobs as the notifier's: it is planned
for the customer's chosen channels (in their language, never in their quiet hours), recorded
once under an id derived from a generated event id, and queued. The staff member's words are a
value of the ``free_text`` template, never template text of their own. In the customer's quiet
hours it is refused (``no_contact``) rather than held like the notifier's messages: it is
written for now, and no rule could tell in the morning whether it still means anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol, TypeVar
from uuid import UUID, uuid4

import msgspec

from application.notifications import (
    NotificationFacts,
    PlannedMessage,
    plan_messages,
    recipient_of,
)
from application.paging import Page, PageRequest
from domain.delivery import DeliveryStatus
from domain.errors import Conflict, InvalidInput, NotFound
from domain.messages import Channel, MessageKind

E = TypeVar("E", DeliveryStatus, Channel, MessageKind)

FREE_TEXT_MAX_CHARS = 1000
"""The longest free message: a few SMS segments, a short email."""


class NotificationView(msgspec.Struct, frozen=True, kw_only=True):
    """One message of the ledger as staff see it: no address, no body."""

    id: UUID
    kind: str
    channel: str
    status: str
    attempts: int
    ticket_id: UUID | None
    appointment_id: UUID | None = None
    """The appointment an ``appointment_*`` message is about (its ``ticket_id`` is ``None``)."""
    created_at: datetime
    sent_at: datetime | None
    not_before: datetime | None = None
    """When a ``held`` message (planned in the customer's quiet hours) may go."""
    reason: str | None = None
    """Why a ``skipped`` message was never sent (it was no longer news when its time came)."""


@dataclass(frozen=True)
class NotificationFilter:
    """Which messages: every given condition holds."""

    ticket_id: UUID | None = None
    status: DeliveryStatus | None = None
    channel: Channel | None = None
    appointment_id: UUID | None = None
    kind: MessageKind | None = None

    @classmethod
    def parse(
        cls,
        ticket_id: UUID | None,
        status: str | None,
        channel: str | None,
        appointment_id: UUID | None = None,
        kind: str | None = None,
    ) -> NotificationFilter:
        """The filter from query values, or :class:`InvalidInput` naming the bad one."""
        return cls(
            ticket_id=ticket_id,
            status=_member(DeliveryStatus, status, "status"),
            channel=_member(Channel, channel, "channel"),
            appointment_id=appointment_id,
            kind=_member(MessageKind, kind, "kind"),
        )


def _member(kind: type[E], value: str | None, name: str) -> E | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        expected = ", ".join(member.value for member in kind)
        raise InvalidInput(f"{name} {value!r} is not one of: {expected}") from None


class NoContactForMessage(Conflict):
    """Raised when a ticket's customer cannot be reached: no customer, no chosen channel with an
    address, or their quiet hours."""

    code = "no_contact"


class NotificationOutbox(Protocol):
    """The ledger and the delivery jobs (PostgreSQL and dramatiq in ``infrastructure/notify``)."""

    def search(
        self, tenant_id: UUID, where: NotificationFilter, request: PageRequest
    ) -> Page[NotificationView]:
        """A page of the tenant's messages matching ``where``, newest first."""
        ...

    def record_and_queue(
        self,
        tenant_id: UUID,
        planned: PlannedMessage,
        ticket_id: UUID,
        customer_id: UUID,
        values: dict[str, object],
        now: datetime,
    ) -> None:
        """Render ``planned`` with ``values``, record it (once) and queue its delivery."""
        ...


@dataclass(frozen=True)
class SentMessage:
    """What a free message became: one ledger message per channel."""

    message_ids: tuple[UUID, ...]


class Notifications:
    """The staff's use cases on notifications."""

    def __init__(
        self,
        facts: NotificationFacts,
        outbox: NotificationOutbox,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.facts = facts
        self.outbox = outbox
        self.clock = clock

    def search(
        self, tenant_id: UUID, where: NotificationFilter, request: PageRequest
    ) -> Page[NotificationView]:
        """A page of the tenant's delivery ledger, newest first."""
        return self.outbox.search(tenant_id, where, request)

    def send_free_text(self, tenant_id: UUID, ticket_id: UUID, text: str) -> SentMessage:
        """Send ``text`` to the customer of ``ticket_id`` on each channel they chose."""
        text = text.strip()
        if not text:
            raise InvalidInput("text must not be empty")
        if len(text) > FREE_TEXT_MAX_CHARS:
            raise InvalidInput(f"text is longer than {FREE_TEXT_MAX_CHARS} characters")
        if any(ord(char) < 32 and char not in "\n\t" for char in text.replace("\r\n", "\n")):
            raise InvalidInput("text holds control characters; only new lines and tabs may")
        ticket = self.facts.get_ticket(tenant_id, ticket_id)
        if ticket.customer_id is None:
            raise NoContactForMessage(f"ticket {ticket.number} has no customer")
        try:
            customer = self.facts.get_customer(tenant_id, ticket.customer_id)
        except NotFound:
            raise NoContactForMessage(f"the customer of ticket {ticket.number} is gone") from None
        queue = self.facts.get_queue(tenant_id, ticket.queue_id)
        site = self.facts.get_site(tenant_id, queue.site_id)
        now = self.clock()
        recipient = recipient_of(customer)
        # A fresh event id per request: sending the same words twice is two messages.
        plan = plan_messages(MessageKind.FREE_TEXT, uuid4(), recipient, now, site.timezone)
        if not plan.messages or plan.held_back:
            reason = plan.held_back or "no chosen channel with an address"
            raise NoContactForMessage(f"the customer of ticket {ticket.number}: {reason}")
        values: dict[str, object] = {
            "number": ticket.number,
            "queue": queue.name,
            "site": site.name,
            "link": None,
            "message": text,
        }
        for planned in plan.messages:
            self.outbox.record_and_queue(tenant_id, planned, ticket.id, customer.id, values, now)
        return SentMessage(tuple(planned.message_id for planned in plan.messages))
