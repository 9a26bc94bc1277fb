"""Staffing: agents, their status, counter and queues, and calling the next ticket.

Every staff user has an agent profile; agents set their own status and call tickets, managers
seat them at counters, assign their queues and watch them.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.app import SmartQueue
from application.base import StaleRead, retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest
from application.ports import Directory, NoQueueLock, QueueLock
from application.tickets import ticket_view
from application.views import AgentView, TicketView
from domain.agents import Agent
from domain.errors import (
    AgentNotFound,
    InvalidInput,
    QueueNotFound,
    TicketNotFound,
)
from domain.policies import Policy, WaitingTicket
from domain.queues import Queue, QueueStatus
from domain.tickets import Ticket, TicketStatus


class Staffing:
    """Every command an agent or a manager gives about agents (status, counter, queues, calling
    the next ticket) and the queries of the agents themselves. The agent board, a read model,
    is read through its own port (``application.agent_board``)."""

    def __init__(
        self,
        store: SmartQueue,
        directory: Directory | None = None,
        queue_lock: QueueLock | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        """The directory read model the lists come from (a command-only user may go without)."""
        self.queue_lock = queue_lock or NoQueueLock()
        """Serialises the callers of one queue (shared with ``Tickets``); without it they race
        on optimistic concurrency alone."""

    @retry_on_conflict
    def set_agent_status(
        self, context: CommandContext, agent_id: UUID, status: str, counter: str | None = None
    ) -> AgentView:
        """Change an agent's availability and, optionally, the counter they sit at."""
        agent = self.store.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.set_status(status, self.store.clock())
        if counter is not None:
            agent.assign_counter(counter.strip())
        self.store.save_in_context(context, agent)
        return agent_view(agent)

    def get_agent(self, tenant_id: UUID, agent_id: UUID) -> AgentView:
        """An agent's status, counter, queues and current ticket."""
        return agent_view(self.store.load(Agent, agent_id, tenant_id, AgentNotFound))

    @retry_on_conflict
    def assign_agent_queues(
        self, context: CommandContext, agent_id: UUID, queue_ids: list[UUID]
    ) -> AgentView:
        """Set the queues an agent calls from when no queue is named."""
        agent = self.store.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        for queue_id in queue_ids:
            self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        agent.assign_queues(queue_ids)
        self.store.save_in_context(context, agent)
        return agent_view(agent)

    def check_agent_queues(self, tenant_id: UUID, queue_ids: list[UUID]) -> None:
        """Raise unless ``queue_ids`` names distinct queues of the tenant (before any change)."""
        if len(set(queue_ids)) != len(queue_ids):
            raise InvalidInput("queue_ids lists a queue twice")
        for queue_id in queue_ids:
            self.store.load(Queue, queue_id, tenant_id, QueueNotFound)

    @retry_on_conflict
    def assign_agent_counter(
        self, context: CommandContext, agent_id: UUID, counter: str | None
    ) -> AgentView:
        """Seat an agent at a counter, or at none (``None``). A ticket already called keeps the
        counter it was announced at; the next one is called to the new counter."""
        agent = self.store.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.assign_counter(None if counter is None else counter.strip())
        self.store.save_in_context(context, agent)
        return agent_view(agent)

    def list_agents(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[AgentView]:
        """A page of the tenant's agents (one per staff user), oldest first."""
        if self.directory is None:
            raise RuntimeError("lists need the directory read model; the composition root wires it")
        return self.directory.agents(tenant_id, page or PageRequest())

    @retry_on_conflict
    def call_next(
        self, context: CommandContext, agent_id: UUID, queue_id: UUID | None = None
    ) -> TicketView | None:
        """The agent calls the next ticket of a queue (or the most urgent of the agent's queues).

        The queues' lock is held from their load to the save, so the callers of one queue take
        turns instead of racing. Queue, ticket and agent are saved in one transaction: should a
        writer slip past the lock (it timed out), the one that loaded the older queue version
        loses and retries with the new line, so no ticket is called twice and none is skipped.
        Returns ``None`` when nobody waits.
        """
        agent = self.store.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.check_can_call()
        queue_ids = [queue_id] if queue_id is not None else list(agent.queue_ids)
        if not queue_ids:
            raise InvalidInput("name a queue_id: this agent has no assigned queues")
        with self.queue_lock.holding(queue_ids):
            candidates = [
                self.store.load(Queue, qid, context.tenant_id, QueueNotFound) for qid in queue_ids
            ]
            now = self.store.clock()
            queue = _most_urgent(candidates, now)
            if queue is None:
                return None
            ticket_id = queue.take_next(now)
            ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
            if ticket.status != TicketStatus.WAITING or ticket.queue_id != queue.id:
                raise StaleRead  # another agent called it after we read the queue
            ticket.call(agent.id, agent.counter, now)
            agent.take_ticket(ticket.id)
            self.store.save_in_context(context, queue, ticket, agent)
        return ticket_view(self.store, ticket)


def _most_urgent(queues: list[Queue], now: datetime) -> Queue | None:
    """Of an agent's queues, the one to call from now.

    Each open queue nominates the ticket its own policy would call. Across queues:

    1. a nominee of an ``sla`` queue past its target wait goes first, the one furthest past its
       deadline first: a broken service target is the most urgent thing an agent can fix;
    2. then higher priority, but only for nominees of ``priority`` queues: a ``fifo`` or ``sla``
       queue does not let priority jump its own line, so it does not across lines either;
    3. then the longest wait (earliest issue).
    """
    nominees: list[tuple[tuple, Queue]] = []
    for queue in queues:
        if queue.status == QueueStatus.CLOSED:
            continue
        head = queue.peek_next(now)
        if head is not None:
            nominees.append((_urgency(head, Policy(queue.policy), now), queue))
    if not nominees:
        return None
    return min(nominees, key=lambda nominee: nominee[0])[1]


def _urgency(head: WaitingTicket, policy: Policy, now: datetime) -> tuple:
    """A sort key, lowest first, comparable across queues of any policy (see _most_urgent)."""
    if policy is Policy.SLA and head.deadline <= now:
        return (0, 0, head.deadline)
    priority = head.priority if policy is Policy.PRIORITY else 0
    return (1, -priority, head.issued_at)


def agent_view(agent: Agent) -> AgentView:
    """What clients see of an agent."""
    return AgentView(
        id=agent.id,
        user_id=agent.user_id,
        name=agent.name,
        status=str(agent.status),
        counter=agent.counter,
        queue_ids=list(agent.queue_ids),
        current_ticket_id=agent.current_ticket_id,
    )
