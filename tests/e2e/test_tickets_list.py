"""GET tickets/ and GET tickets/{id}/ from the tickets read model, fed by a real
``smartqueue projections`` process: filters, keyset pages, positions, errors and isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.support import Session, Tenant, assert_problem, login, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def _ids(admin: Session, **params: Any) -> list[str]:
    """The ids of every ticket matching ``params``, page after page, once the model caught up."""
    admin.settle()
    ids: list[str] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = admin.get("tickets/", params=query)
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        ids += [item["id"] for item in body["items"]]
        cursor = body["cursor"]
        if cursor is None:
            return ids


def test_each_filter_and_their_combination_select_exactly_the_matching_tickets(admin: Session):
    floor = open_floor(admin, code="A")
    loans = admin.add_service("L", "Loans")
    other = admin.open_queue(floor.site["id"], [loans["id"]], "priority", name="Loans")
    customer = admin.ok("POST", "customers/", {"name": "Jeanne"}, status=201)
    agent = admin.add_agent([floor.queue["id"]])
    agent_id = agent.set_status("available", counter="3")["id"]

    a1 = admin.issue(floor.queue["id"], customer_id=customer["id"])
    a2 = admin.issue(floor.queue["id"])
    a3 = admin.issue(floor.queue["id"])
    l1 = admin.issue(other["id"], priority=2, customer_id=customer["id"])
    l2 = admin.issue(other["id"])
    called = agent.ok("POST", "agents/call-next/", {})
    assert called["id"] == a1["id"]
    assert admin.act(a3["id"], "cancel").status_code == 200

    everything = _ids(admin)
    assert everything == [l2["id"], l1["id"], a3["id"], a2["id"], a1["id"]]  # newest first
    assert set(_ids(admin, status="waiting")) == {a2["id"], l1["id"], l2["id"]}
    assert set(_ids(admin, status="called,cancelled")) == {a1["id"], a3["id"]}
    repeated = admin.get("tickets/", params=[("status", "called"), ("status", "cancelled")])
    assert {item["id"] for item in repeated.json()["items"]} == {a1["id"], a3["id"]}
    assert set(_ids(admin, queue_id=other["id"])) == {l1["id"], l2["id"]}
    assert set(_ids(admin, service_id=floor.service["id"])) == {a1["id"], a2["id"], a3["id"]}
    assert _ids(admin, agent_id=agent_id) == [a1["id"]]
    assert set(_ids(admin, customer_id=customer["id"])) == {a1["id"], l1["id"]}
    middle = admin.ticket(a3["id"])["issued_at"]
    assert set(_ids(admin, since=middle)) == {a3["id"], l1["id"], l2["id"]}
    assert set(_ids(admin, until=middle)) == {a1["id"], a2["id"]}
    assert _ids(admin, queue_id=floor.queue["id"], status="waiting") == [a2["id"]]
    assert _ids(admin, customer_id=customer["id"], status="waiting", since=middle) == [l1["id"]]

    assert Session.read_models is not None
    Session.read_models.caught_up("agent_board")  # the ETAs come from the agent board
    items = admin.get("tickets/", params={"status": "waiting"}).json()["items"]
    positions = {item["id"]: item["position"] for item in items}
    assert positions == {a2["id"]: 1, l1["id"]: 1, l2["id"]: 2}
    etas = {item["id"]: item["eta_seconds"] for item in items}
    assert isinstance(etas[a2["id"]], int)  # the agent of queue A serves it
    assert etas[l1["id"]] is None and etas[l2["id"]] is None  # nobody serves Loans


def test_a_cursor_walk_sees_every_ticket_once_while_new_tickets_are_issued(admin: Session):
    floor = open_floor(admin)
    before = [admin.issue(floor.queue["id"])["id"] for _ in range(7)]
    admin.settle()

    seen: list[str] = []
    cursor, pages = None, 0
    while pages == 0 or cursor is not None:
        params = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        body = admin.get("tickets/", params=params).json()
        seen += [item["id"] for item in body["items"]]
        cursor, pages = body["cursor"], pages + 1
        admin.issue(floor.queue["id"])  # newer than every page: never shifts the next one
        admin.settle()
    assert pages == 3
    assert seen == list(reversed(before))


def test_a_waiting_ticket_reads_with_its_position_and_eta_from_the_read_model(admin: Session):
    floor = open_floor(admin, algorithm="priority")
    nobody = admin.issue(floor.queue["id"], priority=0)
    assert nobody["eta_seconds"] is None  # nobody on duty for the queue: no estimate

    agent = admin.add_agent(queue_ids=[floor.queue["id"]])
    agent.set_status("available", counter="1")
    low = admin.post("tickets/", {"queue_id": floor.queue["id"], "priority": 0})
    issued = admin.post("tickets/", {"queue_id": floor.queue["id"], "priority": 5})
    high, seen = issued.json(), {"min_position": issued.headers["X-Log-Position"]}
    ticket = admin.get(f"tickets/{low.json()['id']}/", params=seen).json()
    assert (ticket["status"], ticket["position"]) == ("waiting", 3)
    first = admin.get(f"tickets/{high['id']}/", params=seen).json()
    assert first["position"] == 1
    # The hand-over estimator over the agent board (exact figures: test_wait_estimator.py).
    assert 0 <= first["eta_seconds"] < ticket["eta_seconds"]
    assert {k: v for k, v in ticket.items() if k not in ("position", "eta_seconds")} == {
        k: v for k, v in low.json().items() if k not in ("position", "eta_seconds")
    }


@pytest.mark.parametrize(
    ("params", "status", "mentions"),
    [
        ({"status": "waiting,bogus"}, 422, "bogus"),
        ({"status": "WAITING"}, 422, "WAITING"),
        ({"queue_id": "not-a-uuid"}, 400, "queue_id"),
        ({"agent_id": "42"}, 400, "agent_id"),
        ({"since": "yesterday"}, 400, "since"),
        ({"until": "2026-13-45T00:00:00Z"}, 422, "until"),
        ({"since": "2026-11-27T10:00:00Z", "until": "2026-11-27T09:00:00Z"}, 422, "since"),
        ({"cursor": "not-a-cursor"}, 422, "cursor"),
        ({"limit": "0"}, 400, "limit"),
    ],
)
def test_a_bad_filter_is_a_problem_naming_it(
    admin: Session, params: dict[str, str], status: int, mentions: str
):
    body = assert_problem(admin.get("tickets/", params=params), status)
    assert mentions in str(body), body


def test_an_agent_can_read_tickets_and_another_tenant_cannot(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
):
    floor = open_floor(admin)
    ticket = admin.issue(floor.queue["id"])
    agent = admin.add_agent([floor.queue["id"]])
    assert agent.ticket(ticket["id"])["position"] == 1
    assert _ids(agent) == [ticket["id"]]

    tenant_b = new_tenant()
    intruder = login(http, tenant_b, tenant_b.admin_email)
    assert_problem(intruder.get(f"tickets/{ticket['id']}/"), 404, "not_found")
    assert _ids(intruder) == []
    assert _ids(intruder, queue_id=floor.queue["id"]) == []
    # A's slug with B's token: the tenant route itself is not found.
    foreign = http.get(agent.path("tickets/"), headers=intruder.headers)
    assert_problem(foreign, 404)
