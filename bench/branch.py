"""A simulated branch: one tenant with queues and agents, driven one command at a time through
the application layer, with a realistic mix of what happens at counters.

Customers take tickets (kiosk, web, phone; some with priority); agents call the next ticket,
start, close, sometimes recall, mark no-show, transfer to another queue or pause the service;
agents go on break and come back. Each :meth:`Branch.step` issues exactly one command. The
branch keeps only what it needs to choose a legal next command (which agent holds which ticket),
so a command is refused only by a real conflict, never by the simulator's mistake.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from uuid import UUID

from application.context import CommandContext
from bench.workloads import service_code
from domain.agents import Agent
from infrastructure.container import Container

CHANNELS = ("kiosk", "kiosk", "web", "mobile", "phone", "counter")
POLICIES = ("fifo", "priority", "sla")
AGENT_PASSWORD = "bench-password"


@dataclass
class Counter:
    """One agent and the ticket it holds (``held`` is called, serving or paused)."""

    user_id: UUID
    agent_id: UUID
    queue_ids: list[UUID]
    on_break: bool = False
    ticket_id: UUID | None = None
    held: str | None = None


@dataclass
class Branch:
    """A tenant of its own, so branches driven from different threads share no aggregate."""

    app: Container
    tenant_id: UUID
    queue_ids: list[UUID]
    counters: list[Counter]
    rng: random.Random
    waiting: int = 0

    @classmethod
    def open(cls, container: Container, seed: int, *, queues: int = 3, agents: int = 4) -> Branch:
        """Create the tenant, a site, one service and queue per policy, and available agents."""
        slug = f"branch-{uuid.uuid4().hex[:10]}"
        tenant_id = container.tenancy.create_tenant(
            CommandContext.system(None), slug, f"Branch {seed}"
        )
        admin = CommandContext.system(tenant_id, reason="bench")
        site = container.catalogue.add_site(admin, "Main street", "Europe/Paris")
        queue_ids = []
        for index in range(queues):
            code = service_code(index)
            service = container.catalogue.add_service(
                admin, f"Service {code}", code, target_wait_minutes=10
            )
            policy = POLICIES[index % len(POLICIES)]
            queue_ids.append(
                container.queues.open_queue(
                    admin, f"Queue {code}", site.id, [service.id], policy
                ).id
            )
        counters = []
        for index in range(agents):
            email = f"agent{index}@{slug}.example"
            user = container.identity.create_user(
                admin, email, AGENT_PASSWORD, f"Agent {index}", "agent", queue_ids=queue_ids
            )
            agent_id = Agent.create_id(user.id)
            container.staffing.set_agent_status(
                admin, agent_id, "available", counter=str(index + 1)
            )
            counters.append(Counter(user.id, agent_id, queue_ids))
        return cls(container, tenant_id, queue_ids, counters, random.Random(seed))

    def _as(self, counter: Counter | None) -> CommandContext:
        """The context of a command: an agent at a counter, or a kiosk for customers."""
        address = (
            f"10.{self.rng.randrange(256)}.{self.rng.randrange(256)}.{self.rng.randrange(256)}"
        )
        if counter is None:
            return CommandContext(tenant_id=self.tenant_id, actor_role="device", client_ip=address)
        return CommandContext(
            tenant_id=self.tenant_id,
            actor_id=counter.user_id,
            actor_role="agent",
            client_ip=address,
        )

    def step(self) -> None:
        """Issue one command, chosen by what is plausible now."""
        if self.waiting < 2 * len(self.counters) and self.rng.random() < 0.45:
            self._issue()
            return
        counter = self.rng.choice(self.counters)
        if counter.on_break:
            self.app.staffing.set_agent_status(self._as(counter), counter.agent_id, "available")
            counter.on_break = False
        elif counter.ticket_id is None:
            self._idle(counter)
        elif counter.held == "called":
            self._called(counter)
        elif counter.held == "serving":
            self._serving(counter)
        else:  # paused service
            self.app.tickets.resume_ticket(self._as(counter), counter.ticket_id)
            counter.held = "serving"

    def _issue(self) -> None:
        priority = self.rng.choice((0, 0, 0, 0, 1, 3, 5))
        queue_id = self.rng.choice(self.queue_ids)
        channel = self.rng.choice(CHANNELS)
        self.app.tickets.issue_ticket(self._as(None), queue_id, priority=priority, channel=channel)
        self.waiting += 1

    def _idle(self, counter: Counter) -> None:
        if self.rng.random() < 0.04:
            self.app.staffing.set_agent_status(self._as(counter), counter.agent_id, "paused")
            counter.on_break = True
            return
        called = self.app.staffing.call_next(self._as(counter), counter.agent_id)
        if called is None:
            self._issue()  # nobody waits: the next customer walks in instead
            return
        self.waiting -= 1
        counter.ticket_id, counter.held = called.id, "called"

    def _called(self, counter: Counter) -> None:
        assert counter.ticket_id is not None
        roll = self.rng.random()
        if roll < 0.08:
            self.app.tickets.recall_ticket(self._as(counter), counter.ticket_id)
        elif roll < 0.16:
            self.app.tickets.mark_no_show(self._as(counter), counter.ticket_id)
            counter.ticket_id = counter.held = None
        else:
            self.app.tickets.start_ticket(self._as(counter), counter.ticket_id)
            counter.held = "serving"

    def _serving(self, counter: Counter) -> None:
        assert counter.ticket_id is not None
        roll = self.rng.random()
        if roll < 0.06:
            self.app.tickets.pause_ticket(self._as(counter), counter.ticket_id)
            counter.held = "paused"
        elif roll < 0.14:
            target = self.rng.choice(self.queue_ids)
            placement = self.rng.choice(("first", "last", "sorted"))
            self.app.tickets.transfer_ticket(
                self._as(counter), counter.ticket_id, target, placement
            )
            counter.ticket_id = counter.held = None
            self.waiting += 1
        else:
            self.app.tickets.close_ticket(self._as(counter), counter.ticket_id)
            counter.ticket_id = counter.held = None
