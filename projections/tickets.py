"""The tickets read model: every ticket as lists show it, and each queue's waiting line.

Two read models of DESIGN §3 from one projection, because they share their events:

- *tickets list*: one row per ticket, updated by its own events (``Ticket.*``);
- *ticket positions*: the waiting line of each queue, entry for entry as the ``Queue`` aggregate
  keeps it (``Queue.TicketJoined`` / ``TicketLeft`` / ``Renumbered`` / ``TicketMovedBack``),
  and each queue's current policy (``Queue.Opened`` / ``Reconfigured``). Every policy is a
  static sort key (``domain/policies.py``), so a ticket's position is 1 + the entries of its
  queue whose key sorts before its own, counted at query time: a reconfigured policy reorders
  every line at once, and a call moves everybody up without rewriting a row.

Mirroring the queue's own entries (rather than re-deriving ranks from tickets) is what makes
positions equal ``Queue.position_of``: a transfer placed ``first``, ``last`` or ``sorted`` and a
renumbering carry the ranks the aggregate chose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from uuid import UUID

from domain.ownership import tenant_of
from domain.queues import Queue
from domain.tickets import Ticket, TicketStatus
from projections.base import Handler, Projection


@dataclass(frozen=True, slots=True)
class TicketRow:
    """One ticket as the list shows it (``called_at`` is the latest call or recall)."""

    ticket_id: UUID
    tenant_id: UUID
    number: str
    status: str
    queue_id: UUID
    service_id: UUID
    priority: int
    channel: str
    customer_id: UUID | None
    agent_id: UUID | None
    counter: str | None
    issued_at: datetime
    first_called_at: datetime | None
    called_at: datetime | None
    service_started_at: datetime | None
    finished_at: datetime | None
    recalls: int
    transfers: int


@dataclass(frozen=True, slots=True)
class LineEntry:
    """One entry of a queue's waiting line, with every policy's sort inputs.

    ``priority_order`` is ``-priority``: each policy's key is then ascending in every column
    (fifo ``rank``; priority ``priority_order, rank``; sla ``deadline, priority_order, rank``).
    """

    queue_id: UUID
    ticket_id: UUID
    tenant_id: UUID
    rank: float
    priority_order: int
    deadline: datetime


@dataclass(frozen=True, slots=True)
class QueueRow:
    """What positions need of a queue: its site and its current policy."""

    queue_id: UUID
    tenant_id: UUID
    site_id: UUID
    policy: str


TicketChange = Callable[[TicketRow], TicketRow]


class TicketsView(Protocol):
    """Where the tickets read model goes (PostgreSQL in production)."""

    def add_queue(self, queue: QueueRow) -> None:
        """A queue opened."""

    def set_policy(self, queue_id: UUID, policy: str) -> None:
        """A queue now orders its line by ``policy``."""

    def add_ticket(self, ticket: TicketRow) -> None:
        """A ticket was issued."""

    def change_ticket(self, ticket_id: UUID, change: TicketChange) -> None:
        """Replace the ticket's row by ``change(row)``; nothing if the row is unknown."""

    def join_line(self, entry: LineEntry) -> None:
        """A ticket joined a queue's waiting line (or its entry there was replaced)."""

    def leave_line(self, queue_id: UUID, ticket_id: UUID) -> None:
        """A ticket left a queue's waiting line (called, cancelled, transferred away)."""

    def rerank(self, queue_id: UUID, ticket_id: UUID, rank: float) -> None:
        """A waiting ticket's rank changed (the queue renumbered its line)."""


def _tenant(event: Any) -> UUID:
    tenant_id = tenant_of(event, dict(getattr(event, "metadata", None) or {}))
    if tenant_id is None:
        raise ValueError(f"{type(event).__qualname__} {event.originator_id} names no tenant")
    return tenant_id


# -- queues and their lines -----------------------------------------------------------------------


def _queue_opened(_: Any, event: Queue.Opened, position: int, view: TicketsView) -> None:
    view.add_queue(QueueRow(event.originator_id, event.tenant_id, event.site_id, event.policy))


def _reconfigured(_: Any, event: Queue.Reconfigured, position: int, view: TicketsView) -> None:
    view.set_policy(event.originator_id, event.policy)


def _joined(_: Any, event: Queue.TicketJoined, position: int, view: TicketsView) -> None:
    view.join_line(
        LineEntry(
            queue_id=event.originator_id,
            ticket_id=event.ticket_id,
            tenant_id=_tenant(event),
            rank=float(event.rank),
            priority_order=-event.priority,
            # The same arithmetic as WaitingTicket.deadline, so sla keys compare alike.
            deadline=event.issued_at + timedelta(seconds=event.target_wait_seconds),
        )
    )


def _left(_: Any, event: Queue.TicketLeft, position: int, view: TicketsView) -> None:
    view.leave_line(event.originator_id, event.ticket_id)


def _moved_back(_: Any, event: Queue.TicketMovedBack, position: int, view: TicketsView) -> None:
    # The entry takes the sort inputs the queue gave it: an upsert of the line entry.
    view.join_line(
        LineEntry(
            queue_id=event.originator_id,
            ticket_id=event.ticket_id,
            tenant_id=_tenant(event),
            rank=float(event.rank),
            priority_order=-event.priority,
            deadline=event.issued_at + timedelta(seconds=event.target_wait_seconds),
        )
    )


def _renumbered(_: Any, event: Queue.Renumbered, position: int, view: TicketsView) -> None:
    for index, ticket_id in enumerate(event.ticket_ids):
        view.rerank(event.originator_id, ticket_id, float(index))


# -- tickets --------------------------------------------------------------------------------------


def _issued(_: Any, event: Ticket.Issued, position: int, view: TicketsView) -> None:
    view.add_ticket(
        TicketRow(
            ticket_id=event.originator_id,
            tenant_id=event.tenant_id,
            number=event.number,
            status=TicketStatus.WAITING.value,
            queue_id=event.queue_id,
            service_id=event.service_id,
            priority=event.priority,
            channel=event.channel,
            customer_id=event.customer_id,
            agent_id=None,
            counter=None,
            issued_at=event.issued_at,
            first_called_at=None,
            called_at=None,
            service_started_at=None,
            finished_at=None,
            recalls=0,
            transfers=0,
        )
    )


def _called(_: Any, event: Ticket.Called, position: int, view: TicketsView) -> None:
    def change(row: TicketRow) -> TicketRow:
        return replace(
            row,
            status=TicketStatus.CALLED.value,
            agent_id=event.agent_id,
            counter=event.counter,
            called_at=event.at,
            first_called_at=row.first_called_at or event.at,
        )

    view.change_ticket(event.originator_id, change)


def _recalled(_: Any, event: Ticket.Recalled, position: int, view: TicketsView) -> None:
    view.change_ticket(
        event.originator_id, lambda row: replace(row, recalls=row.recalls + 1, called_at=event.at)
    )


def _status(status: TicketStatus, *, finished: bool = False, started: bool = False) -> Handler:
    """A handler that only moves the status (and stamps the finish or service start time)."""

    def handler(_: Any, event: Any, position: int, view: TicketsView) -> None:
        def change(row: TicketRow) -> TicketRow:
            row = replace(row, status=status.value)
            if finished:
                row = replace(row, finished_at=event.at)
            if started:
                row = replace(row, service_started_at=event.at)
            return row

        view.change_ticket(event.originator_id, change)

    return handler


def _transferred(_: Any, event: Ticket.Transferred, position: int, view: TicketsView) -> None:
    view.change_ticket(
        event.originator_id,
        lambda row: replace(
            row,
            status=TicketStatus.WAITING.value,
            queue_id=event.to_queue_id,
            service_id=event.to_service_id,
            agent_id=None,
            counter=None,
            called_at=None,
            service_started_at=None,
            transfers=row.transfers + 1,
        ),
    )


class TicketsProjection(Projection[TicketsView]):
    """Tickets for lists and lookups, and the waiting lines their positions come from."""

    name: ClassVar[str] = "tickets"
    handlers: ClassVar[dict[type, Handler]] = {
        Queue.Opened: _queue_opened,
        Queue.Reconfigured: _reconfigured,
        Queue.TicketJoined: _joined,
        Queue.TicketLeft: _left,
        Queue.Renumbered: _renumbered,
        Queue.TicketMovedBack: _moved_back,
        Ticket.Issued: _issued,
        Ticket.Called: _called,
        Ticket.Recalled: _recalled,
        Ticket.ServiceStarted: _status(TicketStatus.SERVING, started=True),
        Ticket.Paused: _status(TicketStatus.PAUSED),
        Ticket.Resumed: _status(TicketStatus.SERVING),
        Ticket.Completed: _status(TicketStatus.COMPLETED, finished=True),
        Ticket.MarkedNoShow: _status(TicketStatus.NO_SHOW, finished=True),
        Ticket.Cancelled: _status(TicketStatus.CANCELLED, finished=True),
        Ticket.Transferred: _transferred,
    }

    def tables(self) -> tuple[str, ...]:
        return ("tickets", "waiting_line", "ticket_queues")
