"""Queueing commands and queries: queues, tickets and agents."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from application.base import ContextualApplication, StaleRead, retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest
from application.ports import Directory
from application.views import AgentView, QueueView, TicketView
from domain.agents import Agent
from domain.customers import Customer
from domain.errors import (
    AgentNotFound,
    CustomerNotFound,
    IllegalTransition,
    InvalidInput,
    QueueNotFound,
    ResourceNotFound,
    TicketNotFound,
)
from domain.numbering import DailyCounter, format_ticket_number
from domain.policies import Placement, Policy, WaitingTicket
from domain.queues import Queue, QueueStatus
from domain.tenancy import Service, Site, Tenant
from domain.tickets import Ticket, TicketStatus

CHANNELS = frozenset({"kiosk", "web", "mobile", "phone", "counter", "api"})
MAX_PRIORITY = 10


class DirectoryReads(ContextualApplication):
    """Lists of queues and agents come from the directory read model, not from replaying the
    tenant and every queue or agent aggregate."""

    def __init__(self, *args: Any, directory: Directory | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lists = directory

    @property
    def directory(self) -> Directory:
        """The directory read model, wired by the composition root."""
        if self.lists is None:
            raise RuntimeError("no directory read model was given to the application")
        return self.lists


class QueueingCommands(DirectoryReads):
    """Everything between a customer taking a ticket and an agent finishing with it."""

    # -- queues -----------------------------------------------------------------------------------

    @retry_on_conflict
    def open_queue(
        self,
        context: CommandContext,
        name: str,
        site_id: UUID,
        service_ids: list[UUID],
        algorithm: str,
    ) -> QueueView:
        """Open a queue at a site for some of the tenant's services."""
        Queue.check_definition(name, service_ids, algorithm)
        tenant = self.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = self.load(Site, site_id, tenant.id, ResourceNotFound)
        for service_id in service_ids:
            self.load(Service, service_id, tenant.id, ResourceNotFound)
        queue = Queue(
            tenant_id=tenant.id,
            site_id=site.id,
            name=name.strip(),
            service_ids=list(service_ids),
            policy=algorithm,
            timezone=site.timezone,
        )
        tenant.add_queue(queue.id)
        self.save_in_context(context, tenant, queue)
        return queue_view(queue)

    @retry_on_conflict
    def assign_agent_queues(
        self, context: CommandContext, agent_id: UUID, queue_ids: list[UUID]
    ) -> AgentView:
        """Set the queues an agent calls from when no queue is named."""
        agent = self.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        for queue_id in queue_ids:
            self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        agent.assign_queues(queue_ids)
        self.save_in_context(context, agent)
        return agent_view(agent)

    def check_agent_queues(self, tenant_id: UUID, queue_ids: list[UUID]) -> None:
        """Raise unless ``queue_ids`` names distinct queues of the tenant (before any change)."""
        if len(set(queue_ids)) != len(queue_ids):
            raise InvalidInput("queue_ids lists a queue twice")
        for queue_id in queue_ids:
            self.load(Queue, queue_id, tenant_id, QueueNotFound)

    def get_queue(self, tenant_id: UUID, queue_id: UUID) -> QueueView:
        """One queue of the tenant with its waiting count."""
        return queue_view(self.load(Queue, queue_id, tenant_id, QueueNotFound))

    def list_queues(
        self, tenant_id: UUID, page: PageRequest | None = None, site_id: UUID | None = None
    ) -> Page[QueueView]:
        """A page of the tenant's queues with their waiting counts, oldest first; only those of
        ``site_id`` when given."""
        return self.directory.queues(tenant_id, page or PageRequest(), site_id=site_id)

    # -- tickets ----------------------------------------------------------------------------------

    @retry_on_conflict
    def issue_ticket(
        self,
        context: CommandContext,
        queue_id: UUID,
        service_id: UUID | None = None,
        customer_id: UUID | None = None,
        priority: int = 0,
        channel: str = "api",
        max_waiting: int | None = None,
    ) -> TicketView:
        """Give a customer a numbered ticket and a place in the queue's waiting line; with
        ``max_waiting``, not in a line that already holds that many (``QueueFull``)."""
        if not 0 <= priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be between 0 and {MAX_PRIORITY}")
        if channel not in CHANNELS:
            raise InvalidInput(f"unknown channel {channel!r}; expected one of {sorted(CHANNELS)}")
        queue = self.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        queue.check_accepting()
        if customer_id is not None:  # a live customer of this tenant, not an erased or foreign id
            self.load(Customer, customer_id, context.tenant_id, CustomerNotFound).check_live()
        service_id = service_id or queue.service_ids[0]
        if service_id not in queue.service_ids:
            raise InvalidInput("the queue does not serve that service")
        service = self.load(Service, service_id, context.tenant_id, ResourceNotFound)
        now = self.clock()
        counter = self._daily_counter(service.id, local_day(now, queue.timezone))
        ticket = Ticket(
            tenant_id=queue.tenant_id,
            queue_id=queue.id,
            service_id=service.id,
            number=format_ticket_number(service.code, counter.take()),
            priority=priority,
            channel=channel,
            customer_id=customer_id,
            issued_at=now,
        )
        queue.join(
            ticket.id, priority, now, service.target_wait_minutes * 60, max_waiting=max_waiting
        )
        self.save_in_context(context, counter, ticket, queue)
        return self._ticket_view(ticket, queue)

    def _daily_counter(self, service_id: UUID, day: str) -> DailyCounter:
        counter = self.find(DailyCounter, DailyCounter.create_id(service_id, day))
        # Two first tickets of the day both create the counter: one wins, the other retries.
        return counter or DailyCounter(service_id=service_id, day=day)

    @retry_on_conflict
    def call_next(
        self, context: CommandContext, agent_id: UUID, queue_id: UUID | None = None
    ) -> TicketView | None:
        """The agent calls the next ticket of a queue (or the most urgent of the agent's queues).

        Queue, ticket and agent are saved in one transaction: a concurrent caller that loaded the
        same queue version loses the race and retries with the new line, so no ticket is called
        twice and none is skipped. Returns ``None`` when nobody waits.
        """
        agent = self.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.check_can_call()
        if queue_id is not None:
            candidates = [self.load(Queue, queue_id, context.tenant_id, QueueNotFound)]
        elif agent.queue_ids:
            candidates = [
                self.load(Queue, qid, context.tenant_id, QueueNotFound) for qid in agent.queue_ids
            ]
        else:
            raise InvalidInput("name a queue_id: this agent has no assigned queues")
        now = self.clock()
        queue = _most_urgent(candidates, now)
        if queue is None:
            return None
        ticket_id = queue.take_next(now)
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        if ticket.status != TicketStatus.WAITING or ticket.queue_id != queue.id:
            raise StaleRead  # another agent called it after we read the queue
        ticket.call(agent.id, agent.counter, now)
        agent.take_ticket(ticket.id)
        self.save_in_context(context, queue, ticket, agent)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def start_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Service begins for a called ticket."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.start(self.clock())
        self.save_in_context(context, ticket)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def recall_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Announce a called ticket again."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.recall(self.clock())
        self.save_in_context(context, ticket)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def pause_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Interrupt service; the agent keeps the ticket."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.pause(self.clock())
        self.save_in_context(context, ticket)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def resume_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Continue a paused service."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.resume(self.clock())
        self.save_in_context(context, ticket)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def close_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Service is complete; the agent is free again."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.close(self.clock())
        return self._release_and_save(context, ticket)

    @retry_on_conflict
    def mark_no_show(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """The called customer never came; the agent is free again."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.mark_no_show(self.clock())
        return self._release_and_save(context, ticket)

    @retry_on_conflict
    def cancel_ticket(
        self,
        context: CommandContext,
        ticket_id: UUID,
        reason: str = "",
        only_waiting: bool = False,
    ) -> TicketView:
        """Withdraw a ticket that is waiting or called (with ``only_waiting``, a waiting one
        only: its customer may not withdraw it once an agent called it)."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        was_waiting = ticket.status == TicketStatus.WAITING
        if only_waiting and not was_waiting:
            raise IllegalTransition("cancel", ticket.status)
        agent_id = ticket.agent_id
        ticket.cancel(self.clock(), reason)
        changed: list = [ticket]
        if was_waiting:
            queue = self.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
            if queue.entry(ticket.id) is None:
                raise StaleRead  # called meanwhile: retry and cancel it as a called ticket
            queue.remove(ticket.id, reason="cancelled")
            changed.append(queue)
        elif agent_id is not None:
            changed.extend(self._released_agent(agent_id, ticket.id))
        self.save_in_context(context, *changed)
        return self._ticket_view(ticket)

    @retry_on_conflict
    def transfer_ticket(
        self,
        context: CommandContext,
        ticket_id: UUID,
        to_queue_id: UUID,
        placement: str = "last",
    ) -> TicketView:
        """Send a ticket to wait in another queue, first, last or by its issue time.

        A transfer is staff's decision about a ticket already in the building: it is not held
        to the waiting-line cap that refuses new tickets."""
        where = Placement.parse(placement)
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.check_can("transfer")
        target = self.load(Queue, to_queue_id, context.tenant_id, QueueNotFound)
        target.check_accepting()
        service_id = ticket.service_id if ticket.service_id in target.service_ids else None
        service = self.load(
            Service, service_id or target.service_ids[0], context.tenant_id, ResourceNotFound
        )
        changed: list = [ticket, target]
        if ticket.status == TicketStatus.WAITING:
            # The source may be the target itself (re-placing a ticket): one object, one version.
            source = (
                target
                if ticket.queue_id == target.id
                else self.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
            )
            if source.entry(ticket.id) is None:
                raise StaleRead  # called meanwhile: retry and transfer it as a called ticket
            source.remove(ticket.id, reason="transferred")
            if source is not target:
                changed.append(source)
        elif ticket.agent_id is not None:
            changed.extend(self._released_agent(ticket.agent_id, ticket.id))
        now = self.clock()
        ticket.transfer(target.id, service.id, where.value, now)
        target.join(
            ticket.id, ticket.priority, ticket.issued_at, service.target_wait_minutes * 60, where
        )
        self.save_in_context(context, *changed)
        return self._ticket_view(ticket, target)

    @retry_on_conflict
    def give_more_time(self, context: CommandContext, ticket_id: UUID, places: int) -> TicketView:
        """Move a waiting ticket ``places`` places back in its line (no further than last), at
        its customer's request: once per ticket (``MoreTimeUsed`` the second time)."""
        ticket = self.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        now = self.clock()
        ticket.take_more_time(places, now)
        queue = self.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
        if queue.entry(ticket.id) is None:
            raise StaleRead  # called meanwhile: the retry refuses it as a called ticket
        queue.move_back(ticket.id, places, now)
        self.save_in_context(context, ticket, queue)
        return self._ticket_view(ticket, queue)

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView:
        """A ticket with its position and ETA when waiting."""
        return self._ticket_view(self.load(Ticket, ticket_id, tenant_id, TicketNotFound))

    # -- agents -----------------------------------------------------------------------------------

    @retry_on_conflict
    def set_agent_status(
        self, context: CommandContext, agent_id: UUID, status: str, counter: str | None = None
    ) -> AgentView:
        """Change an agent's availability and, optionally, the counter they sit at."""
        agent = self.load(Agent, agent_id, context.tenant_id, AgentNotFound)
        agent.set_status(status)
        if counter is not None:
            agent.assign_counter(counter.strip())
        self.save_in_context(context, agent)
        return agent_view(agent)

    def get_agent(self, tenant_id: UUID, agent_id: UUID) -> AgentView:
        """An agent's status, counter, queues and current ticket."""
        return agent_view(self.load(Agent, agent_id, tenant_id, AgentNotFound))

    # -- helpers ----------------------------------------------------------------------------------

    def _released_agent(self, agent_id: UUID, ticket_id: UUID) -> list:
        agent = self.find(Agent, agent_id)
        if agent is None or agent.current_ticket_id != ticket_id:
            return []  # the agent has moved on already (released by an earlier transfer)
        agent.release_ticket(ticket_id)
        return [agent]

    def _release_and_save(self, context: CommandContext, ticket: Ticket) -> TicketView:
        changed: list = [ticket]
        if ticket.agent_id is not None:
            changed.extend(self._released_agent(ticket.agent_id, ticket.id))
        self.save_in_context(context, *changed)
        return self._ticket_view(ticket)

    def _ticket_view(self, ticket: Ticket, queue: Queue | None = None) -> TicketView:
        """The ticket with its exact position when waiting. ``eta_seconds`` is left to the read
        side's estimator (``TicketQueries.with_eta``), which knows who is on duty."""
        position = None
        if ticket.status == TicketStatus.WAITING:
            queue = queue or self.load(Queue, ticket.queue_id, ticket.tenant_id, QueueNotFound)
            position = queue.position_of(ticket.id, self.clock())
        return TicketView(
            id=ticket.id,
            number=ticket.number,
            status=str(ticket.status),
            queue_id=ticket.queue_id,
            service_id=ticket.service_id,
            position=position,
            eta_seconds=None,
            priority=ticket.priority,
            channel=ticket.channel,
            customer_id=ticket.customer_id,
            agent_id=ticket.agent_id,
            counter=ticket.counter,
            issued_at=ticket.issued_at,
            called_at=ticket.called_at,
            service_started_at=ticket.service_started_at,
            finished_at=ticket.finished_at,
            recalls=ticket.recalls,
            transfers=ticket.transfers,
        )


def local_day(moment: datetime, timezone: str) -> str:
    """The calendar day at the site when ``moment`` happened, as ``YYYY-MM-DD``."""
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


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


def queue_view(queue: Queue) -> QueueView:
    """What clients see of a queue."""
    return QueueView(
        id=queue.id,
        name=queue.name,
        site_id=queue.site_id,
        service_ids=list(queue.service_ids),
        algorithm=queue.policy,
        status=str(queue.status),
        waiting=len(queue.waiting),
    )


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
