"""``WS /ws/public/tickets/{token}/`` with the whole live fan-out running (projections, relay,
broker, display gateway): a customer's socket gets its ticket, then its position as others are
called, then the counter when it is called; it never carries another ticket. Every message it
sends, and every way it closes, is checked against the published AsyncAPI document
(``publicTicketSocket``)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.e2e.conftest import Live
from tests.e2e.support import (
    API,
    CONTRACT,
    check_live_message,
    create_tenant,
    login,
    open_floor,
)

pytestmark = pytest.mark.e2e

CHANNEL = "publicTicketSocket"


def documented() -> tuple[set[str], str]:
    """The public ticket's fields and the socket's description, from the published document."""
    document = json.loads(CONTRACT.read_text())
    ticket = document["components"]["schemas"]["PublicTicket"]["properties"]
    return set(ticket), document["channels"][CHANNEL]["description"]


@contextmanager
def ticket_socket(base_url: str, token: str) -> Iterator[ClientConnection]:
    ws_url = base_url.replace("http://", "ws://", 1)
    with connect(f"{ws_url}/ws/public/tickets/{token}/", open_timeout=10) as connection:
        yield connection


def next_ticket(
    connection: ClientConnection,
    seen: list[str],
    timeout: float = 15.0,
    types: tuple[str, ...] = ("snapshot", "change"),
) -> dict:
    """The next message of ``types`` (others skipped); every raw text kept in ``seen``, and
    every message checked against the published document first: a type the channel names, valid
    by its schema, and a ticket with exactly the documented fields."""
    fields, _ = documented()
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            raw = connection.recv(timeout=left)
        except TimeoutError:
            break
        seen.append(str(raw))
        message = check_live_message(CHANNEL, raw)
        if "ticket" in message:
            assert set(message["ticket"]) == fields, message
        if message["type"] in types:
            return message
    raise AssertionError(f"no {types} message within {timeout} s; saw {seen}")


def test_a_customers_socket_follows_only_its_own_ticket_until_called(live: Live):
    tenant = create_tenant(live.database_url, live.home, live.redis_url)
    with httpx.Client(base_url=live.api_url, timeout=30.0) as client:
        admin = login(client, tenant, tenant.admin_email, tenant.admin_password)
        floor = open_floor(admin)
        admin.settle("directory")
        join = f"{API}/public/{tenant.slug}/sites/{floor.site['id']}/join/"
        body = {"service_id": floor.service["id"]}
        ahead = client.post(join, json=body).json()
        mine = client.post(join, json=body).json()["token"]
        agent = admin.add_agent([floor.queue["id"]])
        agent.set_status("available", counter="9")
        seen: list[str] = []

        with ticket_socket(live.api_url, mine) as connection:
            first = next_ticket(connection, seen)
            assert first["type"] == "snapshot"
            assert (first["ticket"]["number"], first["ticket"]["position"]) == ("A-002", 2)

            response = agent.post("agents/call-next/", {"queue_id": floor.queue["id"]})
            assert response.status_code == 200, response.text
            called, called_at = response.json(), int(response.headers["X-Log-Position"])
            assert called["number"] == ahead["ticket"]["number"] == "A-001"
            # The ticket's other fields (the queue's waiting count, the ETA) come from other
            # read models and may change first, each in a change of its own.
            while (moved := next_ticket(connection, seen))["ticket"]["position"] == 2:
                assert moved["type"] == "change" and moved["ticket"]["number"] == "A-002"
            assert (moved["type"], moved["ticket"]["position"]) == ("change", 1)

            assert agent.act(called["id"], "start").status_code == 200
            assert agent.act(called["id"], "close").status_code == 200
            agent.ok("POST", "agents/call-next/", {"queue_id": floor.queue["id"]})
            while (message := next_ticket(connection, seen))["ticket"]["status"] != "called":
                assert message["ticket"]["number"] == "A-002"
            assert message["ticket"]["counter"] == "9"
            # The gateway's beats say how far it got; the socket's own reads may run ahead of
            # it (a busy gateway), so the beats catch up rather than match at once.
            deadline = time.monotonic() + 30
            while next_ticket(connection, seen, types=("heartbeat",))["position"] < called_at:
                assert time.monotonic() < deadline, "the gateway's beats never passed the call"

        assert all("A-001" not in text for text in seen), seen
        assert all(called["id"] not in text for text in seen)


def test_a_bad_token_closes_the_socket_with_4404(live: Live):
    with (
        ticket_socket(live.api_url, "not-a-ticket") as connection,
        pytest.raises(ConnectionClosed) as closed,
    ):
        connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
    _, description = documented()
    assert "4404: no such ticket" in description
