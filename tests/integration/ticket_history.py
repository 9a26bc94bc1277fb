"""Random ticket histories over fifo, priority and sla queues, and what the read model must say.

A history is a list of steps drawn by hypothesis; :class:`Floor` plays them through the real
application (PostgreSQL event store). Refused commands (illegal transitions, a busy agent) record
nothing, like a refused HTTP command, and the history goes on.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import msgspec
from hypothesis import strategies as st

from application.context import CommandContext
from application.views import TicketView
from domain.agents import Agent
from domain.errors import DomainError
from domain.queues import Queue
from infrastructure.container import Container
from infrastructure.following.runner import ProjectionRunner, read_models

POLICIES = ("fifo", "priority", "sla")
PLACEMENTS = ("first", "last", "sorted")

STEP = st.one_of(
    st.tuples(st.just("issue"), st.integers(0, 2), st.integers(0, 3), st.integers(0, 1)),
    st.tuples(st.just("call"), st.integers(0, 2), st.integers(0, 1)),
    st.tuples(
        st.just("transfer"), st.integers(0, 30), st.integers(0, 2), st.sampled_from(PLACEMENTS)
    ),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("more_time"), st.integers(0, 30), st.integers(1, 4)),
    st.tuples(st.just("serve"), st.integers(0, 1)),
    st.tuples(st.just("no_show"), st.integers(0, 1)),
    st.tuples(st.just("policy"), st.integers(0, 2), st.sampled_from(POLICIES)),
    st.tuples(st.just("project"), st.integers(1, 7)),
)
HISTORY = st.lists(STEP, min_size=1, max_size=30)


@dataclass
class Floor:
    """A tenant with two services (10 and 3 minutes' target wait), a fifo, a priority and an sla
    queue serving both, and two available agents."""

    container: Container
    tenant_id: UUID
    queue_ids: list[UUID]
    service_ids: list[UUID]
    agent_ids: list[UUID]
    tickets: list[UUID] = field(default_factory=list)

    @classmethod
    def open(cls, container: Container) -> Floor:
        slug = f"tk-{uuid.uuid4().hex[:12]}"
        tenant_id = container.tenancy.create_tenant(
            CommandContext.system(None), slug, "Tickets tenant"
        )
        context = CommandContext.system(tenant_id, reason="test")
        site = container.catalogue.add_site(context, "Main", "Europe/Paris")
        services = [
            container.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10).id,
            container.catalogue.add_service(context, "Loans", "L", target_wait_minutes=3).id,
        ]
        queues = [
            container.queues.open_queue(context, p, site.id, services, p).id for p in POLICIES
        ]
        agents = []
        for index in range(2):
            user = container.identity.create_user(
                context, f"agent{index}@{slug}.example", "password1", f"Agent {index}", "agent"
            )
            agent_id = Agent.create_id(user.id)
            container.staffing.set_agent_status(context, agent_id, "available")
            agents.append(agent_id)
        return cls(container, tenant_id, queues, services, agents)

    @property
    def context(self) -> CommandContext:
        return CommandContext.system(self.tenant_id, reason="test")

    def play(self, steps: list[tuple[Any, ...]], project: Callable[[int], None]) -> None:
        """Run ``steps``; ``project(batch_size)`` is called where the history says so."""
        for step in steps:
            with contextlib.suppress(DomainError):
                self._step(step, project)

    def _step(self, step: tuple[Any, ...], project: Callable[[int], None]) -> None:
        context = self.context
        action = step[0]
        if action == "issue":
            _, queue, priority, service = step
            ticket = self.container.tickets.issue_ticket(
                context,
                self.queue_ids[queue],
                service_id=self.service_ids[service],
                priority=priority,
            )
            self.tickets.append(ticket.id)
        elif action == "call":
            _, queue, agent = step
            self.container.staffing.call_next(context, self.agent_ids[agent], self.queue_ids[queue])
        elif action == "policy":
            _, queue, policy = step
            self.container.queues.reconfigure_queue(
                context, self.queue_ids[queue], algorithm=policy
            )
        elif action == "project":
            project(step[1])
        elif action in ("serve", "no_show"):
            held = self.container.staffing.get_agent(
                self.tenant_id, self.agent_ids[step[1]]
            ).current_ticket_id
            if held is None:
                return
            if action == "serve":
                self.container.tickets.start_ticket(context, held)
                self.container.tickets.close_ticket(context, held)
            else:
                self.container.tickets.mark_no_show(context, held)
        elif self.tickets:
            ticket = self.tickets[step[1] % len(self.tickets)]
            if action == "cancel":
                self.container.tickets.cancel_ticket(context, ticket)
            elif action == "more_time":
                self.container.tickets.give_more_time(context, ticket, step[2])
            else:
                _, _, queue, placement = step
                self.container.tickets.transfer_ticket(
                    context, ticket, self.queue_ids[queue], placement
                )

    def written(self, ticket_id: UUID) -> TicketView:
        """The ticket as the write model answers (its ETA left out: the read side's differs)."""
        view = self.container.tickets.get_ticket(self.tenant_id, ticket_id)
        return msgspec.structs.replace(view, eta_seconds=None)

    def write_model_positions(self) -> dict[UUID, int]:
        """Every waiting ticket's position, by ``Queue.position_of`` of the write model."""
        positions: dict[UUID, int] = {}
        now = self.container.app.clock()
        for queue_id in self.queue_ids:
            queue = self.container.app.repository.get(queue_id)
            assert isinstance(queue, Queue)
            for entry in queue.waiting:
                position = queue.position_of(entry.ticket_id, now)
                assert position is not None
                positions[entry.ticket_id] = position
        return positions


def tickets_runner(container: Container, **options: Any) -> ProjectionRunner:
    """A runner of the tickets projection over the container's application."""
    return ProjectionRunner(
        read_models()["tickets"], container.app.recorder, container.app.mapper, **options
    )
