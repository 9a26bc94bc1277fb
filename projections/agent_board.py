"""The agent board: who is on duty, at which counter, holding which ticket since when; and, per
queue, the recent holds and services the ETA estimator needs.

Three kinds of rows, all per tenant:

- one per agent (:class:`BoardAgent`), from the ``Agent`` events and the ``Ticket`` events of the
  ticket the agent holds (its number and queue come from ``Ticket.Issued``), with when the agent
  last called or finished a ticket of each queue (the ETA counts them serving it);
- one per *live* ticket (:class:`LiveTicket`): issued and not yet finished. It remembers the
  number, queue, call and service start the board and the samples need later; it is dropped when
  the ticket finishes, so the table holds the tickets still open, not history;
- one per queue (:class:`QueueSamples`): its site and time zone, and the latest ``RECENT``
  service durations (service start to completion) and holds (call to completion or no-show,
  the agent's time spent on the ticket), oldest first, as :mod:`domain.eta` expects.

A hold starts at the ticket's *first* call in its current queue (a recall does not restart it)
and ends at completion or no-show, exactly as :mod:`projections.eta_evaluation` measures it. A
transfer or a cancellation after the call ends the hold without a sample: it says nothing about
how long serving takes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.agents import Agent, AgentStatus
from domain.queues import Queue
from domain.tickets import Ticket, TicketStatus
from projections.agent_board_rows import (
    AgentBoardView,
    BoardAgent,
    BoardState,
    LiveTicket,
    QueueSamples,
)
from projections.base import Handler, Projection

# -- agents ---------------------------------------------------------------------------------------


def _registered(event: Any, state: BoardState) -> None:
    state.put_agent(
        BoardAgent(
            agent_id=event.originator_id,
            tenant_id=event.tenant_id,
            user_id=event.user_id,
            name=event.name,
            status=AgentStatus.OFFLINE.value,
            status_since=event.timestamp,
        )
    )


def _agent_change(apply: Callable[[BoardAgent, Any], None]) -> Callable[[Any, BoardState], None]:
    """A handler changing the event's agent row with ``apply(row, event)``."""

    def handler(event: Any, state: BoardState) -> None:
        row = state.agent(event.originator_id)
        if row is not None:  # an agent registered before this model's log began is skipped
            apply(row, event)
            state.put_agent(row)

    return handler


def _set_status(row: BoardAgent, status: str, at: datetime) -> None:
    if row.status != status:
        row.status, row.status_since = status, at


def _renamed(row: BoardAgent, event: Any) -> None:
    row.name = event.name


def _status_changed(row: BoardAgent, event: Any) -> None:
    _set_status(row, event.status, event.timestamp)


def _counter_assigned(row: BoardAgent, event: Any) -> None:
    row.counter = event.counter


def _queues_assigned(row: BoardAgent, event: Any) -> None:
    row.queue_ids = list(event.queue_ids)


def _ticket_taken(row: BoardAgent, event: Any) -> None:
    # Ticket.Called came first in the same save and filled the ticket; this is the fallback.
    if row.ticket_id != event.ticket_id:
        row.let_go()
        row.ticket_id = event.ticket_id
    _set_status(row, AgentStatus.BUSY.value, event.timestamp)


def _ticket_released(row: BoardAgent, event: Any) -> None:
    if row.ticket_id == event.ticket_id:
        row.let_go()
    if row.status == AgentStatus.BUSY.value:
        _set_status(row, AgentStatus.AVAILABLE.value, event.timestamp)


# -- queues ---------------------------------------------------------------------------------------


def _queue_opened(event: Any, state: BoardState) -> None:
    state.put_queue(
        QueueSamples(event.originator_id, event.tenant_id, event.site_id, event.timezone)
    )


def _timezone_changed(event: Any, state: BoardState) -> None:
    row = state.queue(event.originator_id)
    if row is not None:
        row.timezone = event.timezone
        state.put_queue(row)


# -- tickets --------------------------------------------------------------------------------------


def _issued(event: Any, state: BoardState) -> None:
    state.put_ticket(LiveTicket(event.originator_id, event.tenant_id, event.queue_id, event.number))


def _ticket_change(
    apply: Callable[[LiveTicket, Any, BoardState], None],
) -> Callable[[Any, BoardState], None]:
    """A handler changing the event's live ticket with ``apply(ticket, event, state)``, then the
    board of the agent who held it before and of the one holding it after."""

    def handler(event: Any, state: BoardState) -> None:
        ticket = state.ticket(event.originator_id)
        if ticket is None:  # issued before this model's log began
            return
        holder = ticket.agent_id  # before the change: a transfer lets go of it
        apply(ticket, event, state)
        if ticket.status in FINISHED:
            state.drop_ticket(ticket.ticket_id)
        else:
            state.put_ticket(ticket)
        for agent_id in {holder, ticket.agent_id} - {None}:
            agent = state.agent(agent_id)  # type: ignore[arg-type]
            if agent is None:
                continue
            if ticket.agent_id == agent.agent_id and ticket.status in HELD:
                agent.hold(ticket)
            elif agent.ticket_id == ticket.ticket_id:
                agent.let_go()
            else:
                continue
            state.put_agent(agent)

    return handler


HELD = frozenset(s.value for s in (TicketStatus.CALLED, TicketStatus.SERVING, TicketStatus.PAUSED))
FINISHED = frozenset(
    s.value for s in (TicketStatus.COMPLETED, TicketStatus.NO_SHOW, TicketStatus.CANCELLED)
)


def _called(ticket: LiveTicket, event: Any, state: BoardState) -> None:
    ticket.status = TicketStatus.CALLED.value
    ticket.agent_id = event.agent_id
    ticket.called_at = event.at
    _worked(state, event.agent_id, ticket.queue_id, event.at)


def _worked(state: BoardState, agent_id: UUID | None, queue_id: UUID, at: datetime) -> None:
    """Remember that the agent served ``queue_id`` at ``at`` (the ETA counts them on duty)."""
    agent = state.agent(agent_id) if agent_id is not None else None
    if agent is not None:
        agent.worked(queue_id, at)
        state.put_agent(agent)


def _moved(status: TicketStatus) -> Callable[[LiveTicket, Any, BoardState], None]:
    def apply(ticket: LiveTicket, event: Any, state: BoardState) -> None:
        ticket.status = status.value

    return apply


def _service_started(ticket: LiveTicket, event: Any, state: BoardState) -> None:
    ticket.status = TicketStatus.SERVING.value
    ticket.started_at = event.at


def _transferred(ticket: LiveTicket, event: Any, state: BoardState) -> None:
    ticket.status = TicketStatus.WAITING.value
    ticket.queue_id = event.to_queue_id
    ticket.agent_id = ticket.called_at = ticket.started_at = None


def _finished(status: TicketStatus) -> Callable[[LiveTicket, Any, BoardState], None]:
    """Completion or no-show: the agent's hold (and the service, if any) becomes a sample."""

    def apply(ticket: LiveTicket, event: Any, state: BoardState) -> None:
        ticket.status = status.value
        queue = state.queue(ticket.queue_id)
        if queue is not None and ticket.called_at is not None:
            queue.add(queue.occupancy_seconds, (event.at - ticket.called_at).total_seconds())
            if ticket.started_at is not None and status == TicketStatus.COMPLETED:
                queue.add(queue.service_seconds, (event.at - ticket.started_at).total_seconds())
            state.put_queue(queue)
        if status == TicketStatus.COMPLETED and ticket.agent_id is not None:
            _count_served(state, ticket.agent_id, event.at, queue)
        if ticket.called_at is not None:
            _worked(state, ticket.agent_id, ticket.queue_id, event.at)

    return apply


def _count_served(
    state: BoardState, agent_id: UUID, at: datetime, queue: QueueSamples | None
) -> None:
    agent = state.agent(agent_id)
    if agent is None:
        return
    zone = queue.timezone if queue is not None else "UTC"
    day = at.astimezone(ZoneInfo(zone)).date()
    if agent.served_day != day:
        agent.served_day, agent.served_count = day, 0
    agent.served_timezone = zone
    agent.served_count += 1
    state.put_agent(agent)


def _cancelled(ticket: LiveTicket, event: Any, state: BoardState) -> None:
    ticket.status = TicketStatus.CANCELLED.value


CHANGES: dict[type, Callable[[Any, BoardState], None]] = {
    Agent.Registered: _registered,
    Agent.Renamed: _agent_change(_renamed),
    Agent.StatusChanged: _agent_change(_status_changed),
    Agent.CounterAssigned: _agent_change(_counter_assigned),
    Agent.QueuesAssigned: _agent_change(_queues_assigned),
    Agent.TicketTaken: _agent_change(_ticket_taken),
    Agent.TicketReleased: _agent_change(_ticket_released),
    Queue.Opened: _queue_opened,
    Queue.TimezoneChanged: _timezone_changed,
    Ticket.Issued: _issued,
    Ticket.Called: _ticket_change(_called),
    Ticket.ServiceStarted: _ticket_change(_service_started),
    Ticket.Paused: _ticket_change(_moved(TicketStatus.PAUSED)),
    Ticket.Resumed: _ticket_change(_moved(TicketStatus.SERVING)),
    Ticket.Transferred: _ticket_change(_transferred),
    Ticket.Completed: _ticket_change(_finished(TicketStatus.COMPLETED)),
    Ticket.MarkedNoShow: _ticket_change(_finished(TicketStatus.NO_SHOW)),
    Ticket.Cancelled: _ticket_change(_cancelled),
}


def _deferred(change: Callable[[Any, BoardState], None]) -> Handler:
    def handler(projection: Any, event: Any, position: int, view: AgentBoardView) -> None:
        view.run(lambda state: change(event, state))

    return handler


class AgentBoardProjection(Projection[AgentBoardView]):
    """Agents, the live tickets they hold and each queue's recent holds and services."""

    name: ClassVar[str] = "agent_board"
    handlers: ClassVar[dict[type, Handler]] = {
        event_type: _deferred(change) for event_type, change in CHANGES.items()
    }

    def tables(self) -> tuple[str, ...]:
        return ("agent_board", "agent_board_tickets", "queue_eta")
