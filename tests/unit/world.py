"""A fresh tenant on an in-memory SmartQueue, with a hand-driven clock, for application tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from application.app import SmartQueue
from application.catalogue import Catalogue
from application.context import CommandContext
from application.customers import CustomerProfiles, Customers
from application.queues import Queues
from application.staffing import Staffing
from application.tenancy import Tenancy
from application.tickets import Tickets
from domain.agents import Agent
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.directory_fakes import MemoryDirectory

MORNING = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


class Clock:
    """A clock that only moves when the test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class TransactionSpy(SmartQueue):
    """SmartQueue that remembers which event types each save recorded together."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.transactions: list[set[str]] = []

    def save(self, *objs, **kwargs):
        recordings = super().save(*objs, **kwargs)
        self.transactions.append({type(r.domain_event).__qualname__ for r in recordings})
        return recordings


class NoProfiles:
    """Stands for the personal-data store where a test registers no customer."""

    def __getattr__(self, name: str):
        raise RuntimeError("no customer profile store was given to this test's world")


@dataclass
class Contexts:
    """Every context of the application over one store, wired as the composition root does
    (devices and identity, which need more ports, are built by the tests that use them)."""

    app: SmartQueue
    tenancy: Tenancy
    catalogue: Catalogue
    queues: Queues
    tickets: Tickets
    staffing: Staffing
    customers: Customers


def contexts_of(
    app: SmartQueue,
    profiles: CustomerProfiles | None = None,
    directory: MemoryDirectory | None = None,
) -> Contexts:
    """The contexts over ``app``; customers keep their personal data in ``profiles``. Lists
    answer from ``directory``, by default one caught up with the log before each query."""
    directory = directory or MemoryDirectory(log=app)
    return Contexts(
        app,
        Tenancy(app),
        Catalogue(app),
        Queues(app, directory),
        Tickets(app),
        Staffing(app, directory),
        Customers(app, profiles or NoProfiles()),  # type: ignore[arg-type]
    )


@dataclass
class World(Contexts):
    """One tenant with one site, built fresh for each test."""

    clock: Clock
    tenant_id: UUID
    context: CommandContext
    site_id: UUID

    def service(self, code: str = "A", target_wait_minutes: int = 10) -> UUID:
        return self.catalogue.add_service(
            self.context, f"Service {code}", code, target_wait_minutes
        ).id

    def queue(self, *service_ids: UUID, algorithm: str = "fifo") -> UUID:
        return self.queues.open_queue(
            self.context, "Queue", self.site_id, list(service_ids), algorithm
        ).id

    def agent(self, counter: str = "1") -> UUID:
        user_id = uuid4()
        self.tenancy.register_user(self.context, user_id, f"{user_id}@x.test", "Agent", "agent")
        agent_id = Agent.create_id(user_id)
        self.staffing.set_agent_status(self.context, agent_id, "available", counter)
        return agent_id

    def issue(self, queue_id: UUID, **options) -> str:
        return self.tickets.issue_ticket(self.context, queue_id, **options).number

    def pause_queue(self, queue_id: UUID) -> None:
        self.queues.pause_queue(self.context, queue_id)

    def resume_queue(self, queue_id: UUID) -> None:
        self.queues.resume_queue(self.context, queue_id)

    def user(self, role: str = "agent", name: str = "Someone") -> UUID:
        """A staff user of the tenant (no credentials: identity is not involved here)."""
        user_id = uuid4()
        self.tenancy.register_user(self.context, user_id, f"{user_id}@x.test", name, role)
        return user_id


def make_world(
    timezone: str = "Europe/Paris",
    now: datetime = MORNING,
    app: TransactionSpy | None = None,
    profiles: CustomerProfiles | None = None,
) -> World:
    """A new tenant with one site, in a new application or (for isolation tests) a shared one."""
    if app is None:
        app = TransactionSpy(
            env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(now)
        )
    uses = contexts_of(app, profiles)
    tenant_id = uses.tenancy.create_tenant(
        CommandContext.system(None), f"t-{uuid4().hex[:12]}", "Tenant"
    )
    context = CommandContext(tenant_id=tenant_id, actor_role="admin")
    site_id = uses.catalogue.add_site(context, "HQ", timezone).id
    return World(
        **vars(uses), clock=app.clock, tenant_id=tenant_id, context=context, site_id=site_id
    )
