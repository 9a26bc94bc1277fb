"""Demo data for a new tenant: enough to call a ticket a minute after cloning."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from application.catalogue import Catalogue
from application.context import CommandContext
from application.customers import Customers
from application.identity import Identity
from application.queues import Queues
from application.staffing import Staffing
from application.tickets import Tickets
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
    customer_email: str
    """The demo customer holding the first waiting ticket, told by email when it is called."""


DEMO_AGENT_NAMES = ("Alice Martin", "Bruno Diallo")


def demo_agent_login(slug: str, index: int) -> tuple[str, str]:
    """The email and password of demo agent ``index`` (from 1): derived from the slug, so
    anyone who read this code knows them."""
    return f"agent{index}@{slug}.example", f"agent{index}-{slug}"


def known_demo_logins(slug: str, admin_email: str, admin_password: str) -> list[tuple[str, str]]:
    """Every sign-in of a demo tenant whose password is public: its admin and its agents."""
    agents = [demo_agent_login(slug, index) for index in range(1, len(DEMO_AGENT_NAMES) + 1)]
    return [(admin_email, admin_password), *agents]


def logins_that_still_work(identity: Identity, logins: list[tuple[str, str]]) -> list[str]:
    """The emails among ``logins`` of active accounts whose password is still the given one
    (checked against the stored hash; no sign-in is attempted, so no limiter counts it)."""
    still_open = []
    for email, password in logins:
        credential = identity.credentials.find_by_email(email)
        if credential is None or not credential.active:
            continue
        if identity.hasher.verify(credential.password_hash, password):
            still_open.append(email)
    return still_open


class DemoContexts(Protocol):
    """The contexts seeding uses (the composition root's container has them all)."""

    identity: Identity
    catalogue: Catalogue
    queues: Queues
    staffing: Staffing
    tickets: Tickets
    customers: Customers


def seed_demo_data(contexts: DemoContexts, context: CommandContext, slug: str) -> DemoData:
    """A site, two services, a FIFO and a priority queue, two agents and a few waiting tickets."""
    identity, catalogue, staffing = contexts.identity, contexts.catalogue, contexts.staffing
    site = catalogue.add_site(context, "Main branch", "Europe/Paris")
    accounts = catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10)
    advice = catalogue.add_service(
        context, "Advice", "B", target_wait_minutes=20, expected_service_minutes=15
    )
    fifo = contexts.queues.open_queue(context, "Accounts", site.id, [accounts.id], "fifo")
    priority = contexts.queues.open_queue(context, "Advice", site.id, [advice.id], "priority")
    agents = []
    for index, name in enumerate(DEMO_AGENT_NAMES, start=1):
        email, password = demo_agent_login(slug, index)
        user = identity.create_user(context, email, password, name, "agent")
        profile = staffing.get_agent(context.tenant_id, Agent.create_id(user.id))
        staffing.assign_agent_queues(context, profile.id, [fifo.id, priority.id])
        staffing.set_agent_status(context, profile.id, "available", counter=str(index))
        agents.append(DemoAgent(email=email, password=password, agent_id=profile.id))
    # The first ticket in line has a customer who chose email: the walk-through's first call
    # sends them "it's your turn", which `smartqueue dev`'s mail catcher shows.
    customer = contexts.customers.register_customer(
        context, "Ada Lovelace", email=f"ada@{slug}.example", channels=["email"], language="en"
    )
    tickets = [
        contexts.tickets.issue_ticket(context, fifo.id, customer_id=customer.id, channel="kiosk"),
        contexts.tickets.issue_ticket(context, fifo.id, channel="web"),
        contexts.tickets.issue_ticket(context, priority.id, channel="kiosk"),
        contexts.tickets.issue_ticket(context, priority.id, priority=5, channel="counter"),
    ]
    return DemoData(
        site_id=site.id,
        fifo_queue_id=fifo.id,
        priority_queue_id=priority.id,
        agents=agents,
        waiting_tickets=[ticket.number for ticket in tickets],
        customer_email=customer.email or "",
    )
