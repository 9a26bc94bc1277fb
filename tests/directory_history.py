"""Random histories of a tenant's queues and agents, and the lists the aggregates make of them.

A history is a list of steps drawn by hypothesis; :class:`Directory` plays them through a real
``SmartQueue`` (in memory for unit tests, on PostgreSQL for integration tests). Refused commands
record nothing, like a refused HTTP command, and the history goes on.

:func:`replayed_queues` and :func:`replayed_agents` are what ``list_queues`` and ``list_agents``
did before the directory read model: load the tenant, then every queue or agent. They live here
only, as the reference the read model must equal.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from hypothesis import strategies as st

from application.app import SmartQueue
from application.context import CommandContext
from application.queues import queue_view
from application.staffing import agent_view
from application.views import AgentView, QueueView
from domain.agents import Agent
from domain.errors import DomainError
from domain.queues import Queue
from domain.tenancy import Tenant

POLICIES = ("fifo", "priority", "sla")
STATUSES = ("available", "busy", "paused", "offline")

ISSUE = st.tuples(st.just("issue"), st.integers(0, 9), st.integers(0, 3))
CALL = st.tuples(st.just("call"), st.integers(0, 9), st.integers(0, 9))
# Tickets come and go more often than queues and staff change: issue and call weigh three times.
STEP = st.one_of(
    ISSUE,
    ISSUE,
    CALL,
    CALL,
    st.tuples(st.just("site")),
    st.tuples(st.just("queue"), st.integers(0, 2), st.sampled_from(POLICIES)),
    st.tuples(st.just("user"), st.sampled_from(("agent", "manager"))),
    st.tuples(st.just("rename"), st.integers(0, 9), st.sampled_from(("Ann", "Bo", "Cy"))),
    st.tuples(st.just("status"), st.integers(0, 9), st.sampled_from(STATUSES)),
    st.tuples(st.just("counter"), st.integers(0, 9), st.sampled_from(("1", "2", None))),
    st.tuples(st.just("assign"), st.integers(0, 9), st.lists(st.integers(0, 9), max_size=3)),
    ISSUE,
    CALL,
    st.tuples(st.just("finish"), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("cancel"), st.integers(0, 30)),
    st.tuples(st.just("transfer"), st.integers(0, 30), st.integers(0, 9)),
    st.tuples(st.just("reconfigure"), st.integers(0, 9), st.sampled_from(POLICIES), st.booleans()),
    st.tuples(st.sampled_from(("pause", "resume", "close")), st.integers(0, 9)),
    st.tuples(st.just("auto_no_show"), st.integers(0, 9), st.sampled_from((None, 1, 5))),
    st.tuples(st.just("project"), st.integers(1, 7)),
)
HISTORY = st.lists(STEP, min_size=10, max_size=40)


@dataclass
class Directory:
    """A tenant with a site, two services, a queue and two available agents, whose queues and
    agents a history grows."""

    app: Any
    """The contexts the history drives (the unit tests' ``Contexts`` or a ``Container``), with
    their store as ``app.app``."""
    tenant_id: UUID
    service_ids: list[UUID]
    site_ids: list[UUID]
    queue_ids: list[UUID] = field(default_factory=list)
    user_ids: list[UUID] = field(default_factory=list)
    tickets: list[UUID] = field(default_factory=list)

    @classmethod
    def open(cls, app: Any) -> Directory:
        tenant_id = app.tenancy.create_tenant(
            CommandContext.system(None), f"dir-{uuid.uuid4().hex[:12]}", "Directory tenant"
        )
        context = CommandContext.system(tenant_id, reason="test")
        site = app.catalogue.add_site(context, "Main", "Europe/Paris")
        services = [
            app.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10).id,
            app.catalogue.add_service(context, "Loans", "L", target_wait_minutes=3).id,
        ]
        directory = cls(app, tenant_id, services, [site.id])
        # A queue and two agents on duty to start with, so short histories call and serve.
        opening = [("queue", 0, "fifo"), ("user", "agent"), ("user", "agent")]
        directory.play(
            [*opening, ("status", 0, "available"), ("status", 1, "available")], lambda _: None
        )
        return directory

    @property
    def context(self) -> CommandContext:
        return CommandContext.system(self.tenant_id, reason="test")

    def play(self, steps: list[tuple[Any, ...]], project: Callable[[int], None]) -> None:
        """Run ``steps``; ``project(batch_size)`` is called where the history says so."""
        for step in steps:
            with contextlib.suppress(DomainError):
                self._step(step, project)

    def _queue(self, index: int) -> UUID | None:
        return self.queue_ids[index % len(self.queue_ids)] if self.queue_ids else None

    def _agent(self, index: int) -> UUID | None:
        if not self.user_ids:
            return None
        return Agent.create_id(self.user_ids[index % len(self.user_ids)])

    def _step(self, step: tuple[Any, ...], project: Callable[[int], None]) -> None:
        app, context, action = self.app, self.context, step[0]
        if action == "site":
            self.site_ids.append(
                app.catalogue.add_site(context, f"Site {len(self.site_ids)}", "UTC").id
            )
        elif action == "queue":
            site_id = self.site_ids[step[1] % len(self.site_ids)]
            name = f"Queue {len(self.queue_ids)}"
            self.queue_ids.append(
                app.queues.open_queue(context, name, site_id, self.service_ids[:1], step[2]).id
            )
        elif action == "user":
            user_id = uuid.uuid4()
            app.tenancy.register_user(context, user_id, f"{user_id}@x.test", "Someone", step[1])
            self.user_ids.append(user_id)
        elif action == "project":
            project(step[1])
        elif action == "rename" and self.user_ids:
            user_id = self.user_ids[step[1] % len(self.user_ids)]
            app.tenancy.change_user(context, user_id, name=step[2])
        elif action in ("cancel", "transfer"):
            self._ticket_step(step)
        else:
            self._queue_or_agent_step(step)

    def _queue_or_agent_step(self, step: tuple[Any, ...]) -> None:
        app, context, action = self.app, self.context, step[0]
        queue_id, agent_id = self._queue(step[1]), self._agent(step[1])
        if action == "status" and agent_id:
            app.staffing.set_agent_status(context, agent_id, step[2])
        elif action == "counter" and agent_id:
            app.staffing.assign_agent_counter(context, agent_id, step[2])
        elif action == "assign" and agent_id and self.queue_ids:
            chosen = list(dict.fromkeys(self.queue_ids[i % len(self.queue_ids)] for i in step[2]))
            app.staffing.assign_agent_queues(context, agent_id, chosen)
        elif action == "issue" and queue_id:
            self.tickets.append(app.tickets.issue_ticket(context, queue_id, priority=step[2]).id)
        elif action == "call" and agent_id:
            app.staffing.call_next(context, agent_id, self._queue(step[2]))
        elif action == "finish" and agent_id:
            held = app.staffing.get_agent(self.tenant_id, agent_id).current_ticket_id
            if held is not None and step[2]:
                app.tickets.start_ticket(context, held)
                app.tickets.close_ticket(context, held)
            elif held is not None:
                app.tickets.mark_no_show(context, held)
        elif action == "reconfigure" and queue_id:
            # Renamed and serving both services (the second first), or back to the first only.
            name, services = (
                (f"Renamed {step[1]}", self.service_ids[::-1])
                if step[3]
                else (
                    None,
                    self.service_ids[:1],
                )
            )
            app.queues.reconfigure_queue(
                context, queue_id, name=name, service_ids=services, algorithm=step[2]
            )
        elif action == "auto_no_show" and queue_id:
            app.queues.reconfigure_queue(context, queue_id, auto_no_show_minutes=step[2])
        elif action in ("pause", "resume", "close") and queue_id:
            getattr(app.queues, f"{action}_queue")(context, queue_id)

    def _ticket_step(self, step: tuple[Any, ...]) -> None:
        if not self.tickets:
            return
        ticket_id = self.tickets[step[1] % len(self.tickets)]
        if step[0] == "cancel":
            self.app.tickets.cancel_ticket(self.context, ticket_id)
        elif (queue_id := self._queue(step[2])) is not None:
            self.app.tickets.transfer_ticket(self.context, ticket_id, queue_id)

    def replayed_queues(self, site_id: UUID | None = None) -> list[QueueView]:
        return replayed_queues(self.app.app, self.tenant_id, site_id)

    def replayed_agents(self) -> list[AgentView]:
        return replayed_agents(self.app.app, self.tenant_id)


def replayed_queues(
    app: SmartQueue, tenant_id: UUID, site_id: UUID | None = None
) -> list[QueueView]:
    """Every queue of the tenant as its aggregate says, in the tenant's order."""
    tenant = app.repository.get(tenant_id)
    assert isinstance(tenant, Tenant)
    queues = [app.repository.get(queue_id) for queue_id in tenant.queue_ids]
    return [
        queue_view(queue)
        for queue in queues
        if isinstance(queue, Queue) and (site_id is None or queue.site_id == site_id)
    ]


def replayed_agents(app: SmartQueue, tenant_id: UUID) -> list[AgentView]:
    """Every agent of the tenant as its aggregate says, in the order its users were added."""
    tenant = app.repository.get(tenant_id)
    assert isinstance(tenant, Tenant)
    agents = [app.repository.get(Agent.create_id(user_id)) for user_id in tenant.user_ids]
    return [agent_view(agent) for agent in agents if isinstance(agent, Agent)]
