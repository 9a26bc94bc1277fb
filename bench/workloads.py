"""What one caller does: a ticket cycle through the application layer or over HTTP, or a raw
one-row insert transaction. Also the fresh tenant each run works in.
"""

from __future__ import annotations

import string
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import psycopg
from eventsourcing.persistence import IntegrityError
from psycopg import sql

from application.app import SmartQueue
from application.context import CommandContext
from bench.harness import BenchmarkError
from domain.agents import Agent
from infrastructure.container import Container

AGENT_PASSWORD = "bench-password"
COMMANDS_PER_CYCLE = 4
HTTP_TIMEOUT_SECONDS = 30.0

# -- the world a run works in --------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """One concurrent caller: an agent user and the queue it issues into and calls from."""

    user_id: UUID
    agent_id: UUID
    email: str
    queue_id: UUID


@dataclass(frozen=True)
class World:
    """A fresh tenant with one site, its queues and one agent per caller."""

    tenant_id: UUID
    slug: str
    callers: list[Caller]


def service_code(index: int) -> str:
    """A, B, ..., Z, AA, AB, ...: service codes are unique capital letters within a tenant."""
    code = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, len(string.ascii_uppercase))
        code = string.ascii_uppercase[remainder] + code
    return code


def open_queues(app: Container, context: CommandContext, site_id: UUID, count: int) -> list[UUID]:
    """``count`` queues, each with its own service, so they share no ticket counter either."""
    queue_ids = []
    for index in range(count):
        code = service_code(index)
        service = app.catalogue.add_service(
            context, f"Service {code}", code, target_wait_minutes=10
        )
        queue = app.queues.open_queue(context, f"Queue {code}", site_id, [service.id], "fifo")
        queue_ids.append(queue.id)
    return queue_ids


def build_world(container: Container, layout: str, callers: int, *, make_available: bool) -> World:
    """A tenant whose callers each own a queue (``distinct``) or all share one (``shared``)."""
    slug = f"bench-{uuid.uuid4().hex[:10]}"
    tenant_id = container.tenancy.create_tenant(
        CommandContext.system(None), slug, "Benchmark tenant"
    )
    context = CommandContext.system(tenant_id, reason="bench")
    site = container.catalogue.add_site(context, "Bench site", "Europe/Paris")
    queue_ids = open_queues(container, context, site.id, callers if layout == "distinct" else 1)
    members = []
    for index in range(callers):
        email = f"agent{index}@{slug}.example"
        user = container.identity.create_user(
            context, email, AGENT_PASSWORD, f"Agent {index}", "agent"
        )
        agent_id = Agent.create_id(user.id)
        if make_available:
            container.staffing.set_agent_status(context, agent_id, "available")
        members.append(Caller(user.id, agent_id, email, queue_ids[index % len(queue_ids)]))
    return World(tenant_id, slug, members)


# -- the cycle through the application layer -----------------------------------------------------


class LostSaveCounter:
    """Counts event-store writes refused because another writer saved the aggregate first.

    Each one makes the command run again (``retry_on_conflict``). It wraps the recorder's
    ``insert_events`` of this process's application; the HTTP server is another process, so
    its lost saves are not counted.
    """

    def __init__(self, app: SmartQueue) -> None:
        self._lock = threading.Lock()
        self.count = 0
        recorder = app.recorder
        insert_events = recorder.insert_events

        def counting_insert_events(*args: Any, **kwargs: Any) -> Any:
            try:
                return insert_events(*args, **kwargs)
            except IntegrityError:
                with self._lock:
                    self.count += 1
                raise

        recorder.insert_events = counting_insert_events  # type: ignore[method-assign]


def app_cycle(app: Container, tenant_id: UUID, caller: Caller) -> None:
    """Issue a ticket, call the next one, start and close it: four commands."""
    context = CommandContext(tenant_id=tenant_id, actor_id=caller.user_id, actor_role="agent")
    app.tickets.issue_ticket(context, caller.queue_id)
    called = app.staffing.call_next(context, caller.agent_id, caller.queue_id)
    if called is None:  # every caller issues before calling, so a ticket is always waiting
        raise BenchmarkError("call_next found nobody waiting right after an issue")
    app.tickets.start_ticket(context, called.id)
    app.tickets.close_ticket(context, called.id)


# -- the cycle over HTTP -------------------------------------------------------------------------


class HttpCaller:
    """One agent's keep-alive HTTP client, signed in, running ticket cycles."""

    def __init__(self, base_url: str, slug: str, caller: Caller) -> None:
        self.queue_body = {"queue_id": str(caller.queue_id)}
        self.tenant = f"/tenants/{slug}"
        # trust_env=False: no proxy from the environment, only 127.0.0.1.
        self.client = httpx.Client(
            base_url=f"{base_url}/api/v1", trust_env=False, timeout=HTTP_TIMEOUT_SECONDS
        )
        login = self._post("/auth/", {"email": caller.email, "password": AGENT_PASSWORD})
        assert login is not None
        self.client.headers["Authorization"] = f"Bearer {login['token']}"

    def _post(self, path: str, body: dict[str, str] | None = None) -> dict[str, Any] | None:
        """POST and return the JSON body (``None`` for 204); anything but 2xx is an error."""
        response = self.client.post(path, json=body)
        if response.status_code == 204:
            return None
        if not response.is_success:
            raise BenchmarkError(f"POST {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def set_available(self) -> None:
        """The agent goes on duty."""
        self._post(f"{self.tenant}/agents/set-status/", {"status": "available"})

    def cycle(self) -> None:
        """Issue a ticket, call the next one, start and close it: four requests."""
        self._post(f"{self.tenant}/tickets/", self.queue_body)
        called = self.call_next()
        if called is None:
            raise BenchmarkError("call-next answered 204 right after an issue")
        self._post(f"{self.tenant}/tickets/{called}/start/")
        self._post(f"{self.tenant}/tickets/{called}/close/")

    def call_next(self) -> str | None:
        """Call the next ticket of this agent's queue: its id, or None if nobody waits."""
        called = self._post(f"{self.tenant}/agents/call-next/", self.queue_body)
        return None if called is None else str(called["id"])

    def mark_no_show(self, ticket_id: str) -> None:
        """The called customer never came: the agent is free again."""
        self._post(f"{self.tenant}/tickets/{ticket_id}/mark_no_show/")

    def close(self) -> None:
        self.client.close()


# -- the raw-insert baseline ---------------------------------------------------------------------

BASELINE_TABLE = "bench_raw_inserts"
BASELINE_PAYLOAD = "x" * 200  # about the size of a small stored event


@dataclass(frozen=True)
class BaselineVariant:
    """A raw-insert transaction, optionally with the statements the recorder adds to each write."""

    name: str
    locks_table: bool
    notifies: bool


BASELINES = {
    variant.name: variant
    for variant in (
        BaselineVariant("insert", locks_table=False, notifies=False),
        BaselineVariant("insert+lock", locks_table=True, notifies=False),
        BaselineVariant("insert+lock+notify", locks_table=True, notifies=True),
    )
}
PLAIN_BASELINE = "insert"


def create_baseline_table(database_url: str) -> None:
    """A plain table: a sequence-backed key and a text column."""
    statement = sql.SQL("CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, payload text)")
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(statement.format(sql.Identifier(BASELINE_TABLE)))


class RawInserter:
    """One connection inserting one row per transaction, shaped like the recorder's write:
    a pipelined ``BEGIN; [LOCK TABLE ... IN EXCLUSIVE MODE; [NOTIFY ...;]] INSERT``, a sync,
    then ``COMMIT``."""

    def __init__(self, database_url: str, variant: BaselineVariant) -> None:
        self.connection = psycopg.connect(database_url, autocommit=True)
        table = sql.Identifier(BASELINE_TABLE)
        self.prelude: list[sql.Composed] = []
        if variant.locks_table:
            self.prelude.append(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(table))
        if variant.notifies:
            self.prelude.append(sql.SQL("NOTIFY {}").format(table))
        self.insert = sql.SQL("INSERT INTO {} (payload) VALUES (%s)").format(table)

    def __call__(self) -> None:
        connection = self.connection
        with connection.pipeline() as pipeline, connection.transaction():
            for statement in self.prelude:
                connection.execute(statement)
            connection.execute(self.insert, (BASELINE_PAYLOAD,))
            pipeline.sync()

    def close(self) -> None:
        self.connection.close()


class HttpInserter:
    """One keep-alive client of the minimal insert app: one POST, one row, one commit."""

    def __init__(self, base_url: str) -> None:
        self.client = httpx.Client(base_url=base_url, trust_env=False, timeout=HTTP_TIMEOUT_SECONDS)

    def __call__(self) -> None:
        response = self.client.post("/inserts")
        if response.status_code != 201:
            raise BenchmarkError(f"POST /inserts: {response.status_code} {response.text[:300]}")

    def close(self) -> None:
        self.client.close()
