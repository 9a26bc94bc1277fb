"""GET agents/board/: agents' status, counter and ticket, fed by a real ``smartqueue projections``
process, filtered, and closed to other tenants and to tokens without ``agents:read``."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.e2e.support import Session, Tenant, assert_problem, login, open_floor

pytestmark = pytest.mark.e2e


def _moment(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _board(session: Session, wanted: Callable[[list[dict]], bool], **params: str) -> list[dict]:
    """The board, once the projection has caught up with ``wanted`` (polled for 15 s)."""
    deadline = time.monotonic() + 15
    while True:
        response = session.get("agents/board/", params=params)
        assert response.status_code == 200, response.text
        board = response.json()
        if wanted(board) or time.monotonic() > deadline:
            return board
        time.sleep(0.05)


def _entry(session: Session, agent_id: str, wanted: Callable[[dict], bool]) -> dict:
    """The board entry of ``agent_id`` once ``wanted`` holds for it."""

    def found(board: list[dict]) -> bool:
        return any(e["agent_id"] == agent_id and wanted(e) for e in board)

    board = _board(session, found)
    [entry] = [e for e in board if e["agent_id"] == agent_id]
    assert wanted(entry), entry
    return entry


def test_the_board_shows_each_step_of_an_agent_serving_a_ticket(
    admin: Session, projections: None
) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    agent = admin.add_agent(queue_ids=[queue_id])
    agent_id = agent.me()["id"]

    agent.set_status("available", counter="3")
    entry = _entry(admin, agent_id, lambda e: e["status"] == "available" and e["counter"] == "3")
    assert entry["name"] == agent.user["name"]
    assert entry["user_id"] == agent.user["id"]
    assert entry["queue_ids"] == [queue_id]
    assert entry["ticket"] is None

    ticket = admin.issue(queue_id)
    called = agent.ok("POST", "agents/call-next/", {"queue_id": queue_id})
    assert called["id"] == ticket["id"]
    entry = _entry(admin, agent_id, lambda e: e["ticket"] is not None)
    assert entry["status"] == "busy"
    assert entry["ticket"]["id"] == ticket["id"]
    assert entry["ticket"]["number"] == ticket["number"]
    assert entry["ticket"]["queue_id"] == queue_id
    assert entry["ticket"]["status"] == "called"
    assert _moment(entry["ticket"]["called_at"]) == _moment(called["called_at"])

    assert agent.act(ticket["id"], "start").status_code == 200
    entry = _entry(admin, agent_id, lambda e: (e["ticket"] or {}).get("status") == "serving")
    assert entry["ticket"]["id"] == ticket["id"]

    assert agent.act(ticket["id"], "close").status_code == 200
    entry = _entry(admin, agent_id, lambda e: e["ticket"] is None and e["served_today"] == 1)
    assert entry["status"] == "available"

    agent.set_status("paused")
    _entry(admin, agent_id, lambda e: e["status"] == "paused")
    # The agent itself may read the board (agents:read), and the filters narrow it.
    paused = agent.get("agents/board/", params={"status": "paused"}).json()
    assert [e["agent_id"] for e in paused] == [agent_id]
    assert agent.get("agents/board/", params={"status": "available"}).json() == [
        e for e in agent.get("agents/board/").json() if e["status"] == "available"
    ]
    by_queue = admin.get("agents/board", params={"queue_id": queue_id}).json()
    assert [e["agent_id"] for e in by_queue] == [agent_id]
    by_site = admin.get("agents/board/", params={"site_id": floor.site["id"]}).json()
    assert [e["agent_id"] for e in by_site] == [agent_id]


def test_the_board_is_ordered_by_counter_then_name(admin: Session, projections: None) -> None:
    floor = open_floor(admin)
    counters = ["10", "2", None]
    agents = [admin.add_agent(queue_ids=[floor.queue["id"]]) for _ in counters]
    ids = []
    for agent, counter in zip(agents, counters, strict=True):
        agent.set_status("available", counter=counter)
        ids.append(agent.me()["id"])

    def seated(board: list[dict]) -> bool:
        return sum(1 for e in board if e["agent_id"] in ids and e["status"] == "available") == 3

    board = [e for e in _board(admin, seated) if e["agent_id"] in ids]
    assert [e["counter"] for e in board] == ["2", "10", None]


def test_the_board_route_does_not_shadow_an_agent_by_id(admin: Session, projections: None) -> None:
    agent = admin.add_agent()
    agent_id = agent.me()["id"]
    assert admin.ok("GET", f"agents/{agent_id}/")["id"] == agent_id
    assert isinstance(admin.ok("GET", "agents/board/"), list)


def test_bad_filters_are_problems_naming_the_parameter(admin: Session) -> None:
    body = assert_problem(admin.get("agents/board/", params={"status": "asleep"}), 422)
    assert "asleep" in body["detail"]
    assert_problem(admin.get("agents/board/", params={"queue_id": "not-a-uuid"}), 400)


def test_another_tenant_gets_404_and_a_token_without_agents_read_gets_403(
    admin: Session, http: httpx.Client, new_tenant: Callable[[], Tenant], e2e_home: Path
) -> None:
    stranger = new_tenant()
    other = login(http, stranger, stranger.admin_email, stranger.admin_password)
    response = http.get(admin.path("agents/board/"), headers=other.headers)
    assert_problem(response, 404)

    # Every built-in role holds agents:read, so a narrower token (what a display device would
    # carry) is signed here with the server's own key.
    claims: dict[str, Any] = jwt.decode(admin.token, options={"verify_signature": False})
    claims["scope"] = "queues:read tickets:read"
    key = (e2e_home / "jwt-secret").read_text().strip().encode()
    header = jwt.get_unverified_header(admin.token)
    narrow = jwt.encode(claims, key, algorithm="HS256", headers={"typ": header["typ"]})
    response = http.get(admin.path("agents/board/"), headers={"Authorization": f"Bearer {narrow}"})
    body = assert_problem(response, 403, "forbidden")
    assert "agents:read" in body["detail"]


def test_an_agent_chooses_their_own_queues_and_only_their_own(admin: Session) -> None:
    floor = open_floor(admin)
    other_queue = admin.open_queue(floor.site["id"], [floor.service["id"]], name="Other")["id"]
    agent = admin.add_agent()
    colleague = admin.add_agent()
    chosen = [floor.queue["id"], other_queue]

    mine = agent.ok("PUT", "agents/me/queues/", {"queue_ids": chosen})
    assert (mine["id"], mine["queue_ids"]) == (agent.me()["id"], chosen)
    assert admin.ok("GET", f"agents/{mine['id']}/")["queue_ids"] == chosen
    # Only one's own: anyone else's takes a manager (agents:manage).
    refused = agent.request(
        "PUT", f"agents/{colleague.me()['id']}/queues/", json={"queue_ids": chosen}
    )
    assert_problem(refused, 403)
    assert admin.ok("GET", f"agents/{colleague.me()['id']}/")["queue_ids"] == []
    # A queue of no one's tenant, or twice the same: nothing changes.
    unknown = "00000000-0000-4000-8000-000000000000"
    assert_problem(agent.request("PUT", "agents/me/queues/", json={"queue_ids": [unknown]}), 404)
    assert agent.me()["queue_ids"] == chosen
