"""Which messages a ticket's event causes, for whom, on which channels, in which language.

The notifier (``infrastructure/notify/notifier.py``) reads events from Kafka, loads what they
are about and asks :func:`plan_messages`; what comes back is recorded in the delivery ledger and
queued for delivery. Each message's id derives from the event, the channel, the customer and
the kind, so planning the same event again (a redelivered record, a restarted notifier) names
the same ledger entries and sends nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from application.catalogue import Catalogue
from application.customers import Customers
from application.queues import Queues
from application.tickets import Tickets
from application.views import CustomerView, QueueView, SiteView, TicketView
from domain.delivery import message_id
from domain.messages import Channel, MessageKind, QuietHours, pick_language
from domain.tickets import TicketStatus

TICKET_EVENT_KINDS: dict[str, MessageKind] = {
    "Ticket.Issued": MessageKind.TICKET_ISSUED,
    "Ticket.Called": MessageKind.CALLED,
    "Ticket.Recalled": MessageKind.RECALLED,
    "Ticket.Transferred": MessageKind.TRANSFERRED,
    "Ticket.MarkedNoShow": MessageKind.NO_SHOW,
    "Ticket.Cancelled": MessageKind.CANCELLED,
    "Ticket.Completed": MessageKind.FEEDBACK_REQUEST,
}
"""The ticket events that tell the ticket's customer something, and what."""

STILL_NEWS_WHILE: dict[MessageKind, frozenset[str]] = {
    MessageKind.TICKET_ISSUED: frozenset({TicketStatus.WAITING}),
    MessageKind.TRANSFERRED: frozenset({TicketStatus.WAITING}),
    MessageKind.TURN_NEAR: frozenset({TicketStatus.WAITING}),
    MessageKind.CALLED: frozenset({TicketStatus.CALLED}),
    MessageKind.RECALLED: frozenset({TicketStatus.CALLED}),
}
"""The ticket statuses in which a kind's message still tells the customer something; a kind
not listed is always news (a no-show, a cancellation)."""


def still_news(kind: MessageKind, ticket_status: str) -> bool:
    """Whether a message of ``kind`` is worth sending about a ticket now ``ticket_status``: a
    notifier that fell behind must not tell a customer being served to go to the counter."""
    statuses = STILL_NEWS_WHILE.get(kind)
    return statuses is None or ticket_status in statuses


def event_uuid(aggregate_id: UUID, aggregate_version: int) -> UUID:
    """A UUID for the event ``aggregate_version`` of ``aggregate_id`` (the contract's
    ``event_id`` names it as ``{aggregate_id}:{version}``), stable wherever it is derived."""
    return uuid5(aggregate_id, str(aggregate_version))


def stint_id(ticket_id: UUID, transfers: int) -> UUID:
    """The key of a ticket's stint in one queue: issued, it is in stint 0; each transfer opens
    the next. "Your turn is near" is keyed by it, so it goes out once per stint."""
    return uuid5(ticket_id, f"stint:{transfers}")


@dataclass(frozen=True)
class Recipient:
    """A customer as the notifier needs them: contact details and notification preferences."""

    customer_id: UUID
    email: str | None
    phone: str | None
    channels: tuple[str, ...]
    """The channels the customer chose; none chosen means no message."""
    language: str | None
    quiet_hours: tuple[str, str] | None
    """``(start, end)`` as ``HH:MM`` on the site's clock."""
    push_token: str | None = None
    """The device registration token of the customer's app."""

    def address(self, channel: Channel) -> str | None:
        """Where ``channel`` reaches the customer, if they gave it."""
        if channel is Channel.EMAIL:
            return self.email
        if channel in (Channel.SMS, Channel.WHATSAPP):
            return self.phone
        if channel is Channel.PUSH:
            return self.push_token
        return None


@dataclass(frozen=True)
class PlannedMessage:
    """One message to record and send."""

    message_id: UUID
    kind: MessageKind
    channel: Channel
    address: str
    language: str
    not_before: datetime | None = None
    """Set when the message is held until then (the end of the customer's quiet hours)."""


@dataclass(frozen=True)
class Plan:
    """The messages an event causes, and why they wait when they do."""

    messages: tuple[PlannedMessage, ...]
    held_back: str | None = None
    """Set when the customer's preferences hold every message back (``quiet hours``)."""
    not_before: datetime | None = None
    """When held messages may go: the end of the quiet hours, on the site's clock."""


def plan_messages(
    kind: MessageKind,
    event_id: UUID,
    recipient: Recipient,
    now: datetime,
    timezone: str,
    site_language: str | None = None,
) -> Plan:
    """The messages of ``kind`` that the event ``event_id`` sends ``recipient`` at ``now``:
    one per chosen channel the customer gave an address for, in their language (else the
    site's, else the default). During their quiet hours (on the site's clock, in
    ``timezone``) the messages are held until the hours end; whether they are still news then
    is for the delivery to check (:func:`still_news`)."""
    not_before = None
    if recipient.quiet_hours is not None:
        start, end = recipient.quiet_hours
        quiet = QuietHours.parse(start, end, timezone)
        if quiet.contains(now):
            not_before = quiet.ends_after(now)
    language = pick_language(recipient.language, site_language)
    messages = []
    for name in recipient.channels:
        channel = Channel(name)
        address = recipient.address(channel)
        if address is None:
            continue
        messages.append(
            PlannedMessage(
                message_id=message_id(event_id, channel, str(recipient.customer_id), kind.value),
                kind=kind,
                channel=channel,
                address=address,
                language=language,
                not_before=not_before,
            )
        )
    held_back = "quiet hours" if not_before is not None else None
    return Plan(tuple(messages), held_back=held_back, not_before=not_before)


@dataclass(frozen=True)
class NotificationFacts:
    """What the notifier reads about a ticket's event, from the contexts that own it: the
    ticket and who is next (tickets), its queue (queues), the site (catalogue), the customer."""

    tickets: Tickets
    queues: Queues
    catalogue: Catalogue
    customers: Customers

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView:
        return self.tickets.get_ticket(tenant_id, ticket_id)

    def get_next_waiting(self, tenant_id: UUID, queue_id: UUID, count: int) -> list[TicketView]:
        return self.tickets.get_next_waiting(tenant_id, queue_id, count)

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView:
        return self.queues.get_queue(tenant_id, queue_id)

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        return self.catalogue.get_site(tenant_id, site_id)

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView:
        return self.customers.get_customer(tenant_id, customer_id)


def recipient_of(customer: CustomerView) -> Recipient:
    """The customer's contact details and preferences, as planning needs them."""
    quiet = customer.preferences.quiet_hours
    return Recipient(
        customer_id=customer.id,
        email=customer.email,
        phone=customer.phone,
        channels=tuple(customer.preferences.channels),
        language=customer.preferences.language,
        quiet_hours=(quiet.start, quiet.end) if quiet else None,
        push_token=customer.push_token,
    )
