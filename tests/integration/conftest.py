"""Fixtures for tests against the real PostgreSQL of the session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from uuid import UUID

import pytest

from application.context import CommandContext
from domain.agents import Agent
from infrastructure.container import Container, build_container


@pytest.fixture(scope="session")
def container(settings) -> Iterator[Container]:
    """The application wired to the session's database, as a process would have it."""
    built = build_container(settings)
    yield built
    built.close()


@dataclass
class TenantWorld:
    """A fresh tenant with a site, a service and a queue, and a way to add agents."""

    container: Container
    tenant_id: UUID
    slug: str
    site_id: UUID
    service_id: UUID
    queue_id: UUID

    @property
    def context(self) -> CommandContext:
        return CommandContext.system(self.tenant_id, reason="test")

    def add_available_agent(self, name: str = "Agent") -> UUID:
        """A new agent user, available, returning the agent id."""
        user = self.container.identity.create_user(
            self.context, f"{uuid.uuid4().hex[:10]}@{self.slug}.example", "password1", name, "agent"
        )
        agent_id = Agent.create_id(user.id)
        self.container.app.set_agent_status(self.context, agent_id, "available")
        return agent_id

    def open_queue(self, algorithm: str = "fifo") -> UUID:
        """Another queue on the same site and service."""
        queue = self.container.app.open_queue(
            self.context,
            f"Queue {uuid.uuid4().hex[:4]}",
            self.site_id,
            [self.service_id],
            algorithm,
        )
        return queue.id


@pytest.fixture
def world(container: Container) -> TenantWorld:
    """Each test gets its own tenant: no test depends on another's data."""
    app = container.app
    slug = f"t-{uuid.uuid4().hex[:12]}"
    tenant_id = app.create_tenant(CommandContext.system(None), slug, "Test tenant")
    context = CommandContext.system(tenant_id)
    site = app.add_site(context, "Main", "Europe/Paris")
    service = app.add_service(context, "Accounts", "A", target_wait_minutes=10)
    queue = app.open_queue(context, "Main", site.id, [service.id], "fifo")
    return TenantWorld(container, tenant_id, slug, site.id, service.id, queue.id)
