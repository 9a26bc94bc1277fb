"""The directory read model: every queue and every agent of a tenant, as lists show them.

One row per queue (its definition, status and waiting count) and one per agent (status, counter,
queues, current ticket), each changed by its own aggregate's events exactly as the aggregate
changes its state, so a list answered from these rows equals one made by loading the aggregates.

The order of a list is the tenant's: a queue is opened, and a user (with their agent) registered,
in the same save as the tenant's ``QueueAdded`` or ``UserAdded``, so the log position of
``Queue.Opened`` / ``Agent.Registered`` (``listed_at``) sorts rows like ``Tenant.queue_ids`` and
``Tenant.user_ids``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Protocol
from uuid import UUID

from domain.agents import Agent, AgentStatus
from domain.queues import Queue, QueueStatus
from projections.base import Handler, Projection


@dataclass(frozen=True, slots=True)
class QueueEntry:
    """A queue as the list of queues shows it."""

    queue_id: UUID
    tenant_id: UUID
    listed_at: int
    name: str
    site_id: UUID
    service_ids: list[UUID]
    algorithm: str
    status: str
    waiting: int
    auto_no_show_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """An agent as the list of agents shows it."""

    agent_id: UUID
    tenant_id: UUID
    listed_at: int
    user_id: UUID
    name: str
    status: str
    counter: str | None
    queue_ids: list[UUID]
    current_ticket_id: UUID | None


QueueChange = Callable[[QueueEntry], QueueEntry]
AgentChange = Callable[[AgentEntry], AgentEntry]


class DirectoryView(Protocol):
    """Where the directory goes (PostgreSQL in production)."""

    def add_queue(self, queue: QueueEntry) -> None:
        """A queue opened."""

    def change_queue(self, queue_id: UUID, change: QueueChange) -> None:
        """Replace the queue's row by ``change(row)``; nothing if the row is unknown."""

    def add_agent(self, agent: AgentEntry) -> None:
        """An agent registered."""

    def change_agent(self, agent_id: UUID, change: AgentChange) -> None:
        """Replace the agent's row by ``change(row)``; nothing if the row is unknown."""


# -- queues ---------------------------------------------------------------------------------------


def _opened(_: Any, event: Queue.Opened, position: int, view: DirectoryView) -> None:
    view.add_queue(
        QueueEntry(
            queue_id=event.originator_id,
            tenant_id=event.tenant_id,
            listed_at=position,
            name=event.name,
            site_id=event.site_id,
            service_ids=list(event.service_ids),
            algorithm=event.policy,
            status=QueueStatus.OPEN.value,
            waiting=0,
        )
    )


def _queue_change(change: Callable[[QueueEntry, Any], QueueEntry]) -> Handler:
    def handler(_: Any, event: Any, position: int, view: DirectoryView) -> None:
        view.change_queue(event.originator_id, lambda row: change(row, event))

    return handler


def _reconfigured(row: QueueEntry, event: Any) -> QueueEntry:
    return replace(
        row, name=event.name, service_ids=list(event.service_ids), algorithm=event.policy
    )


def _queue_status(status: QueueStatus) -> Handler:
    return _queue_change(lambda row, event: replace(row, status=status.value))


# -- agents ---------------------------------------------------------------------------------------


def _registered(_: Any, event: Agent.Registered, position: int, view: DirectoryView) -> None:
    view.add_agent(
        AgentEntry(
            agent_id=event.originator_id,
            tenant_id=event.tenant_id,
            listed_at=position,
            user_id=event.user_id,
            name=event.name,
            status=AgentStatus.OFFLINE.value,
            counter=None,
            queue_ids=[],
            current_ticket_id=None,
        )
    )


def _agent_change(change: Callable[[AgentEntry, Any], AgentEntry]) -> Handler:
    def handler(_: Any, event: Any, position: int, view: DirectoryView) -> None:
        view.change_agent(event.originator_id, lambda row: change(row, event))

    return handler


def _released(row: AgentEntry, event: Any) -> AgentEntry:
    # As Agent._ticket_released: a busy agent becomes available, a paused one stays paused.
    busy = row.status == AgentStatus.BUSY.value
    return replace(
        row,
        current_ticket_id=None,
        status=AgentStatus.AVAILABLE.value if busy else row.status,
    )


class DirectoryProjection(Projection[DirectoryView]):
    """The tenant's queues and agents for their lists, in the tenant's order."""

    name: ClassVar[str] = "directory"
    handlers: ClassVar[dict[type, Handler]] = {
        Queue.Opened: _opened,
        Queue.Reconfigured: _queue_change(_reconfigured),
        Queue.AutoNoShowSet: _queue_change(
            lambda row, event: replace(row, auto_no_show_minutes=event.minutes)
        ),
        Queue.Paused: _queue_status(QueueStatus.PAUSED),
        Queue.Resumed: _queue_status(QueueStatus.OPEN),
        Queue.Closed: _queue_status(QueueStatus.CLOSED),
        Queue.TicketJoined: _queue_change(lambda row, _: replace(row, waiting=row.waiting + 1)),
        Queue.TicketLeft: _queue_change(lambda row, _: replace(row, waiting=row.waiting - 1)),
        Agent.Registered: _registered,
        Agent.Renamed: _agent_change(lambda row, event: replace(row, name=event.name)),
        Agent.StatusChanged: _agent_change(lambda row, event: replace(row, status=event.status)),
        Agent.CounterAssigned: _agent_change(
            lambda row, event: replace(row, counter=event.counter)
        ),
        Agent.QueuesAssigned: _agent_change(
            lambda row, event: replace(row, queue_ids=list(event.queue_ids))
        ),
        Agent.TicketTaken: _agent_change(
            lambda row, event: replace(
                row, current_ticket_id=event.ticket_id, status=AgentStatus.BUSY.value
            )
        ),
        Agent.TicketReleased: _agent_change(_released),
    }

    def tables(self) -> tuple[str, ...]:
        return ("directory_queues", "directory_agents")
