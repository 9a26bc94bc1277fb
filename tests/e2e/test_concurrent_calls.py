"""Agents racing for the same queue over HTTP: no ticket is called twice, none is skipped."""

from __future__ import annotations

import threading
import time
from collections import Counter

import httpx
import pytest

from tests.e2e.support import Session, open_floor

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

WAITING = 16
AGENTS = 2
MAX_RETRIES_ON_CONTENTION = 20


def _serve_until_empty(
    api_url: str, agent: Session, queue_id: str, start: threading.Barrier
) -> tuple[list[str], list[str], int]:
    """Call next until nobody waits, releasing each ticket at once (no-show).

    Returns the ids called, any unexpected answers, and how many 503s were retried.
    """
    called: list[str] = []
    unexpected: list[str] = []
    contention = 0
    with httpx.Client(base_url=api_url, timeout=30.0, headers=agent.headers) as client:
        call_next = agent.path("agents/call-next/")
        start.wait(timeout=30)
        while True:
            response = client.post(call_next, json={"queue_id": queue_id})
            if response.status_code == 503 and contention < MAX_RETRIES_ON_CONTENTION:
                contention += 1  # the documented answer to contention: retry after a moment
                time.sleep(float(response.headers.get("retry-after", "1")) / 10)
                continue
            if response.status_code == 204:
                return called, unexpected, contention
            if response.status_code != 200:
                unexpected.append(f"call-next {response.status_code} {response.text}")
                return called, unexpected, contention
            ticket = response.json()
            called.append(ticket["id"])
            released = client.post(agent.path(f"tickets/{ticket['id']}/mark_no_show/"))
            if released.status_code != 200:
                unexpected.append(f"mark_no_show {released.status_code} {released.text}")
                return called, unexpected, contention


def test_two_agents_calling_next_at_once_call_each_ticket_exactly_once(
    api_url: str, admin: Session
) -> None:
    floor = open_floor(admin, code="RC")
    queue_id = floor.queue["id"]
    issued = [admin.issue(queue_id)["id"] for _ in range(WAITING)]
    agents = [admin.add_agent([queue_id]) for _ in range(AGENTS)]
    for number, agent in enumerate(agents, start=1):
        agent.set_status("available", counter=f"Desk {number}")
    start = threading.Barrier(AGENTS)
    results: dict[int, tuple[list[str], list[str], int]] = {}

    def work(index: int) -> None:
        results[index] = _serve_until_empty(api_url, agents[index], queue_id, start)

    threads = [threading.Thread(target=work, args=(index,)) for index in range(AGENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an agent never finished"

    assert [results[i][1] for i in range(AGENTS)] == [[]] * AGENTS
    all_called = [ticket_id for i in range(AGENTS) for ticket_id in results[i][0]]
    twice = [ticket_id for ticket_id, times in Counter(all_called).items() if times > 1]
    assert not twice, f"called more than once: {twice}"
    assert sorted(all_called) == sorted(issued)
    for index, agent in enumerate(agents):
        agent_id = agent.me()["id"]
        for ticket_id in results[index][0]:
            ticket = admin.ticket(ticket_id)
            assert ticket["status"] == "no_show"
            assert ticket["agent_id"] == agent_id
            assert ticket["counter"] == f"Desk {index + 1}"
        assert agent.me()["current_ticket_id"] is None
    assert admin.ok("GET", f"queues/{queue_id}/")["waiting"] == 0
