"""Idempotency-Key over HTTP against the real ``smartqueue api`` process and its PostgreSQL."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from uuid import UUID

import httpx
import psycopg
import pytest

from interfaces.http.idempotency_http import request_fingerprint
from tests.e2e.support import API, Session, Tenant, assert_problem, login, open_floor

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

CONCURRENT = 20
REPLAYED = "idempotent-replayed"


def new_key() -> str:
    return str(uuid.uuid4())


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def waiting(admin: Session, queue_id: str) -> int:
    return admin.ok("GET", f"queues/{queue_id}/")["waiting"]


def test_twenty_concurrent_issues_with_one_key_make_one_ticket_and_identical_answers(
    api_url: str, admin: Session
) -> None:
    queue_id = open_floor(admin, code="IK").queue["id"]
    key = new_key()
    start = threading.Barrier(CONCURRENT)
    answers: list[httpx.Response | BaseException] = []
    lock = threading.Lock()

    def client_retrying() -> None:
        with httpx.Client(base_url=api_url, timeout=60.0, headers=admin.headers) as client:
            start.wait(timeout=30)
            try:
                answer: httpx.Response | BaseException = client.post(
                    admin.path("tickets/"), json={"queue_id": queue_id}, headers=keyed(key)
                )
            except httpx.HTTPError as error:
                answer = error
            with lock:
                answers.append(answer)

    threads = [threading.Thread(target=client_retrying) for _ in range(CONCURRENT)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert len(answers) == CONCURRENT
    failures = [a for a in answers if not isinstance(a, httpx.Response)]
    assert not failures, failures
    assert {(a.status_code, a.content) for a in answers} == {(201, answers[0].content)}
    assert sum(REPLAYED not in a.headers for a in answers) == 1  # the one that ran
    assert all(a.headers[REPLAYED] == "true" for a in answers if REPLAYED in a.headers)
    ticket = answers[0].json()
    assert waiting(admin, queue_id) == 1
    assert admin.ticket(ticket["id"])["status"] == "waiting"


def test_without_a_key_every_request_has_its_effect(admin: Session) -> None:
    queue_id = open_floor(admin, code="NK").queue["id"]

    first = admin.post("tickets/", {"queue_id": queue_id})
    second = admin.post("tickets/", {"queue_id": queue_id})

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert REPLAYED not in first.headers and REPLAYED not in second.headers
    assert waiting(admin, queue_id) == 2


def test_the_same_key_with_another_body_or_path_is_a_422(admin: Session) -> None:
    floor = open_floor(admin, code="RB")
    key = new_key()
    first = admin.post("tickets/", {"queue_id": floor.queue["id"]}, headers=keyed(key))
    assert first.status_code == 201

    other_body = admin.post(
        "tickets/", {"queue_id": floor.queue["id"], "priority": 3}, headers=keyed(key)
    )
    other_path = admin.post(f"tickets/{first.json()['id']}/cancel/", headers=keyed(key))

    body = assert_problem(other_body, 422, "idempotency_key_reused")
    assert key in body["detail"]
    assert_problem(other_path, 422, "idempotency_key_reused")
    assert admin.ticket(first.json()["id"])["status"] == "waiting"
    assert waiting(admin, floor.queue["id"]) == 1


def test_the_same_key_in_another_tenant_is_another_key(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    other_tenant = new_tenant()
    other = login(http, other_tenant, other_tenant.admin_email, other_tenant.admin_password)
    key = new_key()
    queues = [open_floor(session, code="TK").queue["id"] for session in (admin, other)]

    mine = admin.post("tickets/", {"queue_id": queues[0]}, headers=keyed(key))
    theirs = other.post("tickets/", {"queue_id": queues[1]}, headers=keyed(key))

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert mine.json()["id"] != theirs.json()["id"]
    assert waiting(admin, queues[0]) == 1
    assert waiting(other, queues[1]) == 1


def test_a_refusal_is_replayed_as_is_even_once_the_action_became_possible(
    admin: Session,
) -> None:
    queue_id = open_floor(admin, code="RF").queue["id"]
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="1")
    ticket = admin.issue(queue_id)
    key = new_key()
    refused = agent.post(f"tickets/{ticket['id']}/close/", headers=keyed(key))
    assert_problem(refused, 409, "illegal_transition")
    assert agent.post("agents/call-next/", {"queue_id": queue_id}).status_code == 200
    assert agent.act(ticket["id"], "start").status_code == 200

    replayed = agent.post(f"tickets/{ticket['id']}/close/", headers=keyed(key))

    assert (replayed.status_code, replayed.content) == (409, refused.content)
    assert replayed.headers["content-type"] == refused.headers["content-type"]
    assert replayed.headers[REPLAYED] == "true"
    assert admin.ticket(ticket["id"])["status"] == "serving"
    closed = agent.post(f"tickets/{ticket['id']}/close/", headers=keyed(new_key()))
    assert closed.status_code == 200
    assert closed.json()["status"] == "completed"


def test_calling_next_twice_with_one_key_calls_one_ticket(admin: Session) -> None:
    queue_id = open_floor(admin, code="CN").queue["id"]
    agent = admin.add_agent([queue_id])
    agent.set_status("available", counter="2")
    issued = [admin.issue(queue_id)["id"] for _ in range(2)]
    key = new_key()

    first = agent.post("agents/call-next/", {"queue_id": queue_id}, headers=keyed(key))
    again = agent.post("agents/call-next/", {"queue_id": queue_id}, headers=keyed(key))

    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"] == issued[0]
    assert again.headers[REPLAYED] == "true"
    assert waiting(admin, queue_id) == 1
    assert admin.ticket(issued[1])["status"] == "waiting"


def test_a_request_refused_at_authentication_claims_no_key(admin: Session) -> None:
    queue_id = open_floor(admin, code="AU").queue["id"]
    key = new_key()

    refused = admin.post(
        "tickets/",
        {"queue_id": queue_id, "priority": 9},
        headers={**keyed(key), "Authorization": "Bearer not-a-token"},
    )
    later = admin.post("tickets/", {"queue_id": queue_id}, headers=keyed(key))

    assert_problem(refused, 401)
    assert later.status_code == 201
    assert REPLAYED not in later.headers


@pytest.mark.parametrize("key", ["has space", "x" * 256])
def test_an_invalid_key_is_a_400(admin: Session, key: str) -> None:
    queue_id = open_floor(admin, code="IV").queue["id"]

    response = admin.post("tickets/", {"queue_id": queue_id}, headers=keyed(key))

    assert_problem(response, 400, "invalid_idempotency_key")
    assert waiting(admin, queue_id) == 0


# -- a request still in flight: its row put in the database by hand -----------------------------


def _hold_key(database_url: str, admin: Session, key: str, body: dict, lease_seconds: int) -> None:
    """Make ``key`` look held by a running ``POST tickets/`` with ``body`` (lease may be over)."""
    fingerprint = request_fingerprint(
        UUID(admin.user["id"]),
        "POST",
        f"{API}/tenants/{admin.tenant.slug}/tickets/",
        b"",
        json.dumps(body).encode(),
    )
    with psycopg.connect(database_url) as connection:
        # Row-level security admits the tenant's rows only inside the tenant's transaction.
        connection.execute("SELECT set_config('app.tenant_id', %s, true)", (admin.tenant.id,))
        connection.execute(
            "INSERT INTO idempotency_keys (tenant_id, key, request_fingerprint, state, claim_id,"
            " created_at, locked_until) VALUES (%s, %s, %s, 'in_flight', %s, now(),"
            " now() + make_interval(secs => %s))",
            (admin.tenant.id, key, fingerprint, uuid.uuid4(), lease_seconds),
        )


def test_a_duplicate_of_a_request_still_running_gets_409_with_retry_after(
    database_url: str, admin: Session
) -> None:
    queue_id = open_floor(admin, code="IF").queue["id"]
    key = new_key()
    _hold_key(database_url, admin, key, {"queue_id": queue_id}, lease_seconds=60)

    response = admin.post("tickets/", {"queue_id": queue_id}, headers=keyed(key))

    assert_problem(response, 409, "idempotency_key_in_flight")
    assert int(response.headers["retry-after"]) >= 1
    assert waiting(admin, queue_id) == 0


def test_a_key_held_by_a_request_whose_process_died_is_taken_over_after_its_lease(
    database_url: str, admin: Session
) -> None:
    queue_id = open_floor(admin, code="DL").queue["id"]
    key = new_key()
    _hold_key(database_url, admin, key, {"queue_id": queue_id}, lease_seconds=-1)

    response = admin.post("tickets/", {"queue_id": queue_id}, headers=keyed(key))
    again = admin.post("tickets/", {"queue_id": queue_id}, headers=keyed(key))

    assert response.status_code == 201
    assert (again.status_code, again.content) == (201, response.content)
    assert waiting(admin, queue_id) == 1


def test_the_openapi_document_offers_the_header_on_commands_only(http: httpx.Client) -> None:
    document = http.get("/schema/openapi.json").json()
    tickets = f"{API}/tenants/{{slug}}/tickets"

    def header_names(path: str, method: str) -> set[str]:
        parameters = document["paths"][path][method].get("parameters", [])
        return {p["name"] for p in parameters if p["in"] == "header"}

    for path in (
        tickets,
        f"{tickets}/{{ticket_id}}/start",
        f"{tickets}/{{ticket_id}}/transfer",
        f"{tickets}/{{ticket_id}}/cancel",
        f"{API}/tenants/{{slug}}/agents/call-next",
        f"{API}/tenants/{{slug}}/agents/set-status",
    ):
        assert "Idempotency-Key" in header_names(path, "post"), path
        assert "422" in document["paths"][path]["post"]["responses"], path
    assert "Idempotency-Key" not in header_names(f"{tickets}/{{ticket_id}}", "get")
    assert "Idempotency-Key" not in header_names(f"{API}/tenants/{{slug}}/queues", "post")
