"""Tickets: issuing one, its lifecycle at the counter, transfers and cancellations.

Calling the next ticket is the agent's command (``application.staffing``); what a ticket looks
like once it is called, served or moved is decided here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from application.app import SmartQueue
from application.base import StaleRead, retry_on_conflict
from application.context import CommandContext
from application.ports import NoQueueLock, QueueLock
from application.views import TicketView
from domain.agents import Agent
from domain.appointments import Appointment
from domain.customers import Customer
from domain.errors import (
    CustomerNotFound,
    IllegalTransition,
    InvalidInput,
    QueueNotFound,
    ResourceNotFound,
    TicketNotFound,
)
from domain.numbering import DailyCounter, format_ticket_number
from domain.policies import Placement, Policy, order_waiting
from domain.queues import Queue
from domain.tenancy import Service, Site, SiteClosed
from domain.tickets import Ticket, TicketStatus

CHANNELS = frozenset({"kiosk", "web", "mobile", "phone", "counter", "api"})
MAX_PRIORITY = 10


class Tickets:
    """Everything done to a ticket between a customer taking it and an agent finishing with it,
    except calling it: that is the agent's command (``Staffing.call_next``)."""

    def __init__(self, store: SmartQueue, queue_lock: QueueLock | None = None) -> None:
        self.store = store
        self.queue_lock = queue_lock or NoQueueLock()
        """Serialises the writers of one queue (shared with ``Staffing``); without it they race
        on optimistic concurrency alone."""

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
        override_hours: bool = False,
    ) -> TicketView:
        """Give a customer a numbered ticket and a place in the queue's waiting line; with
        ``max_waiting``, not in a line that already holds that many (``QueueFull``).

        Outside the site's opening hours it refuses (``SiteClosed``), unless staff
        ``override_hours``: the ticket then records the override (``hours_override``).

        The queue's lock is held from its last load to the save: kiosks and agents take turns."""
        if not 0 <= priority <= MAX_PRIORITY:
            raise InvalidInput(f"priority must be between 0 and {MAX_PRIORITY}")
        if channel not in CHANNELS:
            raise InvalidInput(f"unknown channel {channel!r}; expected one of {sorted(CHANNELS)}")
        queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
        queue.check_accepting()
        if customer_id is not None:  # a live customer of this tenant, not an erased or foreign id
            self.store.load(Customer, customer_id, context.tenant_id, CustomerNotFound).check_live()
        service_id = service_id or queue.service_ids[0]
        if service_id not in queue.service_ids:
            raise InvalidInput("the queue does not serve that service")
        service = self.store.load(Service, service_id, context.tenant_id, ResourceNotFound)
        now = self.store.clock()
        hours_override = self._check_open(context, queue.site_id, now, override_hours)
        # What the writers of the queue contend for is read again under its lock, and only that:
        # the lock is held as briefly as can be.
        with self.queue_lock.holding([queue_id]):
            queue = self.store.load(Queue, queue_id, context.tenant_id, QueueNotFound)
            queue.check_accepting()
            if service.id not in queue.service_ids:
                raise StaleRead  # the queue was reconfigured meanwhile: decide again
            now = self.store.clock()
            counter, ticket = numbered_ticket(
                self.store,
                queue,
                service,
                now,
                priority=priority,
                channel=channel,
                customer_id=customer_id,
                hours_override=hours_override,
            )
            queue.join(
                ticket.id, priority, now, service.target_wait_minutes * 60, max_waiting=max_waiting
            )
            self.store.save_in_context(context, counter, ticket, queue)
        return ticket_view(self.store, ticket, queue)

    def _check_open(
        self, context: CommandContext, site_id: UUID, now: datetime, override: bool
    ) -> bool:
        """Refuse a ticket at a closed site unless overridden; True if the override was used."""
        site = self.store.load(Site, site_id, context.tenant_id, ResourceNotFound)
        try:
            site.check_open(now)
        except SiteClosed:
            if not override:
                raise
            return True
        return False

    @retry_on_conflict
    def start_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Service begins for a called ticket."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.start(self.store.clock())
        self.store.save_in_context(context, ticket)
        return ticket_view(self.store, ticket)

    @retry_on_conflict
    def recall_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Announce a called ticket again."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.recall(self.store.clock())
        self.store.save_in_context(context, ticket)
        return ticket_view(self.store, ticket)

    @retry_on_conflict
    def pause_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Interrupt service; the agent keeps the ticket."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.pause(self.store.clock())
        self.store.save_in_context(context, ticket)
        return ticket_view(self.store, ticket)

    @retry_on_conflict
    def resume_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Continue a paused service."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.resume(self.store.clock())
        self.store.save_in_context(context, ticket)
        return ticket_view(self.store, ticket)

    @retry_on_conflict
    def close_ticket(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """Service is complete; the agent is free again. A ticket an appointment's check-in
        issued serves that appointment, in the same transaction (so it is served exactly when
        its ticket is completed)."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        now = self.store.clock()
        ticket.close(now)
        served = self._served_appointment(ticket, now)
        return self._release_and_save(context, ticket, *served)

    @retry_on_conflict
    def mark_no_show(self, context: CommandContext, ticket_id: UUID) -> TicketView:
        """The called customer never came; the agent is free again."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.mark_no_show(self.store.clock())
        return self._release_and_save(context, ticket)

    @retry_on_conflict
    def expire_call(
        self, context: CommandContext, ticket_id: UUID, called_at: datetime
    ) -> TicketView:
        """Mark a ticket no-show because its call of ``called_at`` went unanswered (the queue's
        auto no-show); a conflict (409) once it was started, finished or called again."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.expire_call(called_at, self.store.clock())
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
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        was_waiting = ticket.status == TicketStatus.WAITING
        if only_waiting and not was_waiting:
            raise IllegalTransition("cancel", ticket.status)
        agent_id = ticket.agent_id
        ticket.cancel(self.store.clock(), reason)
        changed: list = [ticket]
        if not was_waiting:
            if agent_id is not None:
                changed.extend(self._released_agent(agent_id, ticket.id))
            self.store.save_in_context(context, *changed)
            return ticket_view(self.store, ticket)
        with self.queue_lock.holding([ticket.queue_id]):
            queue = self.store.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
            if queue.entry(ticket.id) is None:
                raise StaleRead  # called meanwhile: retry and cancel it as a called ticket
            queue.remove(ticket.id, reason="cancelled")
            self.store.save_in_context(context, ticket, queue)
        return ticket_view(self.store, ticket)

    @retry_on_conflict
    def give_more_time(self, context: CommandContext, ticket_id: UUID, places: int) -> TicketView:
        """Move a waiting ticket ``places`` places back in its line (no further than last), at
        its customer's request: once per ticket (``MoreTimeUsed`` the second time)."""
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        now = self.store.clock()
        ticket.take_more_time(places, now)
        with self.queue_lock.holding([ticket.queue_id]):
            queue = self.store.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
            if queue.entry(ticket.id) is None:
                raise StaleRead  # called meanwhile: the retry refuses it as a called ticket
            queue.move_back(ticket.id, places, now)
            self.store.save_in_context(context, ticket, queue)
        return ticket_view(self.store, ticket, queue)

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
        ticket = self.store.load(Ticket, ticket_id, context.tenant_id, TicketNotFound)
        ticket.check_can("transfer")
        # The ticket's queue (left if it waits there) and the target, locked together.
        queue_ids = (
            {to_queue_id, ticket.queue_id}
            if ticket.status == TicketStatus.WAITING
            else {to_queue_id}
        )
        with self.queue_lock.holding(queue_ids):
            target = self.store.load(Queue, to_queue_id, context.tenant_id, QueueNotFound)
            target.check_accepting()
            service_id = ticket.service_id if ticket.service_id in target.service_ids else None
            service = self.store.load(
                Service, service_id or target.service_ids[0], context.tenant_id, ResourceNotFound
            )
            changed: list = [ticket, target]
            if ticket.status == TicketStatus.WAITING:
                # The source may be the target (re-placing a ticket): one object, one version.
                source = (
                    target
                    if ticket.queue_id == target.id
                    else self.store.load(Queue, ticket.queue_id, context.tenant_id, QueueNotFound)
                )
                if source.entry(ticket.id) is None:
                    raise StaleRead  # called meanwhile: retry and transfer it as a called ticket
                source.remove(ticket.id, reason="transferred")
                if source is not target:
                    changed.append(source)
            elif ticket.agent_id is not None:
                changed.extend(self._released_agent(ticket.agent_id, ticket.id))
            now = self.store.clock()
            ticket.transfer(target.id, service.id, where.value, now)
            target.join(
                ticket.id,
                ticket.priority,
                ticket.issued_at,
                service.target_wait_minutes * 60,
                where,
            )
            self.store.save_in_context(context, *changed)
        return ticket_view(self.store, ticket, target)

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView:
        """A ticket with its position and ETA when waiting."""
        return ticket_view(
            self.store, self.store.load(Ticket, ticket_id, tenant_id, TicketNotFound)
        )

    def get_next_waiting(self, tenant_id: UUID, queue_id: UUID, count: int) -> list[TicketView]:
        """The first ``count`` tickets of a queue's waiting line, in the order they will be
        called (position 1 first): who is about to be called, without loading the whole line."""
        queue = self.store.load(Queue, queue_id, tenant_id, QueueNotFound)
        head = order_waiting(queue.waiting, self.store.clock(), Policy(queue.policy))[:count]
        tickets = [self.store.load(Ticket, e.ticket_id, tenant_id, TicketNotFound) for e in head]
        # The queue and its tickets are read one after the other: a ticket transferred or
        # called in between is no longer this line's (a notifier must not tell it, under its
        # new stint, that its turn is near here).
        return [
            ticket_view(self.store, ticket, queue)
            for ticket in tickets
            if ticket.queue_id == queue_id and ticket.status == TicketStatus.WAITING
        ]

    # -- helpers ---------------------------------------------------------------------------------

    def _released_agent(self, agent_id: UUID, ticket_id: UUID) -> list:
        agent = self.store.find(Agent, agent_id)
        if agent is None or agent.current_ticket_id != ticket_id:
            return []  # the agent has moved on already (released by an earlier transfer)
        agent.release_ticket(ticket_id)
        return [agent]

    def _served_appointment(self, ticket: Ticket, at: datetime) -> list[Appointment]:
        """The appointment this completed ticket serves, if its check-in (on time) issued it;
        a late walk-in's appointment stays missed."""
        if ticket.appointment_id is None:
            return []
        appointment = self.store.find(Appointment, ticket.appointment_id)
        if appointment is None or not appointment.is_servable:
            return []
        appointment.serve(ticket.id, at)
        return [appointment]

    def _release_and_save(
        self, context: CommandContext, ticket: Ticket, *others: object
    ) -> TicketView:
        changed: list = [ticket, *others]
        if ticket.agent_id is not None:
            changed.extend(self._released_agent(ticket.agent_id, ticket.id))
        self.store.save_in_context(context, *changed)
        return ticket_view(self.store, ticket)


def ticket_view(store: SmartQueue, ticket: Ticket, queue: Queue | None = None) -> TicketView:
    """The ticket with its exact position when waiting. ``eta_seconds`` is left to the read
    side's estimator (``TicketQueries.with_eta``), which knows who is on duty."""
    position = None
    if ticket.status == TicketStatus.WAITING:
        queue = queue or store.load(Queue, ticket.queue_id, ticket.tenant_id, QueueNotFound)
        position = queue.position_of(ticket.id, store.clock())
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


def numbered_ticket(
    store: SmartQueue, queue: Queue, service: Service, now: datetime, **fields: Any
) -> tuple[DailyCounter, Ticket]:
    """A new ticket of ``service`` in ``queue``, issued ``now`` and numbered by the service's
    counter of the queue's local day, and that counter: save both with the queue, in one
    transaction. Two first tickets of the day both create the counter: one save wins, the other
    retries (and two queues serving one service share its counter the same way)."""
    day = local_day(now, queue.timezone)
    counter = store.find(DailyCounter, DailyCounter.create_id(service.id, day))
    counter = counter or DailyCounter(service_id=service.id, day=day)
    ticket = Ticket(
        tenant_id=queue.tenant_id,
        queue_id=queue.id,
        service_id=service.id,
        number=format_ticket_number(service.code, counter.take()),
        issued_at=now,
        **fields,
    )
    return counter, ticket


def local_day(moment: datetime, timezone: str) -> str:
    """The calendar day at the site when ``moment`` happened, as ``YYYY-MM-DD``."""
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()
