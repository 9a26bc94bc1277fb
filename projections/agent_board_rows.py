"""The agent board's rows and the ports its projection writes through.

See :mod:`projections.agent_board` for what each row holds and which events change it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.tickets import TicketStatus
from projections.eta_evaluation import RECENT


@dataclass
class BoardAgent:
    """One agent as the board shows it."""

    agent_id: UUID
    tenant_id: UUID
    user_id: UUID
    name: str
    status: str
    status_since: datetime
    counter: str | None = None
    queue_ids: list[UUID] = field(default_factory=list)
    ticket_id: UUID | None = None
    ticket_number: str | None = None
    ticket_queue_id: UUID | None = None
    ticket_status: str | None = None
    ticket_since: datetime | None = None
    """When the agent called the ticket it holds (its first call in that queue)."""
    served_day: date | None = None
    """The site-local day of ``served_count``'s completions."""
    served_timezone: str | None = None
    served_count: int = 0
    worked_at: dict[str, float] = field(default_factory=dict)
    """By queue id: when the agent last called or finished one of that queue's tickets (epoch
    seconds). Agents may serve queues they are not assigned to; see
    :func:`domain.eta.serves_queue`."""

    def worked(self, queue_id: UUID, at: datetime) -> None:
        """The agent called or finished a ticket of ``queue_id`` at ``at``."""
        key = str(queue_id)
        self.worked_at = {**self.worked_at, key: max(at.timestamp(), self.worked_at.get(key, 0.0))}

    def hold(self, ticket: LiveTicket) -> None:
        """Show ``ticket`` as the one this agent holds."""
        self.ticket_id = ticket.ticket_id
        self.ticket_number = ticket.number
        self.ticket_queue_id = ticket.queue_id
        self.ticket_status = ticket.status
        self.ticket_since = ticket.called_at

    def let_go(self) -> None:
        """The agent holds no ticket any more."""
        self.ticket_id = self.ticket_number = self.ticket_queue_id = None
        self.ticket_status = self.ticket_since = None


@dataclass
class LiveTicket:
    """A ticket issued and not yet finished (what the board and the samples need of it)."""

    ticket_id: UUID
    tenant_id: UUID
    queue_id: UUID
    number: str
    status: str = TicketStatus.WAITING.value
    agent_id: UUID | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None


@dataclass
class QueueSamples:
    """A queue's site and time zone, and its latest service durations and holds (seconds)."""

    queue_id: UUID
    tenant_id: UUID
    site_id: UUID
    timezone: str
    service_seconds: list[float] = field(default_factory=list)
    occupancy_seconds: list[float] = field(default_factory=list)

    def add(self, samples: list[float], seconds: float) -> None:
        """Append one sample to ``samples`` (one of this row's lists), keeping the latest."""
        samples.append(max(0.0, seconds))
        del samples[:-RECENT]


class BoardState(Protocol):
    """The rows the projection reads and changes. Rows are mutable: change one, then ``put``."""

    def agent(self, agent_id: UUID) -> BoardAgent | None: ...

    def put_agent(self, row: BoardAgent) -> None: ...

    def ticket(self, ticket_id: UUID) -> LiveTicket | None: ...

    def put_ticket(self, row: LiveTicket) -> None: ...

    def drop_ticket(self, ticket_id: UUID) -> None: ...

    def queue(self, queue_id: UUID) -> QueueSamples | None: ...

    def put_queue(self, row: QueueSamples) -> None: ...


Change = Callable[[BoardState], None]


class AgentBoardView(Protocol):
    """Where the board's changes go. Handlers need the current rows to change them, which a
    database view can read only inside the batch's transaction, at flush: so each event becomes
    a change the view runs against the state when it can (at once, in memory)."""

    def run(self, change: Change) -> None:
        """Apply ``change`` to the board, in the order the changes were given."""


def served_today(row: BoardAgent, now: datetime) -> int:
    """Tickets the agent completed today (the site-local day of their latest completion)."""
    if row.served_day is None:
        return 0
    zone = ZoneInfo(row.served_timezone or "UTC")
    return row.served_count if now.astimezone(zone).date() == row.served_day else 0
