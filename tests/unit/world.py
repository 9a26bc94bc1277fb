"""A fresh tenant on an in-memory SmartQueue, with a hand-driven clock, for application tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

from application.app import SmartQueue
from application.context import CommandContext
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


@dataclass
class World:
    """One tenant with one site, built fresh for each test."""

    app: TransactionSpy
    clock: Clock
    tenant_id: UUID
    context: CommandContext
    site_id: UUID

    def service(self, code: str = "A", target_wait_minutes: int = 10) -> UUID:
        return self.app.add_service(self.context, f"Service {code}", code, target_wait_minutes).id

    def queue(self, *service_ids: UUID, algorithm: str = "fifo") -> UUID:
        return self.app.open_queue(
            self.context, "Queue", self.site_id, list(service_ids), algorithm
        ).id

    def agent(self, counter: str = "1") -> UUID:
        user_id = uuid4()
        self.app.register_user(self.context, user_id, f"{user_id}@x.test", "Agent", "agent")
        agent_id = Agent.create_id(user_id)
        self.app.set_agent_status(self.context, agent_id, "available", counter)
        return agent_id

    def issue(self, queue_id: UUID, **options) -> str:
        return self.app.issue_ticket(self.context, queue_id, **options).number

    def pause_queue(self, queue_id: UUID) -> None:
        self.app.pause_queue(self.context, queue_id)

    def resume_queue(self, queue_id: UUID) -> None:
        self.app.resume_queue(self.context, queue_id)

    def user(self, role: str = "agent", name: str = "Someone") -> UUID:
        """A staff user of the tenant (no credentials: identity is not involved here)."""
        user_id = uuid4()
        self.app.register_user(self.context, user_id, f"{user_id}@x.test", name, role)
        return user_id


def make_world(
    timezone: str = "Europe/Paris", now: datetime = MORNING, app: TransactionSpy | None = None
) -> World:
    """A new tenant with one site, in a new application or (for isolation tests) a shared one."""
    if app is None:
        directory = MemoryDirectory()
        app = TransactionSpy(
            env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC},
            clock=Clock(now),
            directory=directory,
        )
        directory.log = app  # lists answer from the directory, caught up before each query
    clock = app.clock
    tenant_id = app.create_tenant(CommandContext.system(None), f"t-{uuid4().hex[:12]}", "Tenant")
    context = CommandContext(tenant_id=tenant_id, actor_role="admin")
    site_id = app.add_site(context, "HQ", timezone).id
    return World(app, clock, tenant_id, context, site_id)
