"""Live updates for hall displays and agent screens: what a WebSocket client is sent.

A client first gets a **snapshot** of a queue (or of an agent) read from the read models, then
**changes**. The display gateway turns each event it consumes from Kafka into changes published on
per-tenant channels; every API process forwards a channel's changes to its own sockets.

Consistency rule: every message carries ``as_of``, the read-model position its data was read at.
The gateway reads only once the read models have applied the event, so a change's data is never
older than its event; a socket drops changes no newer than its snapshot, and a client keeps, per
item (the queue's summary, each ticket, the agent), the data with the highest ``as_of``. Changes
published before a socket subscribed were read at a position its snapshot has already reached, so
a client that reconnects is consistent again with its first message.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

from application.agent_board import AgentBoard, BoardFilter
from application.consistency import Consistency
from application.live.messages import (
    AgentSnapshot,
    Change,
    LiveAgent,
    LiveTicket,
    QueueSnapshot,
    QueueSummary,
)
from application.views import QueueView, TicketView

READ_MODELS = ("tickets", "agent_board")
"""The read models live messages are read from; ``as_of`` is the lower of their positions."""
NEXT_NUMBERS = 5
RECENT_CALLS = 10


@dataclass(frozen=True)
class LiveEvent:
    """An event as the gateway consumes it (from the published envelope)."""

    event_type: str
    tenant_id: UUID | None
    aggregate_id: UUID
    log_position: int
    data: dict[str, Any]


@dataclass(frozen=True)
class Audience:
    """Who a change is for: the sockets following one queue, or one agent, of a tenant. (Which
    channel carries it to them is the transport's business.)"""

    kind: Literal["queue", "agent"]
    tenant_id: UUID
    id: UUID


@dataclass(frozen=True)
class Publication:
    """A change and the sockets it is for."""

    audience: Audience
    change: Change


class QueueLine(msgspec.Struct, frozen=True):
    waiting: int
    next: list[str]


class LiveRecords(Protocol):
    """What live messages read of the tickets read model (under the tenant's RLS)."""

    def ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        """One ticket with its position."""

    def line(self, tenant_id: UUID, queue_id: UUID, limit: int) -> QueueLine:
        """How many wait in the queue, and the numbers of the first ``limit``, in call order."""

    def on_display(self, tenant_id: UUID, queue_id: UUID, recent: int) -> list[TicketView]:
        """The queue's tickets now called, serving or paused, and its ``recent`` latest calls
        of the site-local day."""


class TicketEtas(Protocol):
    """Where live messages take waiting tickets' ETAs from: the same queries as the HTTP API
    (:class:`application.ticket_queries.TicketQueries`), so both show the same number."""

    def with_etas(self, tenant_id: UUID, tickets: Sequence[TicketView]) -> list[TicketView]:
        """``tickets`` with the ETAs of the waiting ones."""


class Queues(Protocol):
    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView:
        """The queue (``QueueNotFound`` if it is not the tenant's)."""


# Events after which a queue's name or status may differ: their changes carry the full summary.
QUEUE_STATE_EVENTS = frozenset(
    {"Queue.Opened", "Queue.Reconfigured", "Queue.Paused", "Queue.Resumed", "Queue.Closed"}
)


class LiveViews:
    """Snapshots for sockets, and the changes the gateway publishes for each event."""

    def __init__(
        self,
        records: LiveRecords,
        board: AgentBoard,
        queues: Queues,
        consistency: Consistency,
        etas: TicketEtas,
    ) -> None:
        self.records = records
        self.board = board
        self.queues = queues
        self.consistency = consistency
        self.etas = etas

    # -- snapshots ----------------------------------------------------------------------------

    def queue_snapshot(self, tenant_id: UUID, queue_id: UUID) -> QueueSnapshot:
        """A queue as of the read models' current position (``QueueNotFound`` for a queue that
        is not the tenant's)."""
        queue = self.queues.get_queue(tenant_id, queue_id)
        as_of = self.consistency.await_position(READ_MODELS, None)
        tickets = self.etas.with_etas(
            tenant_id, self.records.on_display(tenant_id, queue_id, RECENT_CALLS)
        )
        return QueueSnapshot(
            as_of=as_of,
            queue=self._summary(tenant_id, queue_id, queue),
            tickets=[LiveTicket.of(ticket) for ticket in tickets],
        )

    def agent_snapshot(self, tenant_id: UUID, agent_id: UUID) -> AgentSnapshot | None:
        """An agent and the queues they serve; ``None`` if the tenant has no such agent on
        the board."""
        as_of = self.consistency.await_position(READ_MODELS, None)
        agent = self.agent(tenant_id, agent_id)
        if agent is None:
            return None
        return AgentSnapshot(
            as_of=as_of,
            agent=agent,
            queues=[self._summary(tenant_id, queue_id) for queue_id in agent.queue_ids],
        )

    def agent(self, tenant_id: UUID, agent_id: UUID) -> LiveAgent | None:
        entries = self.board.board(tenant_id, BoardFilter(agent_id=agent_id))
        return LiveAgent.of(entries[0]) if entries else None

    def _summary(
        self, tenant_id: UUID, queue_id: UUID, queue: QueueView | None = None
    ) -> QueueSummary:
        return BatchReads(self).summary(tenant_id, queue_id, queue)

    # -- changes ------------------------------------------------------------------------------

    def changes(
        self, event: LiveEvent, as_of: int | None = None, reads: BatchReads | None = None
    ) -> list[Publication]:
        """What ``event`` changed, per audience, read once the read models have applied it
        (:class:`~application.consistency.ReadModelBehind` if they do not in time: the gateway
        tries again, it never publishes older data). A caller that already waited for a
        position at least the event's passes it as ``as_of``, and the same ``reads`` for every
        event it read at that position (a queue's line or an agent is then read once)."""
        tenant_id = event.tenant_id
        aggregate = event.event_type.partition(".")[0]
        if tenant_id is None or aggregate not in ("Ticket", "Queue", "Agent"):
            return []
        if as_of is None:
            as_of = self.consistency.await_position(READ_MODELS, event.log_position)
        reads = reads or BatchReads(self)

        def change(**parts: Any) -> Change:
            return Change(as_of=as_of, position=event.log_position, event=event.event_type, **parts)

        if aggregate == "Agent":
            agent = reads.agent(tenant_id, event.aggregate_id)
            if agent is None:
                return []
            return [Publication(Audience("agent", tenant_id, agent.id), change(agent=agent))]
        if aggregate == "Queue":
            queue = None
            if event.event_type in QUEUE_STATE_EVENTS:
                queue = self.queues.get_queue(tenant_id, event.aggregate_id)
            summary = reads.summary(tenant_id, event.aggregate_id, queue)
            return [Publication(Audience("queue", tenant_id, summary.id), change(queue=summary))]
        view = self.records.ticket(tenant_id, event.aggregate_id)
        if view is None:
            return []
        [view] = self.etas.with_etas(tenant_id, [view])
        ticket = LiveTicket.of(view)
        publications = [
            Publication(
                Audience("queue", tenant_id, queue_id),
                change(queue=reads.summary(tenant_id, queue_id), ticket=ticket),
            )
            for queue_id in _queues_touched(ticket, event)
        ]
        if view.agent_id is not None:
            agent = reads.agent(tenant_id, view.agent_id)
            if agent is not None:
                publications.append(
                    Publication(Audience("agent", tenant_id, agent.id), change(agent=agent))
                )
        return publications


class BatchReads:
    """Reads made at one read-model position: each queue's line and each agent once (a call
    brings a ticket's, a queue's and an agent's events, all about the same queue and agent)."""

    def __init__(self, views: LiveViews) -> None:
        self.views = views
        self.lines: dict[tuple[UUID, UUID], QueueLine] = {}
        self.agents: dict[tuple[UUID, UUID], LiveAgent | None] = {}

    def summary(
        self, tenant_id: UUID, queue_id: UUID, queue: QueueView | None = None
    ) -> QueueSummary:
        key = (tenant_id, queue_id)
        if key not in self.lines:
            self.lines[key] = self.views.records.line(tenant_id, queue_id, NEXT_NUMBERS)
        line = self.lines[key]
        summary = QueueSummary(id=queue_id, waiting=line.waiting, next=list(line.next))
        if queue is not None:
            summary.name, summary.status, summary.site_id = queue.name, queue.status, queue.site_id
        return summary

    def agent(self, tenant_id: UUID, agent_id: UUID) -> LiveAgent | None:
        key = (tenant_id, agent_id)
        if key not in self.agents:
            self.agents[key] = self.views.agent(tenant_id, agent_id)
        return self.agents[key]


def _queues_touched(ticket: LiveTicket, event: LiveEvent) -> Iterable[UUID]:
    """The ticket's queue, and the one it left when the event is its transfer."""
    yield ticket.queue_id
    left = event.data.get("from_queue_id")
    if left is not None and UUID(str(left)) != ticket.queue_id:
        yield UUID(str(left))
