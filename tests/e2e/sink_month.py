"""The generated month of tests/e2e/test_sink_agrees_with_api.py: a tenant of two sites in two
time zones, played through the application layer with a controlled clock, in simulated-time
order (a heap of arrivals, agents' next actions and customers leaving)."""

from __future__ import annotations

import heapq
import itertools
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from application.context import CommandContext
from domain.agents import Agent
from infrastructure.container import Container
from tests.e2e.support import (
    PASSWORD,
    Tenant,
)

ARRIVALS_PER_QUEUE_DAY = 5  # about 670 tickets, 6,300 events in all


class Clock:
    """The application's clock, moved by the simulation."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Floor:
    """The tenant as the month plays it: queues by site, each agent on one queue."""

    tenant: Tenant
    context: CommandContext
    queues: dict[UUID, ZoneInfo] = field(default_factory=dict)  # queue -> its site's zone
    site_queues: dict[UUID, list[UUID]] = field(default_factory=dict)
    agents: dict[UUID, UUID] = field(default_factory=dict)  # agent -> its queue


def set_up_floor(container: Container, clock: Clock) -> Floor:
    slug = f"agree-{uuid.uuid4().hex[:10]}"
    email = f"admin@{slug}.test"
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, "Agreeing tenant", email, PASSWORD
    )
    floor = Floor(Tenant(str(tenant_id), slug, email, PASSWORD), CommandContext.system(tenant_id))
    context, catalogue = floor.context, container.catalogue
    services = [
        catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10).id,
        catalogue.add_service(context, "Loans", "L", target_wait_minutes=20).id,
    ]
    for site_name, zone in (("Paris", "Europe/Paris"), ("Montreal", "America/Montreal")):
        site_id = catalogue.add_site(context, site_name, zone).id
        floor.site_queues[site_id] = []
        for service_id in services:
            queue_id = container.queues.open_queue(
                context, f"{site_name} {service_id.hex[:4]}", site_id, [service_id], "fifo"
            ).id
            floor.queues[queue_id] = ZoneInfo(zone)
            floor.site_queues[site_id].append(queue_id)
    # Five agents: two on the first Paris queue, one on each other queue.
    served = list(floor.queues)
    for number, queue_id in enumerate([served[0], *served]):
        user = container.identity.create_user(
            context, f"agent{number}@{slug}.test", PASSWORD, f"Agent {number}", "agent"
        )
        agent_id = Agent.create_id(user.id)
        container.staffing.set_agent_status(context, agent_id, "available")
        if number % 2 == 0:  # the others are placed by their calls' queue
            container.staffing.assign_agent_queues(context, agent_id, [queue_id])
        floor.agents[agent_id] = queue_id
    return floor


class Month:
    """The generated month, played in simulated-time order through the application."""

    def __init__(self, container: Container, floor: Floor, clock: Clock, seed: int) -> None:
        self.app, self.floor, self.clock = container, floor, clock
        self.rng = random.Random(seed)
        self.heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self.sequence = itertools.count()
        self.waiting: dict[UUID, list[UUID]] = {queue_id: [] for queue_id in floor.queues}
        self.idle: set[UUID] = set(floor.agents)
        self.away: set[UUID] = set()  # paused or offline
        self.feedbacks = 0
        self.tickets = 0
        self.other_queue = {
            queue_id: next(other for other in queues if other != queue_id)
            for queues in floor.site_queues.values()
            for queue_id in queues
        }

    def later(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.heap, (moment, next(self.sequence), action))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def plan_day(self, day: date) -> None:
        for queue_id, zone in self.floor.queues.items():
            opening = datetime(day.year, day.month, day.day, 8, tzinfo=zone).astimezone(UTC)
            count = self.rng.randint(ARRIVALS_PER_QUEUE_DAY // 2, ARRIVALS_PER_QUEUE_DAY * 3 // 2)
            for _ in range(count):  # 08:00-18:00 at the site, whatever the UTC offset that day
                arrival = opening + timedelta(seconds=self.rng.randrange(10 * 3600))
                self.later(arrival, lambda q=queue_id: self.arrive(q))

    def plan_shifts(self, day: date) -> None:
        """Each agent comes in at 07:45 at their site, takes a break around noon and goes home
        at 19:00 (each step waits until the agent holds no ticket)."""
        for agent_id, queue_id in self.floor.agents.items():
            zone = self.floor.queues[queue_id]
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone).astimezone(UTC)
            self.later(noon - timedelta(minutes=255), lambda a=agent_id: self.come_in(a))
            self.later(noon + self.minutes(0, 90), lambda a=agent_id, n=noon: self.pause(a, n))
            self.later(noon + timedelta(hours=7), lambda a=agent_id: self.go_home(a))

    def status(self, agent_id: UUID, status: str) -> None:
        self.app.staffing.set_agent_status(self.floor.context, agent_id, status)

    def come_in(self, agent_id: UUID) -> None:
        if agent_id in self.away:
            self.away.discard(agent_id)
            self.status(agent_id, "available")
            self.free(agent_id)

    def pause(self, agent_id: UUID, noon: datetime) -> None:
        if agent_id in self.away or self.clock.now > noon + timedelta(hours=3):
            return
        if agent_id not in self.idle:  # holding a ticket: a little later
            self.later(self.clock.now + timedelta(minutes=5), lambda: self.pause(agent_id, noon))
            return
        self.idle.discard(agent_id)
        self.away.add(agent_id)
        self.status(agent_id, "paused")
        self.later(self.clock.now + self.minutes(20, 45), lambda: self.come_in(agent_id))

    def go_home(self, agent_id: UUID) -> None:
        if agent_id in self.away:
            return
        if agent_id not in self.idle:
            self.later(self.clock.now + timedelta(minutes=15), lambda: self.go_home(agent_id))
            return
        self.idle.discard(agent_id)
        self.away.add(agent_id)
        self.status(agent_id, "offline")

    def play(self, until: datetime) -> None:
        while self.heap and self.heap[0][0] <= until:
            moment, _, action = heapq.heappop(self.heap)
            self.clock.now = moment
            action()

    def wake(self, queue_id: UUID) -> None:
        for agent_id in sorted(self.idle):
            if self.floor.agents[agent_id] == queue_id:
                self.idle.discard(agent_id)
                self.later(self.clock.now, lambda a=agent_id: self.free(a))
                return

    def arrive(self, queue_id: UUID) -> None:
        channel = self.rng.choice(("kiosk", "kiosk", "web", "phone", "counter"))
        ticket_id = self.app.tickets.issue_ticket(self.floor.context, queue_id, channel=channel).id
        self.tickets += 1
        self.waiting[queue_id].append(ticket_id)
        if self.rng.random() < 0.06:  # some leave if not called soon enough
            self.later(self.clock.now + self.minutes(2, 30), lambda: self.leave(ticket_id))
        self.wake(queue_id)

    def leave(self, ticket_id: UUID) -> None:
        for line in self.waiting.values():
            if ticket_id in line:
                line.remove(ticket_id)
                self.app.tickets.cancel_ticket(self.floor.context, ticket_id, "left")

    def free(self, agent_id: UUID) -> None:
        """The agent, free, calls the next ticket of its queue or goes idle."""
        queue_id = self.floor.agents[agent_id]
        if not self.waiting[queue_id]:
            self.idle.add(agent_id)
            return
        called = self.app.staffing.call_next(self.floor.context, agent_id, queue_id)
        assert called is not None and called.id == self.waiting[queue_id].pop(0)
        ticket_id, now, draw = called.id, self.clock.now, self.rng.random()
        if draw < 0.07:
            self.later(
                now + self.minutes(1, 3), lambda: self.end(agent_id, "mark_no_show", ticket_id)
            )
        elif draw < 0.10:
            self.later(
                now + self.minutes(0.5, 2), lambda: self.end(agent_id, "cancel_ticket", ticket_id)
            )
        else:
            started = now + self.minutes(0.2, 1.5)
            self.later(started, lambda: self.command("start_ticket", ticket_id))
            if draw > 0.95:  # sent on to the site's other queue
                moment = started + self.minutes(1, 4)
                self.later(moment, lambda: self.transfer(agent_id, ticket_id, queue_id))
            else:
                moment = started + self.minutes(2, 15)
                self.later(moment, lambda: self.end(agent_id, "close_ticket", ticket_id))

    def command(self, name: str, ticket_id: UUID) -> None:
        getattr(self.app.tickets, name)(self.floor.context, ticket_id)

    def end(self, agent_id: UUID, name: str, ticket_id: UUID) -> None:
        self.command(name, ticket_id)
        if name == "close_ticket" and self.rng.random() < 0.35:  # on the day, or the next
            self.later(self.clock.now + self.minutes(1, 600), lambda: self.answer(ticket_id))
        self.free(agent_id)

    def answer(self, ticket_id: UUID) -> None:
        """The customer gives CSAT only, NPS only or both."""
        feedback = self.app.feedback
        assert feedback is not None
        # The link's pass is checked against the wall clock: issue it now, for now.
        link = feedback.feedback_link(self.floor.context.tenant_id, ticket_id, datetime.now(UTC))
        kind = self.rng.randrange(3)
        feedback.submit_feedback(
            link.rsplit("/", 1)[-1],
            csat=self.rng.randint(1, 5) if kind != 1 else None,
            nps=self.rng.randint(0, 10) if kind != 0 else None,
        )
        self.feedbacks += 1

    def transfer(self, agent_id: UUID, ticket_id: UUID, queue_id: UUID) -> None:
        target = self.other_queue[queue_id]
        self.app.tickets.transfer_ticket(self.floor.context, ticket_id, target)
        self.waiting[target].append(ticket_id)
        self.wake(target)
        self.free(agent_id)
