"""A command whose request fails after (or during) its commit is not applied twice by a retry
with the same Idempotency-Key: the key's applied marker is saved with the command's events.

A small Litestar app issues real tickets through the application on the in-memory event store,
with the command context the real routes build; the handler then loses "the database" (a psycopg
connection error) after the command, or before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from litestar import Litestar, Request, post
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient

from application.identity import Principal
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from infrastructure.settings import IdempotencySettings
from interfaces.http.errors import EXCEPTION_HANDLERS
from interfaces.http.idempotency import Caller, IdempotencyMiddleware
from interfaces.http.idempotency_http import IDEMPOTENT
from interfaces.http.security import command_context
from tests.memory_idempotency_store import MemoryIdempotencyStore
from tests.unit.world import MORNING, Clock, TransactionSpy, World, make_world

LOST = "consuming input failed: server closed the connection unexpectedly"


class Floor:
    """A tenant with a queue, and what the next request's "database" does."""

    def __init__(self) -> None:
        app = TransactionSpy(
            env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
        )
        self.world: World = make_world(app=app)
        self.queue_id = self.world.queue(self.world.service())
        self.user_id = uuid4()
        self.lose_after_commit = 0
        self.lose_before_commit = 0

    def principal(self) -> Principal:
        return Principal(
            user_id=self.user_id,
            tenant_id=self.world.tenant_id,
            role="admin",
            scopes=frozenset({"tickets:write"}),
            token_id="t",
            session_id="s",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
        )

    def waiting(self) -> int:
        return self.world.queues.get_queue(self.world.tenant_id, self.queue_id).waiting


def build_app(floor: Floor, store: MemoryIdempotencyStore) -> Litestar:
    def caller(request: Request) -> Caller:
        return Caller(floor.world.tenant_id, floor.user_id)

    @post(
        "/tickets",
        status_code=201,
        sync_to_thread=True,
        opt={IDEMPOTENT: True},
        middleware=[DefineMiddleware(IdempotencyMiddleware, authenticate=caller)],
    )
    def issue(request: Request) -> dict[str, Any]:
        if floor.lose_before_commit:
            floor.lose_before_commit -= 1
            raise psycopg.OperationalError(LOST)
        ticket = floor.world.tickets.issue_ticket(
            command_context(request, floor.principal()), floor.queue_id
        )
        if floor.lose_after_commit:
            floor.lose_after_commit -= 1
            raise psycopg.OperationalError(LOST)
        return {"id": str(ticket.id), "number": ticket.number}

    def install(app: Litestar) -> None:
        app.state.container = SimpleNamespace(
            idempotency=store,
            settings=SimpleNamespace(idempotency=IdempotencySettings(wait_seconds=0.3)),
        )

    return Litestar(
        route_handlers=[issue],
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[install],
        logging_config=None,
    )


@pytest.fixture
def floor() -> Floor:
    return Floor()


@pytest.fixture
def client(floor: Floor) -> Iterator[TestClient]:
    store = MemoryIdempotencyStore(lambda: datetime.now(UTC))
    with TestClient(build_app(floor, store)) as test_client:
        yield test_client


def _issue(client: TestClient, key: str):
    return client.post("/tickets", headers={"Idempotency-Key": key})


def test_a_connection_lost_after_the_commit_answers_503_and_the_retry_applies_nothing(
    client, floor
) -> None:
    floor.lose_after_commit = 1

    failed = _issue(client, "k-1")
    retried = _issue(client, "k-1")

    assert failed.status_code == 503
    assert failed.headers["retry-after"]
    assert failed.headers["content-type"].startswith("application/problem+json")
    assert retried.status_code == 409
    assert retried.json()["code"] == "idempotency_key_applied"
    assert floor.waiting() == 1  # one ticket, not two


def test_a_connection_lost_before_the_commit_answers_503_and_the_retry_applies_once(
    client, floor
) -> None:
    floor.lose_before_commit = 1

    failed = _issue(client, "k-2")
    retried = _issue(client, "k-2")

    assert failed.status_code == 503
    assert retried.status_code == 201
    assert _issue(client, "k-2").json() == retried.json()  # replayed from now on
    assert floor.waiting() == 1


def test_requests_without_a_key_save_no_marker(client, floor) -> None:
    assert client.post("/tickets").status_code == 201
    assert floor.waiting() == 1


class ForgetfulStore(MemoryIdempotencyStore):
    """Loses the database just after the command: storing or releasing the key fails."""

    def complete(self, *args: Any) -> bool:
        raise psycopg.OperationalError(LOST)

    def release(self, *args: Any) -> None:
        raise psycopg.OperationalError(LOST)


def test_a_key_that_cannot_be_stored_after_the_response_leaves_the_response_intact(floor) -> None:
    """The response went out already: the server must not fail the exchange after it (the
    connection would be dropped under the client's next request)."""
    store = ForgetfulStore(lambda: datetime.now(UTC))
    with TestClient(build_app(floor, store)) as client:
        created = _issue(client, "k-3")
        assert created.status_code == 201
        floor.lose_after_commit = 1
        assert _issue(client, "k-4").status_code == 503
    assert floor.waiting() == 2
