"""Managing queues and agents over HTTP: reconfigure, pause, resume, close; seat agents."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.support import Session, assert_problem, open_floor

# The lists of queues and agents are served by the directory read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_a_paused_queue_answers_409_to_new_tickets_until_resumed(admin: Session) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    waiting = admin.issue(queue_id)

    paused = admin.ok("POST", f"queues/{queue_id}/pause/")
    refused = admin.post("tickets/", {"queue_id": queue_id})

    assert paused == {**floor.queue, "status": "paused", "waiting": 1}
    problem = assert_problem(refused, 409, "queue_not_accepting")
    assert problem["detail"] == "queue 'Queue A' is paused and takes no tickets"
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="4")
    assert agent.ok("POST", "agents/call-next/")["id"] == waiting["id"]

    assert admin.ok("POST", f"queues/{queue_id}/resume/")["status"] == "open"
    assert admin.issue(queue_id)["number"] == "A-002"


def test_a_queue_closes_only_when_empty_and_then_refuses_everything(admin: Session) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    ticket = admin.issue(queue_id)

    busy = assert_problem(admin.post(f"queues/{queue_id}/close/"), 409, "queue_conflict")
    assert busy["detail"] == "1 tickets still wait in this queue"
    admin.act(ticket["id"], "cancel")
    closed = admin.ok("POST", f"queues/{queue_id}/close/")

    assert closed["status"] == "closed"
    assert "closed" in assert_problem(admin.post("tickets/", {"queue_id": queue_id}), 409)["detail"]
    resumed = assert_problem(admin.post(f"queues/{queue_id}/resume/"), 409, "queue_conflict")
    assert resumed["detail"] == "only a paused queue can be resumed; this one is closed"
    renamed = assert_problem(admin.patch(f"queues/{queue_id}/", {"name": "Again"}), 409)
    assert "a closed queue cannot be reconfigured" in renamed["detail"]


def test_a_queue_patch_changes_its_name_services_and_algorithm(admin: Session) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    second = admin.add_service("B")

    renamed = admin.ok("PATCH", f"queues/{queue_id}/", {"name": "Front desk"})
    reshaped = admin.ok(
        "PATCH",
        f"queues/{queue_id}",
        {"service_ids": [second["id"], floor.service["id"]], "algorithm": "priority"},
    )

    assert renamed == {**floor.queue, "name": "Front desk"}
    assert reshaped == {
        **renamed,
        "service_ids": [second["id"], floor.service["id"]],
        "algorithm": "priority",
    }
    assert admin.ok("PATCH", f"queues/{queue_id}/", {}) == reshaped
    assert admin.issue(queue_id)["number"] == "B-001"


def test_a_queue_patch_sets_and_clears_its_auto_no_show_and_the_list_agrees(
    admin: Session,
) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    assert floor.queue["auto_no_show_minutes"] is None

    set_ = admin.ok("PATCH", f"queues/{queue_id}/", {"auto_no_show_minutes": 5})
    kept = admin.ok("PATCH", f"queues/{queue_id}/", {"name": "Front desk"})

    assert set_ == {**floor.queue, "auto_no_show_minutes": 5}
    assert kept["auto_no_show_minutes"] == 5
    listed = [queue for queue in admin.list("queues/") if queue["id"] == queue_id]
    # The list (the directory read model) leaves out one queue's appointment placement.
    assert listed == [{key: value for key, value in kept.items() if key in listed[0]}]
    assert set(kept) - set(listed[0]) == {"appointment_placement", "appointment_priority"}
    cleared = admin.ok("PATCH", f"queues/{queue_id}/", {"auto_no_show_minutes": None})
    assert cleared == {**kept, "auto_no_show_minutes": None}


@pytest.mark.parametrize(
    ("body", "status", "code", "detail"),
    [
        ({"auto_no_show_minutes": 0}, 400, "validation_failed", "auto_no_show_minutes"),
        ({"auto_no_show_minutes": 1441}, 400, "validation_failed", "auto_no_show_minutes"),
        ({"auto_no_show_minutes": "soon"}, 400, "validation_failed", "auto_no_show_minutes"),
        ({"algorithm": "lifo"}, 400, "validation_failed", "Invalid enum value 'lifo'"),
        ({"service_ids": []}, 400, "validation_failed", "service_ids"),
        ({"service_ids": [str(uuid.uuid4())]}, 404, "not_found", "no service with id"),
        ({"status": "paused"}, 422, "server_owned_field", "'status' is set by the server"),
        ({"site_id": str(uuid.uuid4())}, 400, "validation_failed", "site_id"),
        (
            {"appointment_placement": "priority", "appointment_priority": 5},
            422,
            "invalid_input",
            "needs a queue with the 'priority' algorithm; this one is 'fifo'",
        ),
        ({"appointment_priority": 5}, 422, "invalid_input", "applies only with"),
        ({"appointment_priority": 11}, 400, "validation_failed", "appointment_priority"),
        ({"appointment_placement": "soon"}, 400, "validation_failed", "Invalid enum value"),
    ],
)
def test_an_invalid_queue_patch_is_a_problem_and_changes_nothing(
    admin: Session, body: dict, status: int, code: str, detail: str
) -> None:
    floor = open_floor(admin)

    problem = assert_problem(admin.patch(f"queues/{floor.queue['id']}/", body), status, code)

    assert detail in problem["detail"]
    assert admin.ok("GET", f"queues/{floor.queue['id']}/") == floor.queue


def test_pausing_twice_is_a_409_and_an_agent_may_not_pause_at_all(admin: Session) -> None:
    floor = open_floor(admin)
    queue_id = floor.queue["id"]
    agent = admin.add_agent([queue_id])

    forbidden = assert_problem(agent.post(f"queues/{queue_id}/pause/"), 403, "forbidden")
    assert "queues:manage" in forbidden["detail"]
    admin.ok("POST", f"queues/{queue_id}/pause/")
    again = assert_problem(admin.post(f"queues/{queue_id}/pause/"), 409)
    assert again["detail"] == "only an open queue can be paused; this one is paused"
    assert_problem(admin.post(f"queues/{uuid.uuid4()}/pause/"), 404, "not_found")


def test_a_manager_seats_an_agent_at_a_counter_and_the_next_call_announces_it(
    admin: Session,
) -> None:
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    agent_id = agent.set_status("available", counter="1")["id"]
    admin.issue(floor.queue["id"])
    manager = admin.add_agent(role="manager")

    seated = manager.ok("PUT", f"agents/{agent_id}/counter/", {"counter": " Window 7 "})
    called = agent.ok("POST", "agents/call-next/")

    assert seated["counter"] == "Window 7"
    assert called["counter"] == "Window 7"
    assert manager.ok("PUT", f"agents/{agent_id}/counter", {"counter": None})["counter"] is None


def test_an_agent_cannot_seat_anyone_and_a_blank_counter_is_refused(admin: Session) -> None:
    agent = admin.add_agent()
    agent_id = agent.me()["id"]

    assert_problem(agent.request("PUT", f"agents/{agent_id}/counter/", json={"counter": "2"}), 403)
    blank = admin.request("PUT", f"agents/{agent_id}/counter/", json={"counter": "   "})
    assert "a counter label cannot be blank" in assert_problem(blank, 422)["detail"]
    missing = admin.request("PUT", f"agents/{agent_id}/counter/", json={})
    assert "counter" in assert_problem(missing, 400, "validation_failed")["detail"]
    unknown = admin.request("PUT", f"agents/{uuid.uuid4()}/counter/", json={"counter": "2"})
    assert_problem(unknown, 404, "not_found")
    assert agent.me()["counter"] is None


def test_the_agent_board_lists_every_staff_member_with_status_and_counter(admin: Session) -> None:
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="3")

    board = {entry["user_id"]: entry for entry in agent.list("agents/")}

    assert set(board) == {admin.user["id"], agent.user["id"]}
    assert board[agent.user["id"]]["status"] == "available"
    assert board[agent.user["id"]]["counter"] == "3"
    assert board[agent.user["id"]]["queue_ids"] == [floor.queue["id"]]
    assert board[admin.user["id"]]["status"] == "offline"
