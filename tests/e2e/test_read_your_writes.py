"""Read your writes over HTTP: commands answer with ``X-Log-Position``; a query given it as
``min_position`` sees the command's effect on its first answer, without the client polling."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.e2e.support import Session, assert_problem, open_floor

pytestmark = pytest.mark.e2e


def test_a_command_answers_with_its_log_position_and_a_replay_with_the_same(admin: Session):
    floor = open_floor(admin)
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = admin.post("tickets/", {"queue_id": floor.queue["id"]}, headers=key)
    assert first.status_code == 201, first.text
    written = int(first.headers["X-Log-Position"])
    second = admin.post("tickets/", {"queue_id": floor.queue["id"]})
    assert int(second.headers["X-Log-Position"]) > written  # later events, later position

    replay = admin.post("tickets/", {"queue_id": floor.queue["id"]}, headers=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["X-Log-Position"] == str(written)
    assert "X-Log-Position" not in admin.get(f"tickets/{first.json()['id']}/").headers


def test_a_query_with_min_position_sees_the_command_on_its_first_answer(
    admin: Session, projections: None
):
    floor = open_floor(admin)
    for _ in range(5):  # every round: one command, then one query, no retry
        response = admin.post("tickets/", {"queue_id": floor.queue["id"]})
        position = response.headers["X-Log-Position"]
        ticket = response.json()["id"]

        audit = admin.get("audit/", params={"aggregate_id": ticket, "min_position": position})
        assert audit.status_code == 200, audit.text
        assert int(audit.headers["X-Read-Position"]) >= int(position)
        assert [item["event_type"] for item in audit.json()["items"]] == ["Ticket.Issued"]


def test_a_query_without_min_position_says_where_the_read_model_stands(
    admin: Session, projections: None
):
    response = admin.get("audit/")
    assert response.status_code == 200
    assert int(response.headers["X-Read-Position"]) >= 0


def test_a_position_the_log_has_not_reached_is_refused_at_once(admin: Session):
    far = 2**62
    assert_problem(admin.get("audit/", params={"min_position": far}), 422, "invalid_input")
    assert_problem(admin.get("audit/", params={"min_position": 0}), 400)
    assert_problem(admin.get("audit/", params={"min_position": "soon"}), 400)


def test_readiness_checks_postgresql_and_redis_and_reports_each_read_model_s_lag(
    admin: Session, http: httpx.Client, projections: None
):
    floor = open_floor(admin)
    position = admin.post("tickets/", {"queue_id": floor.queue["id"]}).headers["X-Log-Position"]
    assert admin.get("audit/", params={"min_position": position}).status_code == 200

    deadline = time.monotonic() + 10
    while True:
        ready = http.get("/api/v1/health/ready")
        assert ready.status_code == 200, ready.text
        body = ready.json()
        assert body["checks"] == {"postgresql": "ok", "redis": "ok"}
        assert set(body["projection_lag"]) >= {"audit_log"}
        if body["projection_lag"]["audit_log"] == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert body["projection_lag"]["audit_log"] == 0  # idle: it caught up with the log


def test_the_agent_board_shows_a_status_change_on_the_first_answer(
    admin: Session, projections: None
):
    agent = admin.add_agent()
    for status in ("available", "paused", "available", "offline"):
        response = agent.post("agents/set-status/", {"status": status, "counter": "7"})
        assert response.status_code == 200, response.text
        board = admin.get(
            "agents/board/", params={"min_position": response.headers["X-Log-Position"]}
        )
        assert board.status_code == 200, board.text
        mine = [entry for entry in board.json() if entry["user_id"] == agent.user["id"]]
        assert [entry["status"] for entry in mine] == [status]


def test_queue_statistics_count_a_ticket_on_the_first_answer(admin: Session, projections: None):
    floor = open_floor(admin)
    for issued in range(1, 4):
        response = admin.post("tickets/", {"queue_id": floor.queue["id"]})
        stats = admin.get(
            f"queues/{floor.queue['id']}/stats/",
            params={"min_position": response.headers["X-Log-Position"]},
        )
        assert stats.status_code == 200, stats.text
        assert (stats.json()["issued"], stats.json()["waiting"]) == (issued, issued)


def test_the_list_of_queues_shows_a_queue_just_opened_on_the_first_answer(
    admin: Session, projections: None
):
    floor = open_floor(admin)
    opened = [floor.queue["id"]]
    for name in ("Second", "Third"):
        body = {"name": name, "site_id": floor.site["id"], "service_ids": [floor.service["id"]]}
        response = admin.post("queues/", body)
        assert response.status_code == 201, response.text
        opened.append(response.json()["id"])
        position = response.headers["X-Log-Position"]

        listed = admin.get("queues/", params={"min_position": position})

        assert listed.status_code == 200, listed.text
        assert int(listed.headers["X-Read-Position"]) >= int(position)
        assert [queue["id"] for queue in listed.json()["items"]] == opened


def test_the_list_of_agents_shows_a_status_change_on_the_first_answer(
    admin: Session, projections: None
):
    agent = admin.add_agent()
    for status in ("available", "paused"):
        response = agent.post("agents/set-status/", {"status": status, "counter": "4"})
        assert response.status_code == 200, response.text

        listed = admin.get("agents/", params={"min_position": response.headers["X-Log-Position"]})

        assert listed.status_code == 200, listed.text
        mine = [item for item in listed.json()["items"] if item["user_id"] == agent.user["id"]]
        assert [(item["status"], item["counter"]) for item in mine] == [(status, "4")]
