"""The ETA of a waiting ticket over HTTP: agents who serve a queue by calling from it (without
being assigned to it) count as on duty for it, and every answer that shows the ticket (the
issue response, ``GET tickets/{id}/`` and ``GET tickets/``) gives the same number."""

from __future__ import annotations

import time

import pytest

from tests.e2e.support import Session, open_floor

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

HOLD_SECONDS = 2.0


def _settle_board(admin: Session) -> None:
    """Wait until the tickets and agent board read models have applied every command so far."""
    admin.settle()
    assert Session.read_models is not None
    Session.read_models.caught_up("agent_board")


def test_unassigned_agents_calling_a_queue_give_its_waiting_tickets_one_eta(admin: Session):
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    agents = [admin.add_agent(), admin.add_agent()]  # assigned to no queue
    for agent in agents:
        agent.set_status("available")
        assert agent.me()["queue_ids"] == []

    # Each agent calls one ticket by queue_id and completes it: both are then free, and the
    # queue has two samples. With free agents and no hold under way the estimate of every
    # position does not change with time, so two reads made moments apart must agree.
    for _ in agents:
        admin.issue(queue_id)
    called = [agent.ok("POST", "agents/call-next/", {"queue_id": queue_id}) for agent in agents]
    time.sleep(HOLD_SECONDS)  # not a wait for anything: the holds last this long
    for agent, ticket in zip(agents, called, strict=True):
        assert agent.act(ticket["id"], "start").status_code == 200
        assert agent.act(ticket["id"], "close").status_code == 200
    _settle_board(admin)

    issued = [admin.issue(queue_id) for _ in range(4)]
    assert [ticket["position"] for ticket in issued] == [1, 2, 3, 4]
    _settle_board(admin)

    one_by_one = {ticket["id"]: admin.ticket(ticket["id"])["eta_seconds"] for ticket in issued}
    response = admin.get("tickets/", params={"queue_id": queue_id, "status": "waiting"})
    assert response.status_code == 200, response.text
    in_list = {item["id"]: item["eta_seconds"] for item in response.json()["items"]}
    at_issue = {ticket["id"]: ticket["eta_seconds"] for ticket in issued}

    first, second, third, fourth = (ticket["id"] for ticket in issued)
    assert one_by_one[first] == 0 and one_by_one[second] == 0  # two free agents take them now
    assert all(isinstance(eta, int) for eta in one_by_one.values()), one_by_one
    assert HOLD_SECONDS / 2 <= one_by_one[third] < one_by_one[fourth], one_by_one
    assert in_list == one_by_one
    assert at_issue == one_by_one
