"""Fixtures for tests against the real PostgreSQL of the session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest

from application.context import CommandContext
from domain.agents import Agent
from infrastructure.container import Container, build_container
from infrastructure.kafka.broker import EmbeddedBroker
from infrastructure.migration import migrate
from tests.conftest import owner_url, runtime_database, settings_for


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
        self.container.staffing.set_agent_status(self.context, agent_id, "available")
        return agent_id

    def open_queue(self, algorithm: str = "fifo") -> UUID:
        """Another queue on the same site and service."""
        queue = self.container.queues.open_queue(
            self.context,
            f"Queue {uuid.uuid4().hex[:4]}",
            self.site_id,
            [self.service_id],
            algorithm,
        )
        return queue.id


def new_world(container: Container, prefix: str = "t", name: str = "Test tenant") -> TenantWorld:
    """A new tenant with a site, a service and a fifo queue."""
    slug = f"{prefix}-{uuid.uuid4().hex[:12]}"
    tenant_id = container.tenancy.create_tenant(CommandContext.system(None), slug, name)
    context = CommandContext.system(tenant_id)
    site = container.catalogue.add_site(context, "Main", "Europe/Paris")
    service = container.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10)
    queue = container.queues.open_queue(context, "Main", site.id, [service.id], "fifo")
    return TenantWorld(container, tenant_id, slug, site.id, service.id, queue.id)


@pytest.fixture
def world(container: Container) -> TenantWorld:
    """Each test gets its own tenant: no test depends on another's data."""
    return new_world(container)


def fresh_container(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory, **extra: str
) -> Iterator[Container]:
    """A container on a new database of its own (``extra``: more settings), dropped after."""
    name = f"sq_rebuild_{uuid.uuid4().hex[:12]}"
    server_url = owner_url(database_url)
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    url = runtime_database(server_url, name)
    home: Path = tmp_path_factory.mktemp("rebuild-home")
    settings = settings_for(url, home, redis_url, **extra)
    migrate(settings)
    built = build_container(settings)
    yield built
    built.close()
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def own_container(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """A database of its own for the module: tests that rebuild or fold the whole log need it
    small (the session's log holds every other test's events)."""
    yield from fresh_container(database_url, redis_url, tmp_path_factory)


@pytest.fixture
def own_world(own_container: Container) -> TenantWorld:
    """A tenant with a site, a service and a queue in the module's own database."""
    return new_world(own_container, "r", "Rebuilt tenant")


def on_own_database(**extra: str) -> tuple[Any, Any]:
    """Fixtures ``container`` and ``world`` on the module's own database, for a module whose
    tests contend for a projection's lock or tracking row: the e2e suites' session-wide
    ``smartqueue projections`` process follows the session database, where it would hold the lock
    and apply the very batches under test. Use as ``container, world = on_own_database()``;
    ``extra`` settings (``SMARTQUEUE_RECORDER="concurrent"``) give the module a container of
    its own with them."""
    if extra:

        @pytest.fixture(scope="module", name="container")
        def own_settings_container(
            database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
        ) -> Iterator[Container]:
            yield from fresh_container(database_url, redis_url, tmp_path_factory, **extra)

        @pytest.fixture(name="world")
        def own_settings_world(container: Container) -> TenantWorld:
            return new_world(container, "r", "Rebuilt tenant")

        return own_settings_container, own_settings_world

    @pytest.fixture
    def container(own_container: Container) -> Container:
        return own_container

    @pytest.fixture
    def world(own_world: TenantWorld) -> TenantWorld:
        return own_world

    return container, world


def on_own_broker() -> Any:
    """A ``kafka_bootstrap`` fixture of the module's own embedded broker (the configured
    ``TEST_KAFKA_BOOTSTRAP_SERVERS`` when set): the relay's tests count every message on the
    topics, and the e2e suites' live fan-out publishes the session's log there too. Use as
    ``kafka_bootstrap = on_own_broker()`` beside ``on_own_database()``."""

    @pytest.fixture(scope="module")
    def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
        configured = os.environ.get("TEST_KAFKA_BOOTSTRAP_SERVERS")
        if configured:
            yield configured
            return
        broker = EmbeddedBroker(tmp_path_factory.mktemp("own-kafka")).start()
        try:
            yield broker.bootstrap_servers
        finally:
            broker.stop()

    return kafka_bootstrap
