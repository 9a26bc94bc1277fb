"""A day at the counter over HTTP: set-up, tickets, calling and the ticket lifecycle."""

from __future__ import annotations

import pytest

from tests.e2e.support import API, Session, assert_problem, login, open_floor

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_an_admin_sets_up_a_queue_and_an_agent_serves_its_tickets_in_order(
    admin: Session,
) -> None:
    me = admin.client.get(f"{API}/auth/me/", headers=admin.headers)
    assert me.status_code == 200
    assert me.json()["role"] == "admin"
    assert me.json()["tenant_id"] == admin.tenant.id

    site = admin.add_site("Main street", "Europe/Paris")
    assert site["name"] == "Main street"
    assert site["timezone"] == "Europe/Paris"
    assert admin.ok("GET", f"sites/{site['id']}/") == site
    assert admin.list("sites/") == [site]
    service = admin.add_service("A", "Accounts")
    assert service["code"] == "A"
    queue = admin.open_queue(site["id"], [service["id"]], "fifo", name="Accounts")
    assert queue["algorithm"] == "fifo"
    assert queue["site_id"] == site["id"]
    assert queue["service_ids"] == [service["id"]]
    assert queue["waiting"] == 0
    agent_user = admin.add_user("agent", [queue["id"]])
    assert agent_user["role"] == "agent"
    assert agent_user["tenant_id"] == admin.tenant.id

    first = admin.issue(queue["id"], channel="kiosk")
    second = admin.issue(queue["id"])
    assert (first["number"], first["status"], first["position"]) == ("A-001", "waiting", 1)
    assert (second["number"], second["status"], second["position"]) == ("A-002", "waiting", 2)
    assert first["queue_id"] == queue["id"]
    assert first["channel"] == "kiosk"
    assert first["eta_seconds"] is None  # no agent on duty for the queue yet
    assert admin.ok("GET", f"queues/{queue['id']}/")["waiting"] == 2

    agent = login(admin.client, admin.tenant, agent_user["email"])
    profile = agent.set_status("available", counter="Desk 4")
    assert (profile["status"], profile["counter"]) == ("available", "Desk 4")
    assert profile["queue_ids"] == [queue["id"]]

    calling = agent.post("agents/call-next/", {})
    assert calling.status_code == 200, calling.text
    called = calling.json()
    assert (called["id"], called["number"], called["status"]) == (first["id"], "A-001", "called")
    assert called["counter"] == "Desk 4"
    assert called["agent_id"] == profile["id"]
    assert called["position"] is None
    assert agent.me()["current_ticket_id"] == first["id"]
    # Read your writes: the ticket list and the agent board have seen the call.
    next_up = agent.get(
        f"tickets/{second['id']}/", params={"min_position": calling.headers["X-Log-Position"]}
    ).json()
    assert next_up["position"] == 1
    assert next_up["eta_seconds"] > 0  # the only agent on duty is busy with the first ticket

    for action, status in [
        ("start", "serving"),
        ("pause", "paused"),
        ("resume", "serving"),
        ("close", "completed"),
    ]:
        response = agent.act(first["id"], action)
        assert response.status_code == 200, (action, response.text)
        assert response.json()["id"] == first["id"]
        assert response.json()["status"] == status
    done = agent.ticket(first["id"])
    assert done["status"] == "completed"
    assert done["service_started_at"] is not None
    assert done["finished_at"] is not None
    assert agent.me()["current_ticket_id"] is None
    assert agent.me()["status"] == "available"

    named = agent.ok("POST", "agents/call-next/", {"queue_id": queue["id"]})
    assert named["number"] == "A-002"
    assert agent.act(second["id"], "start").status_code == 200
    assert agent.act(second["id"], "close").json()["status"] == "completed"

    nothing = agent.post("agents/call-next/", {"queue_id": queue["id"]})
    assert nothing.status_code == 204
    assert nothing.content == b""
    assert admin.ok("GET", f"queues/{queue['id']}/")["waiting"] == 0


def test_a_priority_queue_calls_the_higher_priority_ticket_first(admin: Session) -> None:
    floor = open_floor(admin, algorithm="priority", code="P")
    queue_id = floor.queue["id"]
    low = admin.issue(queue_id, priority=0)
    high = admin.issue(queue_id, priority=7)
    middle = admin.issue(queue_id, priority=3)
    assert admin.ticket(high["id"])["position"] == 1
    assert admin.ticket(middle["id"])["position"] == 2
    assert admin.ticket(low["id"])["position"] == 3

    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="1")
    called = []
    for _ in range(3):
        ticket = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
        called.append(ticket["id"])
        assert agent.act(ticket["id"], "mark_no_show").status_code == 200
    assert called == [high["id"], middle["id"], low["id"]]
    assert agent.post("agents/call-next/", {"queue_id": queue_id}).status_code == 204


def test_a_ticket_transferred_first_waits_at_the_head_of_the_target_queue(
    admin: Session,
) -> None:
    source = open_floor(admin, code="S")
    target_service = admin.add_service("T")
    target = admin.open_queue(source.site["id"], [target_service["id"]], name="Target")
    ahead = [admin.issue(target["id"]), admin.issue(target["id"])]
    moving = admin.issue(source.queue["id"])
    agent = admin.add_agent([source.queue["id"]])
    agent.set_status("available", counter="2")
    assert agent.ok("POST", "agents/call-next/", {})["id"] == moving["id"]

    response = agent.act(moving["id"], "transfer", {"queue_id": target["id"], "placement": "first"})

    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["id"] == moving["id"]
    assert moved["status"] == "waiting"
    assert moved["queue_id"] == target["id"]
    assert moved["position"] == 1
    assert moved["transfers"] == 1
    assert moved["agent_id"] is None
    assert admin.ticket(moving["id"])["position"] == 1
    assert [admin.ticket(t["id"])["position"] for t in ahead] == [2, 3]
    assert admin.ok("GET", f"queues/{target['id']}/")["waiting"] == 3
    assert admin.ok("GET", f"queues/{source.queue['id']}/")["waiting"] == 0
    assert agent.me()["current_ticket_id"] is None
    next_in_target = agent.ok("POST", "agents/call-next/", {"queue_id": target["id"]})
    assert next_in_target["id"] == moving["id"]


def test_a_called_ticket_can_be_recalled_then_marked_no_show(admin: Session) -> None:
    floor = open_floor(admin, code="R")
    ticket = admin.issue(floor.queue["id"])
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="9")
    calling = agent.post("agents/call-next/", {})
    assert calling.status_code == 200, calling.text
    called = calling.json()
    assert called["recalls"] == 0

    recalled = agent.act(ticket["id"], "recall")
    assert recalled.status_code == 200, recalled.text
    assert (recalled.json()["status"], recalled.json()["recalls"]) == ("called", 1)
    assert recalled.json()["counter"] == "9"

    gone = agent.act(ticket["id"], "mark_no_show")
    assert gone.status_code == 200, gone.text
    assert gone.json()["status"] == "no_show"
    assert gone.json()["finished_at"] is not None
    assert agent.me()["current_ticket_id"] is None
    assert_problem(agent.act(ticket["id"], "start"), 409, "illegal_transition")
    assert agent.ticket(ticket["id"])["status"] == "no_show"


def test_a_waiting_ticket_can_be_cancelled_and_leaves_the_line(admin: Session) -> None:
    floor = open_floor(admin, code="C")
    leaving = admin.issue(floor.queue["id"])
    staying = admin.issue(floor.queue["id"])

    response = admin.act(leaving["id"], "cancel", {"reason": "customer left"})

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["position"] is None
    assert admin.ticket(staying["id"])["position"] == 1
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1


def test_a_token_is_refused_after_logout(admin: Session) -> None:
    assert admin.get("sites/").status_code == 200

    response = admin.client.post(f"{API}/auth/logout/", headers=admin.headers)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(admin.client.get(f"{API}/auth/me/", headers=admin.headers), 401)
    assert_problem(admin.get("sites/"), 401, "unauthorized")
    assert_problem(admin.post("sites/", {"name": "Late", "timezone": "UTC"}), 401)
    again = login(admin.client, admin.tenant, admin.tenant.admin_email)
    assert again.token != admin.token
    assert again.get("sites/").status_code == 200
