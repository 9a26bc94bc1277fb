"""What a live socket is sent: snapshots, changes and heartbeats (msgspec structs; the
AsyncAPI document, the display pages and the "my ticket" page read these shapes)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from application.agent_board import BoardEntry
from application.public_views import PublicTicket
from application.views import TicketView

HEARTBEAT_SECONDS = 5.0


class LiveTicket(msgspec.Struct, kw_only=True):
    """A ticket as a hall display shows it: no customer."""

    id: UUID
    number: str
    status: str
    queue_id: UUID
    counter: str | None
    called_at: datetime | None
    position: int | None
    """1-based, for a waiting ticket only."""
    eta_seconds: int | None = None
    """For a waiting ticket: the estimated wait when the message was read, the same number
    ``GET tickets/{id}/`` gives then; ``null`` when nobody serves the queue."""

    @classmethod
    def of(cls, ticket: TicketView) -> LiveTicket:
        return cls(
            id=ticket.id,
            number=ticket.number,
            status=ticket.status,
            queue_id=ticket.queue_id,
            counter=ticket.counter,
            called_at=ticket.called_at,
            position=ticket.position,
            eta_seconds=ticket.eta_seconds,
        )


class QueueSummary(msgspec.Struct, kw_only=True, omit_defaults=True):
    """A queue's waiting count and the next numbers to be called; its name, status and site in
    snapshots and after queue events (absent fields are unchanged)."""

    id: UUID
    waiting: int
    next: list[str]
    name: str | None = None
    status: str | None = None
    site_id: UUID | None = None


class LiveAgent(msgspec.Struct, kw_only=True):
    """An agent as their own screen shows them."""

    id: UUID
    name: str
    status: str
    status_since: datetime
    counter: str | None
    queue_ids: list[UUID]
    ticket_id: UUID | None
    ticket_number: str | None
    ticket_status: str | None
    served_today: int

    @classmethod
    def of(cls, entry: BoardEntry) -> LiveAgent:
        ticket = entry.ticket
        return cls(
            id=entry.agent_id,
            name=entry.name,
            status=entry.status,
            status_since=entry.status_since,
            counter=entry.counter,
            queue_ids=entry.queue_ids,
            ticket_id=ticket.id if ticket else None,
            ticket_number=ticket.number if ticket else None,
            ticket_status=ticket.status if ticket else None,
            served_today=entry.served_today,
        )


class QueueSnapshot(msgspec.Struct, kw_only=True, tag="snapshot", tag_field="type"):
    """The first message on a queue socket."""

    as_of: int
    queue: QueueSummary
    tickets: list[LiveTicket]
    """Tickets of the queue now called, serving or paused, and its latest calls of the day."""


class AgentSnapshot(msgspec.Struct, kw_only=True, tag="snapshot", tag_field="type"):
    """The first message on an agent socket."""

    as_of: int
    agent: LiveAgent
    queues: list[QueueSummary]


class Change(msgspec.Struct, kw_only=True, omit_defaults=True, tag="change", tag_field="type"):
    """What one event changed, read at ``as_of`` (never older than the event)."""

    as_of: int
    position: int
    """The event's log position."""
    event: str
    """The event type, e.g. ``Ticket.Called``."""
    queue: QueueSummary | None = None
    ticket: LiveTicket | None = None
    agent: LiveAgent | None = None


class Heartbeat(msgspec.Struct, kw_only=True, tag="heartbeat", tag_field="type"):
    """Sent by every display gateway every few seconds, to every socket: changes flow."""

    at: datetime
    position: int
    """The highest log position the gateway has handled (0 before its first event)."""


class PublicSnapshot(msgspec.Struct, kw_only=True, tag="snapshot", tag_field="type"):
    """The first message on a customer's ticket socket: their ticket as it is now."""

    ticket: PublicTicket


class PublicChange(msgspec.Struct, kw_only=True, tag="change", tag_field="type"):
    """The customer's ticket changed: the whole ticket again, never another ticket.

    Sent when its position, status or counter, or its queue's waiting count, moved."""

    ticket: PublicTicket


class ChangeHeader(msgspec.Struct):
    """What a socket reads of a published message to decide whether to forward it."""

    type: str
    as_of: int = 0
