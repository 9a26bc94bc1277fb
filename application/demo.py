"""Demo data for a new tenant: enough to call a ticket a minute after cloning."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from application.context import CommandContext
from application.identity import Identity
from domain.agents import Agent


@dataclass(frozen=True)
class DemoAgent:
    """Credentials printed for the operator."""

    email: str
    password: str
    agent_id: UUID


@dataclass(frozen=True)
class DemoData:
    """What ``--with-demo-data`` created."""

    site_id: UUID
    fifo_queue_id: UUID
    priority_queue_id: UUID
    agents: list[DemoAgent]
    waiting_tickets: list[str]


def seed_demo_data(identity: Identity, context: CommandContext, slug: str) -> DemoData:
    """A site, two services, a FIFO and a priority queue, two agents and a few waiting tickets."""
    app = identity.app
    site = app.add_site(context, "Main branch", "Europe/Paris")
    accounts = app.add_service(context, "Accounts", "A", target_wait_minutes=10)
    advice = app.add_service(
        context, "Advice", "B", target_wait_minutes=20, expected_service_minutes=15
    )
    fifo = app.open_queue(context, "Accounts", site.id, [accounts.id], "fifo")
    priority = app.open_queue(context, "Advice", site.id, [advice.id], "priority")
    agents = []
    for index, name in enumerate(("Alice Martin", "Bruno Diallo"), start=1):
        email = f"agent{index}@{slug}.example"
        password = f"agent{index}-{slug}"
        user = identity.create_user(context, email, password, name, "agent")
        profile = app.get_agent(context.tenant_id, Agent.create_id(user.id))
        app.assign_agent_queues(context, profile.id, [fifo.id, priority.id])
        app.set_agent_status(context, profile.id, "available", counter=str(index))
        agents.append(DemoAgent(email=email, password=password, agent_id=profile.id))
    tickets = [
        app.issue_ticket(context, fifo.id, channel="kiosk"),
        app.issue_ticket(context, fifo.id, channel="web"),
        app.issue_ticket(context, priority.id, channel="kiosk"),
        app.issue_ticket(context, priority.id, priority=5, channel="counter"),
    ]
    return DemoData(
        site_id=site.id,
        fifo_queue_id=fifo.id,
        priority_queue_id=priority.id,
        agents=agents,
        waiting_tickets=[ticket.number for ticket in tickets],
    )
