"""What the fan-out benchmark runs against: a scratch database, Redis and a Kafka broker of its own,
SmartQueue role processes (``smartqueue api``, ``projections``, ``relay``, ``gateway``) started on
them, and a tenant with one site, its queues, agents and devices.

Every process started here runs in a session of its own (a Ctrl-C reaches the benchmark, which
stops them) and, on Linux, is sent SIGTERM if the benchmark dies without cleaning up.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

from application.context import CommandContext
from bench.environment import (
    Database,
    reporting_failure,
    scratch_database,
    smartqueue_executable,
    stop_process,
    wait_until_ready,
)
from bench.harness import BenchmarkError
from domain.agents import Agent
from infrastructure.container import Container, build_container
from infrastructure.kafka.broker import EmbeddedBroker, _die_with_parent
from infrastructure.migration import migrate
from infrastructure.redis.server import embedded_redis_url, stop_embedded_redis
from infrastructure.settings import load_settings

AGENT_PASSWORD = "bench-agent-password"
ADMIN_PASSWORD = "bench-admin-password"


@dataclass(frozen=True)
class Services:
    """A scratch database, a Redis and a broker, and the settings every process gets."""

    database: Database
    home: Path
    redis_url: str
    bootstrap_servers: str
    jwt_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    def environment(self, pool_size: int = 4) -> dict[str, str]:
        """The environment of a SmartQueue process (this one's or a role's)."""
        return {
            "DATABASE_URL": self.database.url,
            "REDIS_URL": self.redis_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap_servers,
            "SMARTQUEUE_HOME": str(self.home),
            "SMARTQUEUE_DB_POOL_SIZE": str(pool_size),
            "SMARTQUEUE_JWT_SECRET": self.jwt_secret,
            "SMARTQUEUE_LOG_LEVEL": "WARNING",
            "SMARTQUEUE_LOG_FORMAT": "json",
            # Every client of the benchmark signs in from 127.0.0.1.
            "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "10000/minute",
            "SMARTQUEUE_LOGIN_LIMIT_ACCOUNT": "10000/minute",
            # Up to bench.ws_fleet.CLIENTS_PER_DISPLAY (50) clients share one display's token.
            "SMARTQUEUE_WS_MAX_PER_TOKEN": "100",
            # Throughput, not the limits, is measured: one kiosk and one token drive each lane.
            "SMARTQUEUE_API_LIMIT_TOKEN": "100000000/minute",
            "SMARTQUEUE_KIOSK_LIMIT_DEVICE": "100000000/minute",
            "SMARTQUEUE_KIOSK_LIMIT_QUEUE": "100000000/minute",
            "SMARTQUEUE_QUEUE_MAX_WAITING": "0",
        }

    def container(self, pool_size: int = 4) -> Container:
        """The application on the scratch database, migrated, as a process would wire it."""
        settings = load_settings(self.environment(pool_size))
        migrate(settings)
        return build_container(settings)


@contextlib.contextmanager
def services(server_url: str, workdir: Path) -> Iterator[Services]:
    """A scratch database on ``server_url``, a fresh broker and an embedded Redis, all under
    ``workdir``; stopped and dropped on exit. Each part of the benchmark gets its own, so no
    part's events or consumer groups reach another's."""
    workdir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        database = stack.enter_context(scratch_database(server_url, workdir))
        home = workdir / "home"
        broker = EmbeddedBroker(workdir / "kafka").start()
        stack.callback(reporting_failure(broker.stop, "stop the broker"))
        redis_url = embedded_redis_url(home)
        stack.callback(reporting_failure(lambda: stop_embedded_redis(home), "stop Redis"))
        yield Services(database, home, redis_url, broker.bootstrap_servers)


@dataclass
class Role:
    """A running SmartQueue role process and its log."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise BenchmarkError(f"smartqueue {self.name} exited:\n{tail}")


@contextlib.contextmanager
def running_role(
    services: Services, name: str, arguments: list[str], folder: Path, pool_size: int = 4
) -> Iterator[Role]:
    """``smartqueue <arguments>`` on ``services``; SIGTERM (then SIGKILL) on exit."""
    log_path = folder / f"{name}.log"
    env = {**os.environ, **services.environment(pool_size)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [smartqueue_executable(), *arguments],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
    try:
        yield Role(name, process, log_path)
    finally:
        reporting_failure(lambda: stop_process(process), f"stop smartqueue {name}")()


@contextlib.contextmanager
def running_api(services: Services, name: str, port: int, folder: Path) -> Iterator[str]:
    """A ``smartqueue api`` on 127.0.0.1:``port``, ready; its base URL."""
    arguments = ["api", "--host", "127.0.0.1", "--port", str(port)]
    with running_role(services, name, arguments, folder, pool_size=8) as role:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_ready(base_url, role.process, role.log_path)
        yield base_url


# -- the tenant ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentSeat:
    """An agent user serving one queue at a counter."""

    user_id: UUID
    agent_id: UUID
    email: str
    queue_id: UUID


@dataclass(frozen=True)
class BenchSite:
    """A tenant with one site, its queues (one service each) and an agent per queue."""

    tenant_id: UUID
    slug: str
    site_id: UUID
    queue_ids: list[UUID]
    agents: list[AgentSeat]
    admin_email: str

    def agent_context(self, seat: AgentSeat) -> CommandContext:
        return CommandContext(
            tenant_id=self.tenant_id,
            actor_id=seat.user_id,
            actor_role="agent",
            client_ip="10.0.0.2",
        )

    def kiosk_context(self) -> CommandContext:
        return CommandContext(tenant_id=self.tenant_id, actor_role="device", client_ip="10.0.0.1")


def open_site(container: Container, queues: int) -> BenchSite:
    """Create the tenant (with an admin), the site, ``queues`` queues and their agents."""
    slug = f"fanout-{uuid.uuid4().hex[:8]}"
    admin_email = f"admin@{slug}.example"
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, "Fan-out bench", admin_email, ADMIN_PASSWORD
    )
    admin = CommandContext.system(tenant_id, reason="bench")
    site = container.catalogue.add_site(admin, "Main street", "Europe/Paris")
    queue_ids, agents = [], []
    for index in range(queues):
        code = chr(ord("A") + index)
        service = container.catalogue.add_service(
            admin, f"Service {code}", code, target_wait_minutes=10
        )
        queue_id = container.queues.open_queue(
            admin, f"Queue {code}", site.id, [service.id], "fifo"
        ).id
        email = f"agent{index}@{slug}.example"
        user = container.identity.create_user(
            admin, email, AGENT_PASSWORD, f"Agent {index}", "agent", queue_ids=[queue_id]
        )
        agent_id = Agent.create_id(user.id)
        container.staffing.set_agent_status(admin, agent_id, "available", counter=str(index + 1))
        queue_ids.append(queue_id)
        agents.append(AgentSeat(user.id, agent_id, email, queue_id))
    return BenchSite(tenant_id, slug, site.id, queue_ids, agents, admin_email)
