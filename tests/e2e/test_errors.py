"""Refusals over HTTP: every one is an RFC 9457 problem with the right status."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.support import API, PASSWORD, Session, assert_problem, open_floor

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_an_unknown_route_is_a_404_problem(http: httpx.Client, admin: Session) -> None:
    assert_problem(http.get(f"{API}/no-such-thing/"), 404, "not_found")
    assert_problem(http.get("/definitely/not/here"), 404, "not_found")
    assert_problem(admin.get("no-such-resource/"), 404, "not_found")


def test_a_wrong_method_is_a_405_problem_naming_the_allowed_ones(admin: Session) -> None:
    response = admin.request("DELETE", "sites/")

    assert_problem(response, 405, "method_not_allowed")
    allowed = {method.strip() for method in response.headers["allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_malformed_json_is_a_400_problem(admin: Session) -> None:
    response = admin.client.post(
        admin.path("sites/"),
        content=b'{"name": "Broken", "timezone": ',
        headers={**admin.headers, "Content-Type": "application/json"},
    )

    assert_problem(response, 400)
    assert admin.list("sites/") == []


def test_a_field_of_the_wrong_type_is_a_400_problem_naming_the_field(admin: Session) -> None:
    body = assert_problem(admin.post("sites/", {"name": 12, "timezone": "UTC"}), 400)

    assert body["code"] == "validation_failed"
    assert "name" in body["detail"]
    assert admin.list("sites/") == []


def test_an_unknown_field_is_a_400_problem_rather_than_ignored(admin: Session) -> None:
    response = admin.post("sites/", {"name": "Typo", "timezone": "UTC", "timzone": "UTC"})

    body = assert_problem(response, 400, "validation_failed")
    assert "timzone" in body["detail"]
    assert admin.list("sites/") == []


def test_a_missing_required_field_is_a_400_problem(admin: Session) -> None:
    floor = open_floor(admin)

    response = admin.post("queues/", {"name": "No services", "site_id": floor.site["id"]})

    assert_problem(response, 400, "validation_failed")


def test_closing_a_waiting_ticket_is_a_409_and_leaves_the_ticket_unchanged(
    admin: Session,
) -> None:
    floor = open_floor(admin)
    ticket = admin.issue(floor.queue["id"])
    before = admin.ticket(ticket["id"])

    body = assert_problem(admin.act(ticket["id"], "close"), 409, "illegal_transition")

    assert "waiting" in body["detail"]
    assert admin.ticket(ticket["id"]) == before
    assert before["status"] == "waiting"
    assert before["position"] == 1
    for action in ("start", "pause", "resume", "recall", "mark_no_show"):
        assert_problem(admin.act(ticket["id"], action), 409, "illegal_transition")
    assert admin.ticket(ticket["id"]) == before


def test_an_unknown_ticket_is_a_404_problem(admin: Session) -> None:
    missing = uuid.uuid4()

    assert_problem(admin.get(f"tickets/{missing}/"), 404, "not_found")
    assert_problem(admin.act(str(missing), "start"), 404, "not_found")
    assert_problem(admin.get(f"queues/{missing}/"), 404, "not_found")


def test_a_request_without_a_token_is_a_401_problem(http: httpx.Client, admin: Session) -> None:
    response = http.get(admin.path("sites/"))

    assert_problem(response, 401, "unauthorized")
    assert response.headers["www-authenticate"].lower().startswith("bearer")
    assert_problem(http.get(f"{API}/auth/me/"), 401, "unauthorized")
    assert_problem(http.post(admin.path("sites/"), json={"name": "X", "timezone": "UTC"}), 401)
    assert admin.list("sites/") == []


def test_a_made_up_token_is_a_401_problem(http: httpx.Client, admin: Session) -> None:
    for header in ("Bearer not-a-real-token", f"Bearer {admin.token}x", "Basic YWRtaW46YWRtaW4="):
        response = http.get(admin.path("sites/"), headers={"Authorization": header})
        assert_problem(response, 401, "unauthorized")


def test_wrong_credentials_are_a_401_problem(http: httpx.Client, admin: Session) -> None:
    wrong_password = http.post(
        f"{API}/auth/", json={"email": admin.tenant.admin_email, "password": "not-the-password"}
    )
    unknown_email = http.post(
        f"{API}/auth/", json={"email": "nobody@nowhere.test", "password": "whatever-123"}
    )

    assert_problem(wrong_password, 401, "authentication_failed")
    assert_problem(unknown_email, 401, "authentication_failed")
    assert "token" not in wrong_password.json()


def test_an_agent_cannot_open_a_queue(admin: Session) -> None:
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    body = {"name": "Rogue", "site_id": floor.site["id"], "service_ids": [floor.service["id"]]}

    assert_problem(agent.post("queues/", body), 403, "forbidden")
    assert_problem(agent.post("sites/", {"name": "Rogue", "timezone": "UTC"}), 403, "forbidden")
    assert [queue["id"] for queue in admin.list("queues/")] == [floor.queue["id"]]


def test_a_duplicate_service_code_is_a_409_problem(admin: Session) -> None:
    original = admin.add_service("DEP", "Deposits")

    response = admin.post(
        "queues/services/", {"name": "Departures", "code": "DEP", "target_wait_minutes": 5}
    )

    assert_problem(response, 409, "duplicate")
    assert admin.list("queues/services/") == [original]


def test_an_unknown_algorithm_is_a_400_problem_naming_it(admin: Session) -> None:
    floor = open_floor(admin)
    body = {
        "name": "Stack",
        "site_id": floor.site["id"],
        "service_ids": [floor.service["id"]],
        "algorithm": "lifo",
    }

    problem = assert_problem(admin.post("queues/", body), 400, "validation_failed")

    assert "lifo" in problem["detail"]
    assert "algorithm" in problem["detail"]
    assert [queue["id"] for queue in admin.list("queues/")] == [floor.queue["id"]]


def test_an_unknown_time_zone_is_a_422_problem(admin: Session) -> None:
    for timezone in ("Mars/Olympus_Mons", "../../etc/passwd"):
        response = admin.post("sites/", {"name": "Far away", "timezone": timezone})
        assert_problem(response, 422, "invalid_input")
    assert admin.list("sites/") == []


def test_error_titles_are_french_when_the_client_asks_for_french(admin: Session) -> None:
    floor = open_floor(admin)
    ticket = admin.issue(floor.queue["id"])
    french = {"Accept-Language": "fr-CA,fr;q=0.9,en;q=0.5"}

    cases = [
        (admin.get(f"tickets/{uuid.uuid4()}/", headers=french), 404, "Introuvable"),
        (
            admin.post(f"tickets/{ticket['id']}/close/", headers=french),
            409,
            "Action impossible dans l'état actuel du ticket",
        ),
        (
            admin.post("sites/", {"name": "X", "timezone": "Nowhere/Land"}, headers=french),
            422,
            "Données invalides",
        ),
        (
            admin.client.get(admin.path("sites/"), headers=french),
            401,
            "Authentification requise",
        ),
    ]
    for response, status, title in cases:
        body = assert_problem(response, status)
        assert body["title"] == title
        assert response.headers["content-language"] == "fr"

    english = assert_problem(admin.get(f"tickets/{uuid.uuid4()}/"), 404)
    assert english["title"] == "Not found"


def test_a_refused_user_creation_leaves_no_user_behind(http: httpx.Client, admin: Session) -> None:
    floor = open_floor(admin)
    users_before = admin.list("users/")
    refused = [
        ({"role": "boss"}, 400),
        ({"queue_ids": [floor.queue["id"], floor.queue["id"]]}, 422),
        ({"queue_ids": [str(uuid.uuid4())]}, 404),
    ]

    for fields, status in refused:
        email = f"refused-{uuid.uuid4().hex[:8]}@{admin.tenant.slug}.test"
        body = {"email": email, "password": PASSWORD, "name": "Refused", **fields}
        assert_problem(admin.post("users/", body), status)
        signing_in = http.post(f"{API}/auth/", json={"email": email, "password": PASSWORD})
        assert_problem(signing_in, 401, "authentication_failed")
    assert admin.list("users/") == users_before


def test_a_nul_character_is_a_clear_4xx_and_never_a_500(http: httpx.Client, admin: Session) -> None:
    sign_in = http.post(f"{API}/auth/", json={"email": "a\u0000@b.test", "password": "x" * 8})
    site = admin.post("sites/", {"name": "Lobby\u0000", "timezone": "UTC"})
    search = admin.get("customers/?name=%00")

    assert_problem(sign_in, 400, "validation_failed")
    assert "NUL" in assert_problem(site, 400, "validation_failed")["detail"]
    assert_problem(search, 400)
    assert admin.list("sites/") == []
