"""Managing staff over HTTP: rename, change role or extra scopes, deactivate and reactivate."""

from __future__ import annotations

import uuid

import jwt
import pytest

from tests.e2e.support import API, PASSWORD, Session, assert_problem, login, open_floor

# The lists of queues and agents are served by the directory read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]


def test_a_user_patch_changes_name_role_and_extra_scopes(admin: Session) -> None:
    user = admin.add_user("agent")
    assert (user["scopes"], user["active"]) == ([], True)

    renamed = admin.ok("PATCH", f"users/{user['id']}/", {"name": "Alice Martin"})
    promoted = admin.ok(
        "PATCH", f"users/{user['id']}", {"role": "manager", "scopes": ["sites:manage"]}
    )

    assert renamed == {**user, "name": "Alice Martin"}
    assert promoted == {**renamed, "role": "manager", "scopes": ["sites:manage"]}
    assert admin.ok("PATCH", f"users/{user['id']}/", {}) == promoted
    assert admin.ok("GET", f"users/{user['id']}/") == promoted
    board = {entry["user_id"]: entry for entry in admin.list("agents/")}
    assert board[user["id"]]["name"] == "Alice Martin"


@pytest.mark.parametrize(
    ("body", "status", "code", "detail"),
    [
        ({"role": "boss"}, 400, "validation_failed", "Invalid enum value 'boss'"),
        (
            {"scopes": ["stats:read", "stats:fly"]},
            422,
            "invalid_input",
            "unknown scopes: stats:fly",
        ),
        (
            {"scopes": ["tenants:manage"]},
            422,
            "invalid_input",
            "scopes reserved to platform administrators: tenants:manage",
        ),
        ({"active": False}, 400, "validation_failed", "active"),
        ({"tenant_id": str(uuid.uuid4())}, 422, "server_owned_field", "'tenant_id'"),
        ({"name": "   "}, 422, "invalid_input", "user name must be 1 to 200 characters"),
    ],
)
def test_an_invalid_user_patch_is_a_problem_and_changes_nothing(
    admin: Session, body: dict, status: int, code: str, detail: str
) -> None:
    user = admin.add_user("agent")

    problem = assert_problem(admin.patch(f"users/{user['id']}/", body), status, code)

    assert detail in problem["detail"]
    assert admin.ok("GET", f"users/{user['id']}/") == user


def test_a_deactivated_users_token_stops_working_until_reactivated(admin: Session) -> None:
    agent = admin.add_agent()
    assert agent.get("agents/me/").status_code == 200

    deactivated = admin.ok("POST", f"users/{agent.user['id']}/deactivate/")

    assert deactivated == {**agent.user, "active": False}
    assert_problem(agent.get("agents/me/"), 401, "unauthorized")
    twice = assert_problem(admin.post(f"users/{agent.user['id']}/deactivate/"), 409)
    assert "already deactivated" in twice["detail"]

    signing_in = admin.client.post(
        f"{API}/auth/", json={"email": agent.user["email"], "password": PASSWORD}
    )
    assert_problem(signing_in, 401, "authentication_failed")
    refreshing = admin.client.post(
        f"{API}/auth/refresh/", json={"refresh_token": agent.refresh_token}
    )
    assert_problem(refreshing, 401)

    reactivated = admin.ok("POST", f"users/{agent.user['id']}/reactivate")
    assert reactivated["active"] is True
    again = login(admin.client, admin.tenant, agent.user["email"])
    assert again.me()["status"] == "offline"


def test_a_change_of_rights_revokes_the_users_tokens_and_the_next_sign_in_carries_them(
    admin: Session,
) -> None:
    floor = open_floor(admin)
    agent = admin.add_agent()
    queue = {"name": "Extra", "site_id": floor.site["id"], "service_ids": [floor.service["id"]]}
    assert_problem(agent.post("queues/", queue), 403, "forbidden")
    renamed_only = admin.ok("PATCH", f"users/{agent.user['id']}/", {"name": "Renamed"})
    assert renamed_only["name"] == "Renamed"
    assert agent.get("agents/me/").status_code == 200  # a rename keeps the tokens

    admin.ok("PATCH", f"users/{agent.user['id']}/", {"role": "manager", "scopes": ["sites:manage"]})

    assert_problem(agent.get("agents/me/"), 401, "unauthorized")
    promoted = login(admin.client, admin.tenant, agent.user["email"])
    scopes = set(jwt.decode(promoted.token, options={"verify_signature": False})["scope"].split())
    assert {"queues:manage", "sites:manage"} <= scopes
    assert "users:manage" not in scopes
    assert promoted.post("queues/", queue).status_code == 201
    assert promoted.post("sites/", {"name": "Annex", "timezone": "UTC"}).status_code == 201


def test_the_last_admin_cannot_deactivate_or_demote_themselves(admin: Session) -> None:
    me = admin.user["id"]

    for response in (
        admin.post(f"users/{me}/deactivate/"),
        admin.patch(f"users/{me}/", {"role": "manager"}),
    ):
        problem = assert_problem(response, 409, "last_admin")
        assert "last active admin" in problem["detail"]
    assert admin.ok("GET", f"users/{me}/")["role"] == "admin"

    second = admin.add_agent(role="admin")
    assert admin.ok("PATCH", f"users/{me}/", {"role": "manager"})["role"] == "manager"
    assert_problem(second.post(f"users/{second.user['id']}/deactivate/"), 409, "last_admin")


def test_an_agent_holding_a_ticket_cannot_be_deactivated(admin: Session) -> None:
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    agent.set_status("available", counter="1")
    admin.issue(floor.queue["id"])
    ticket = agent.ok("POST", "agents/call-next/")

    problem = assert_problem(admin.post(f"users/{agent.user['id']}/deactivate/"), 409)

    assert f"holds ticket {ticket['id']}; close or transfer it" in problem["detail"]
    assert agent.me()["current_ticket_id"] == ticket["id"]


def test_a_manager_can_read_users_but_not_change_them(admin: Session) -> None:
    manager = admin.add_agent(role="manager")
    agent = admin.add_user("agent")

    assert {user["id"] for user in manager.list("users/")} >= {agent["id"]}
    for response in (
        manager.patch(f"users/{agent['id']}/", {"name": "X"}),
        manager.post(f"users/{agent['id']}/deactivate/"),
        manager.post(f"users/{agent['id']}/reactivate/"),
    ):
        assert "users:manage" in assert_problem(response, 403, "forbidden")["detail"]
    assert admin.ok("GET", f"users/{agent['id']}/") == agent


def test_unknown_users_are_404_and_an_empty_invitation_is_a_clear_400(
    admin: Session,
) -> None:
    missing = uuid.uuid4()

    assert_problem(admin.patch(f"users/{missing}/", {"name": "X"}), 404, "not_found")
    assert_problem(admin.post(f"users/{missing}/deactivate/"), 404, "not_found")
    assert_problem(admin.post(f"users/{missing}/reactivate/"), 404, "not_found")
    empty = admin.client.post(admin.path("users/"), headers=admin.headers)
    problem = assert_problem(empty, 400, "validation_failed")
    assert problem["detail"] == "the request body is missing or is not a JSON object"
