"""Helpers for the end-to-end tests: a fresh tenant per test, and HTTP sessions on it.

Everything here goes through the running ``smartqueue api`` process, except making the tenants:
``create_tenant`` makes each one with the very call ``smartqueue create-tenant`` makes, in this
process (the command itself has its own test, ``test_create_tenant_command.py``). Starting the
command for every test cost about 2 s of CPU each (importing the application), some 450 times
a run: about a fifth of ``make test``'s time on two cores.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

import httpx
import psycopg

from application.context import CommandContext
from infrastructure.container import Container, build_container
from infrastructure.settings import load_settings

API = "/api/v1"
PROBLEM_JSON = "application/problem+json"
PASSWORD = "correct-horse-42"


def smartqueue_executable() -> str:
    """The console script installed next to the interpreter running the tests."""
    script = Path(sys.executable).with_name("smartqueue")
    if not script.exists():
        raise RuntimeError(f"the smartqueue console script is not installed at {script}")
    return str(script)


HIGH_RATE_LIMITS = {
    "SMARTQUEUE_API_LIMIT_TOKEN": "1000000/minute",
    "SMARTQUEUE_KIOSK_LIMIT_DEVICE": "1000000/minute",
    "SMARTQUEUE_KIOSK_LIMIT_QUEUE": "1000000/minute",
}


def process_env(database_url: str, home: Path, redis_url: str) -> dict[str, str]:
    """The environment of a SmartQueue subprocess using ``database_url`` and ``redis_url``."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        # Every e2e client signs in from 127.0.0.1; the per-address limit has its own tests.
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS": "100000/minute",
        "SMARTQUEUE_LOGIN_LIMIT_ACCOUNT": "100000/minute",
        # The heavy suites (fuzzing, concurrency, live fan-out) send far more requests per token
        # and per kiosk than a person or a kiosk would; the limits have their own tests.
        **HIGH_RATE_LIMITS,
        "SMARTQUEUE_HOME": str(home),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "WARNING",
        # One API process per server under test (the default is one per core): the suites run
        # several servers side by side already, and one process keeps their logs in one file.
        "SMARTQUEUE_API_WORKERS": "1",
    }


@dataclass(frozen=True)
class Tenant:
    """A tenant created by ``smartqueue create-tenant``, with its first admin's credentials."""

    id: str
    slug: str
    admin_email: str
    admin_password: str


def create_tenant(database_url: str, home: Path, redis_url: str) -> Tenant:
    """A tenant with a unique slug and its admin, made as ``smartqueue create-tenant`` makes
    them (the same application call), by a container kept for the database."""
    slug = f"e2e-{uuid.uuid4().hex[:12]}"
    email = f"admin@{slug}.test"
    key = (database_url, str(home), redis_url)
    for attempt in (1, 2):
        container = _TENANT_MAKERS.get(key) or _tenant_maker(key)
        try:
            tenant_id, _ = container.identity.create_tenant(
                CommandContext.system(None), slug, f"E2E {slug}", email, PASSWORD
            )
            break
        except Exception:
            # A server restarted or a connection cut under it (the outage suites): a fresh
            # container, as a fresh command would have, then the error if it persists.
            _TENANT_MAKERS.pop(key).close()
            if attempt == 2:
                raise
    return Tenant(id=str(tenant_id), slug=slug, admin_email=email, admin_password=PASSWORD)


_TENANT_MAKERS: dict[tuple[str, str, str], Container] = {}


def _tenant_maker(key: tuple[str, str, str]) -> Container:
    database_url, home, redis_url = key
    container = build_container(load_settings(process_env(database_url, Path(home), redis_url)))
    _TENANT_MAKERS[key] = container
    atexit.register(container.close)
    return container


def create_tenant_with_the_command(database_url: str, home: Path, redis_url: str) -> Tenant:
    """Run ``smartqueue create-tenant`` with a unique slug and read back what it printed."""
    slug = f"e2e-{uuid.uuid4().hex[:12]}"
    email = f"admin@{slug}.test"
    completed = subprocess.run(
        [
            smartqueue_executable(),
            "create-tenant",
            "--name",
            f"E2E {slug}",
            "--slug",
            slug,
            "--admin-email",
            email,
            "--admin-password",
            PASSWORD,
        ],
        env=process_env(database_url, home, redis_url),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, (
        f"create-tenant failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}"
    )
    created = rf"tenant {re.escape(slug)} created \(id ([0-9a-f-]{{36}})\)"
    match = re.search(created, completed.stdout)
    assert match, f"create-tenant printed no tenant id:\n{completed.stdout}"
    assert f"admin: {email} / {PASSWORD}" in completed.stdout
    return Tenant(id=match.group(1), slug=slug, admin_email=email, admin_password=PASSWORD)


def login(client: httpx.Client, tenant: Tenant, email: str, password: str = PASSWORD) -> Session:
    """Sign in over HTTP and return a session carrying the bearer token."""
    response = client.post(f"{API}/auth/", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"]
    assert body["user"]["email"] == email
    assert body["access_token"] == body["token"]
    return Session(client, tenant, body["token"], body["user"], body["refresh_token"])


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict:
    """The response is an RFC 9457 problem with this status (and machine code, when given)."""
    assert response.status_code == status, (response.status_code, response.text)
    media_type = response.headers.get("content-type", "").split(";")[0].strip()
    assert media_type == PROBLEM_JSON, (media_type, response.text)
    body = response.json()
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    if code is not None:
        assert body.get("code") == code, body
    return body


class ReadModels:
    """The read models a ``smartqueue projections`` process keeps, and a wait for them.

    Queries served by a read model trail commands by the projection's lag; a test that reads
    after a command waits here first instead of sleeping.
    """

    # The eventsourcing recorder's table for the SmartQueue application.
    LOG_HEAD = "SELECT coalesce(max(notification_id), 0) FROM smartqueue_events"

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url

    def caught_up(self, projection: str = "tickets", timeout: float = 15.0) -> None:
        """Return once ``projection`` has applied every event logged before this call."""
        with psycopg.connect(self.database_url, autocommit=True) as connection:
            head = connection.execute(self.LOG_HEAD).fetchone()
            deadline = time.monotonic() + timeout
            while True:
                position = connection.execute(
                    "SELECT position FROM projection_tracking WHERE projection_name = %s",
                    (projection,),
                ).fetchone()
                if position is not None and head is not None and position[0] >= head[0]:
                    return
                if time.monotonic() > deadline:
                    raise AssertionError(f"{projection} is still behind the log after {timeout} s")
                time.sleep(0.02)


def with_query(relative: str, params: dict | None) -> tuple[str, Any]:
    """``relative`` without its query string, and the parameters of both: that query's first,
    then ``params``. Given ``params``, httpx replaces a URL's query string instead of adding to
    it, which silently turned ``list("tickets/?queue_id=…")`` into every ticket. A parameter
    written in both places is refused: which one was meant?"""
    path, _, query = relative.partition("?")
    if not query:
        return relative, params
    written = parse_qsl(query, keep_blank_values=True)
    added = params or {}
    twice = sorted({name for name, _ in written} & set(added))
    if twice:
        raise ValueError(f"{relative!r} and params both give {', '.join(twice)}")
    for name, value in added.items():
        values = value if isinstance(value, list | tuple) else [value]
        written.extend((name, one) for one in values)
    return path, written


# List routes served by the directory read model (the others load aggregates).
DIRECTORY_LISTS = ("queues/", "agents/")


class Session:
    """One signed-in user talking to one tenant's routes."""

    read_models: ClassVar[ReadModels | None] = None
    """Set by the ``projections`` fixture: reads served by read models wait for them."""

    def __init__(
        self,
        client: httpx.Client,
        tenant: Tenant,
        token: str,
        user: dict[str, Any],
        refresh_token: str = "",
    ) -> None:
        self.client = client
        self.tenant = tenant
        self.token = token
        self.user = user
        self.refresh_token = refresh_token

    @property
    def headers(self) -> dict[str, str]:
        """The bearer header of this session."""
        return {"Authorization": f"Bearer {self.token}"}

    def path(self, relative: str) -> str:
        """``relative`` under this tenant's routes."""
        return f"{API}/tenants/{self.tenant.slug}/{relative.lstrip('/')}"

    def request(
        self,
        method: str,
        relative: str,
        *,
        json: Any = None,
        headers: dict | None = None,
        params: dict | None = None,
    ) -> httpx.Response:
        """A request to a tenant route with this session's token; ``relative`` may hold a query
        string, to which ``params`` add (see :func:`with_query`)."""
        relative, params = with_query(relative, params)
        return self.client.request(
            method,
            self.path(relative),
            json=json,
            params=params,
            headers={**self.headers, **(headers or {})},
        )

    def get(self, relative: str, **kwargs: Any) -> httpx.Response:
        """GET a tenant route."""
        return self.request("GET", relative, **kwargs)

    def post(self, relative: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """POST to a tenant route."""
        return self.request("POST", relative, json=json, **kwargs)

    def patch(self, relative: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        """PATCH a tenant route."""
        return self.request("PATCH", relative, json=json, **kwargs)

    def page(self, relative: str, cursor: str | None = None, limit: int | None = None) -> dict:
        """One page of a list route: ``{"items", "results_per_page", "cursor"}`` (200), once the
        read model serving it (if any) has caught up with the log."""
        if relative.partition("?")[0] in DIRECTORY_LISTS:
            self.settle("directory")
        params = {name: value for name, value in (("cursor", cursor), ("limit", limit)) if value}
        response = self.request("GET", relative, params=params)
        assert response.status_code == 200, (relative, params, response.text)
        body = response.json()
        assert set(body) == {"items", "results_per_page", "cursor"}, body
        assert len(body["items"]) <= body["results_per_page"]
        return body

    def list(self, relative: str, limit: int | None = None) -> list[dict]:
        """Every item of a list route, following the cursor from page to page."""
        items: list[dict] = []
        cursor = None
        for _ in range(1000):
            body = self.page(relative, cursor, limit)
            items.extend(body["items"])
            cursor = body["cursor"]
            if cursor is None:
                return items
        raise AssertionError(f"{relative} never reached its last page")

    def ok(self, method: str, relative: str, json: Any = None, status: int = 200) -> Any:
        """Send a request that must succeed with ``status``; return its JSON body."""
        response = self.request(method, relative, json=json)
        assert response.status_code == status, (method, relative, response.text)
        return response.json()

    # -- set-up over HTTP -------------------------------------------------------------------------

    def add_site(self, name: str = "Head office", timezone: str = "Europe/Paris") -> dict:
        """Create a site (201)."""
        return self.ok("POST", "sites/", {"name": name, "timezone": timezone}, status=201)

    def add_service(
        self, code: str = "A", name: str | None = None, expected_service_minutes: int = 5
    ) -> dict:
        """Create a service (201)."""
        body = {
            "name": name or f"Service {code}",
            "code": code,
            "target_wait_minutes": 15,
            "expected_service_minutes": expected_service_minutes,
        }
        return self.ok("POST", "queues/services/", body, status=201)

    def open_queue(
        self, site_id: str, service_ids: list[str], algorithm: str = "fifo", name: str = "Q"
    ) -> dict:
        """Create a queue (201)."""
        body = {
            "name": name,
            "site_id": site_id,
            "service_ids": service_ids,
            "algorithm": algorithm,
        }
        return self.ok("POST", "queues/", body, status=201)

    def add_user(self, role: str = "agent", queue_ids: list[str] | None = None) -> dict:
        """Create a staff user with the shared test password (201)."""
        body: dict[str, Any] = {
            "email": f"{role}-{uuid.uuid4().hex[:8]}@{self.tenant.slug}.test",
            "password": PASSWORD,
            "name": f"{role.title()} {uuid.uuid4().hex[:4]}",
            "role": role,
        }
        if queue_ids is not None:
            body["queue_ids"] = queue_ids
        return self.ok("POST", "users/", body, status=201)

    def add_agent(self, queue_ids: list[str] | None = None, role: str = "agent") -> Session:
        """Create a staff user and sign them in."""
        user = self.add_user(role, queue_ids)
        return login(self.client, self.tenant, user["email"])

    def issue(self, queue_id: str, **fields: Any) -> dict:
        """Take a ticket (201)."""
        return self.ok("POST", "tickets/", {"queue_id": queue_id, **fields}, status=201)

    def act(self, ticket_id: str, action: str, json: Any = None) -> httpx.Response:
        """POST a lifecycle action on a ticket."""
        return self.post(f"tickets/{ticket_id}/{action}/", json)

    def ticket(self, ticket_id: str) -> dict:
        """GET a ticket (200), once the tickets read model has caught up with the log."""
        self.settle()
        return self.ok("GET", f"tickets/{ticket_id}/")

    def settle(self, projection: str = "tickets") -> None:
        """Wait until ``projection``'s read model has applied every command made so far."""
        assert Session.read_models is not None, "ask for the projections fixture"
        Session.read_models.caught_up(projection)

    def set_status(self, status: str = "available", counter: str | None = None) -> dict:
        """Change the calling agent's status (200)."""
        body: dict[str, Any] = {"status": status}
        if counter is not None:
            body["counter"] = counter
        return self.ok("POST", "agents/set-status/", body)

    def me(self) -> dict:
        """The calling user's agent profile (200)."""
        return self.ok("GET", "agents/me/")


@dataclass(frozen=True)
class Floor:
    """A site, one service and one queue of a tenant."""

    site: dict
    service: dict
    queue: dict


def open_floor(admin: Session, algorithm: str = "fifo", code: str = "A") -> Floor:
    """A site, a service with ``code`` and a queue with ``algorithm``, all over HTTP."""
    site = admin.add_site()
    service = admin.add_service(code)
    queue = admin.open_queue(site["id"], [service["id"]], algorithm, name=f"Queue {code}")
    return Floor(site, service, queue)


def socket_ticket(base_url: str, session: Session) -> str:
    """A single-use WebSocket ticket for ``session``'s token, from the API at ``base_url``."""
    response = httpx.post(
        f"{base_url}{API}/tenants/{session.tenant.slug}/ws-tickets/",
        headers=session.headers,
        timeout=10,
    )
    assert response.status_code == 201, response.text
    return response.json()["ticket"]


CONTRACT = Path(__file__).parents[2] / "docs" / "asyncapi.json"


@functools.cache
def live_contract() -> dict[str, Any]:
    """The live protocol's message schemas from the published AsyncAPI document (which the
    API serves; ``test_event_contract_http`` checks the two are equal): ``{channel: {message
    type: validator}}``."""
    import jsonschema_rs

    document = json.loads(CONTRACT.read_text())
    messages = document["components"]["messages"]
    contract = {}
    for channel in ("queueSocket", "agentSocket", "publicTicketSocket"):
        by_type = {}
        for name in document["channels"][channel]["messages"]:
            payload = messages[name]["payload"]
            schema = {**payload, "components": document["components"]}
            # The message's ``type`` as the schema fixes it (``{"enum": ["snapshot"]}``).
            component = document["components"]["schemas"][payload["$ref"].rsplit("/", 1)[1]]
            (message_type,) = component["properties"]["type"]["enum"]
            by_type[message_type] = jsonschema_rs.validator_for(schema)
        contract[channel] = by_type
    return contract


def check_live_message(channel: str, raw: str | bytes) -> dict:
    """``raw`` as a message of the AsyncAPI document's ``channel``: its type is one the channel
    names, and it is valid by that message's schema (AssertionError or ValidationError)."""
    message = json.loads(raw)
    validator = live_contract()[channel].get(message.get("type"))
    assert validator is not None, f"a message type {channel} does not name: {message}"
    validator.validate(message)
    return message


class LiveSocket:
    """A WebSocket client of ``/ws/tenants/{slug}/{path}/`` on the API at ``base_url``. Every
    message it receives is checked against the published contract first."""

    def __init__(
        self, base_url: str, session: Session, path: str, ticket: str | None = None
    ) -> None:
        from websockets.sync.client import connect

        channel = "agentSocket" if path.startswith("agents/") else "queueSocket"
        self.contract = live_contract()[channel]
        ticket = ticket if ticket is not None else socket_ticket(base_url, session)
        ws_url = base_url.replace("http://", "ws://", 1)
        self._opened = ExitStack()
        self.connection = self._opened.enter_context(
            connect(
                f"{ws_url}/ws/tenants/{session.tenant.slug}/{path}/?ticket={ticket}",
                open_timeout=10,
            )
        )

    def __enter__(self) -> LiveSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self._opened.close()

    def receive(self, timeout: float = 5.0) -> dict:
        """The next message (``TimeoutError`` if none comes in time), valid by the contract."""
        message = json.loads(self.connection.recv(timeout=timeout))
        validator = self.contract.get(message.get("type"))
        assert validator is not None, f"a message type the contract does not name: {message}"
        validator.validate(message)
        return message

    def until(self, wanted: Any, timeout: float = 5.0) -> dict:
        """The first message ``wanted(message)`` accepts, skipping the others."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no wanted message within {timeout} s; saw {seen}")
            try:
                message = self.receive(left)
            except TimeoutError:
                continue
            if wanted(message):
                return message
            seen.append(message)

    def quiet_for(self, seconds: float) -> list[dict]:
        """Every message that arrives within ``seconds``."""
        messages = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                messages.append(self.receive(left))
            except TimeoutError:
                break
        return messages

    def closed_with(self, timeout: float = 5.0) -> tuple[int, str]:
        """The close code and reason the server ends this socket with."""
        from websockets.exceptions import ConnectionClosed

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.connection.recv(timeout=max(0.01, deadline - time.monotonic()))
            except ConnectionClosed as closed:
                assert closed.rcvd is not None, "closed without a close frame"
                return closed.rcvd.code, closed.rcvd.reason
            except TimeoutError:
                break
        raise AssertionError(f"the socket is still open after {timeout} s")


def relay_published_so_far(database_url: str) -> None:
    """Mark the session database's log as published to Kafka up to now, as it is on a running
    system: a ``smartqueue dev`` started on it then relays only what happens after it starts.
    Without this, its relay would first publish every event the worker's earlier test modules
    wrote (thousands, late in a run), and a test's first change would wait behind them."""
    from infrastructure.kafka.relay import RELAY_NAME

    with psycopg.connect(database_url, autocommit=True) as connection:
        head = connection.execute(
            "SELECT coalesce(max(notification_id), 0) FROM smartqueue_events"
        ).fetchone()
        connection.execute(
            "INSERT INTO projection_tracking (projection_name, position, updated_at)"
            " VALUES (%s, %s, now()) ON CONFLICT (projection_name) DO UPDATE"
            " SET position = greatest(projection_tracking.position, excluded.position),"
            " updated_at = now()",
            (RELAY_NAME, head[0] if head else 0),
        )
