"""Nobody grants what they do not hold: a user with ``users:manage`` (or ``devices:manage``) but
fewer rights than an admin cannot create, promote or equip anyone above themselves."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.support import PASSWORD, Session, assert_problem, login, open_floor

pytestmark = pytest.mark.e2e


def _with_extra_scopes(admin: Session, role: str, scopes: list[str]) -> Session:
    """A new user of ``role`` given ``scopes`` on top, signed in (after the grant)."""
    user = admin.add_user(role)
    admin.ok("PATCH", f"users/{user['id']}/", {"scopes": scopes})
    return login(admin.client, admin.tenant, user["email"])


def _user_body(admin: Session, role: str) -> dict:
    return {
        "email": f"new-{role}-{uuid.uuid4().hex[:8]}@{admin.tenant.slug}.test",
        "password": PASSWORD,
        "name": f"New {role}",
        "role": role,
    }


def test_a_manager_with_users_manage_cannot_create_an_admin_and_nothing_is_written(
    admin: Session,
) -> None:
    manager = _with_extra_scopes(admin, "manager", ["users:manage"])
    staff_before = admin.list("users/")
    body = _user_body(admin, "admin")

    refused = assert_problem(manager.post("users/", body), 403, "not_permitted")

    assert "sites:manage" in refused["detail"]
    assert admin.list("users/") == staff_before
    # The email was never reserved: it is free for the next invitation.
    assert admin.post("users/", {**body, "role": "agent"}).status_code == 201
    signing_in = admin.client.post(
        "/api/v1/auth/", json={"email": body["email"], "password": PASSWORD}
    )
    assert signing_in.json()["user"]["role"] == "agent"


def test_a_manager_with_users_manage_cannot_promote_anyone_to_admin_nor_grant_a_scope_it_lacks(
    admin: Session,
) -> None:
    manager = _with_extra_scopes(admin, "manager", ["users:manage"])
    agent = admin.add_user("agent")

    promoted = manager.patch(f"users/{agent['id']}/", {"role": "admin"})
    granted = manager.patch(f"users/{agent['id']}/", {"scopes": ["sites:manage"]})
    grant_itself = manager.patch(f"users/{manager.user['id']}/", {"scopes": ["sites:manage"]})

    for response in (promoted, granted, grant_itself):
        assert "sites:manage" in assert_problem(response, 403, "not_permitted")["detail"]
    assert admin.ok("GET", f"users/{agent['id']}/") == agent


def test_a_manager_with_users_manage_may_create_users_within_its_own_rights(
    admin: Session,
) -> None:
    manager = _with_extra_scopes(admin, "manager", ["users:manage"])

    for role in ("agent", "manager"):
        created = manager.post("users/", _user_body(admin, role))
        assert created.status_code == 201, created.text
        assert created.json()["role"] == role


def test_an_admin_still_creates_admins_and_grants_any_tenant_scope(admin: Session) -> None:
    created = admin.post("users/", _user_body(admin, "admin"))
    assert created.status_code == 201, created.text
    assert created.json()["role"] == "admin"
    agent = admin.add_user("agent")

    granted = admin.ok("PATCH", f"users/{agent['id']}/", {"scopes": ["sites:manage"]})

    assert granted["scopes"] == ["sites:manage"]


def test_an_agent_with_devices_manage_cannot_register_a_device_with_rights_it_lacks(
    admin: Session,
) -> None:
    floor = open_floor(admin)
    agent = _with_extra_scopes(admin, "agent", ["devices:manage"])
    body = {"site_id": floor.site["id"], "kind": "display", "name": "Hall display"}

    refused = assert_problem(agent.post("devices/", body), 403, "not_permitted")

    assert "stats:read" in refused["detail"]
    assert admin.list("devices/") == []
    kiosk = agent.post("devices/", {**body, "kind": "kiosk", "name": "Kiosk"})
    assert kiosk.status_code == 201, kiosk.text
    display = admin.ok("POST", "devices/", body, status=201)
    rotated = agent.post(f"devices/{display['device']['id']}/rotate-secret/")
    assert "stats:read" in assert_problem(rotated, 403, "not_permitted")["detail"]
