"""Customers over HTTP: create, find, page, partial update, refusals, isolation and scopes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from urllib.parse import urlencode

import httpx
import pytest

from tests.e2e.support import Session, Tenant, assert_problem, login, open_floor

pytestmark = pytest.mark.e2e


def _create(admin: Session, **fields) -> dict:
    return admin.ok("POST", "customers/", fields, status=201)


def _search(session: Session, **params) -> dict:
    return session.ok("GET", f"customers/?{urlencode(params)}")


def test_a_customer_is_created_then_found_by_phone_in_another_format_and_by_name(
    admin: Session,
) -> None:
    created = _create(
        admin,
        name="Jeanne Dupont",
        phone="+33 6 12 34 56 78",
        email="Jeanne.Dupont@Example.org",
        metadata={"card": "C-1", "vip": True},
        preferences={"channels": ["sms"], "language": "fr"},
    )
    other = _create(admin, name="Paul Martin", phone="514-555-0123", phone_region="CA")

    assert uuid.UUID(created["id"])
    assert created["phone"] == "+33612345678"
    assert created["email"] == "Jeanne.Dupont@example.org"
    assert created["metadata"] == {"card": "C-1", "vip": True}
    assert created["preferences"] == {"channels": ["sms"], "language": "fr", "quiet_hours": None}
    assert other["phone"] == "+15145550123"
    assert admin.ok("GET", f"customers/{created['id']}/") == created
    national = _search(admin, phone="06.12.34.56.78", phone_region="FR")
    assert [c["id"] for c in national["items"]] == [created["id"]]
    assert [c["id"] for c in _search(admin, phone="+33612345678")["items"]] == [created["id"]]
    assert [c["id"] for c in _search(admin, phone="+1 (514) 555 0123")["items"]] == [other["id"]]
    assert [c["id"] for c in _search(admin, name="dUPONT")["items"]] == [created["id"]]
    assert _search(admin, name="nobody")["items"] == []
    body = assert_problem(admin.get(f"customers/?{urlencode({'phone': '0612345678'})}"), 422)
    assert "phone_region" in body["detail"]


def test_customers_are_listed_page_by_page_until_the_cursor_is_null(admin: Session) -> None:
    made = [_create(admin, name=f"Customer {n}")["id"] for n in range(5)]

    seen, cursor, sizes = [], None, []
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = _search(admin, **params)
        assert page["results_per_page"] == 2
        seen.extend(c["id"] for c in page["items"])
        sizes.append(len(page["items"]))
        cursor = page["cursor"]
        if cursor is None:
            break

    assert sizes == [2, 2, 1]
    assert sorted(seen) == sorted(made)
    assert_problem(admin.get("customers/?limit=0"), 400)
    assert_problem(admin.get("customers/?cursor=bm90LWEtY3Vyc29y"), 422)


def test_patch_changes_only_the_fields_sent(admin: Session) -> None:
    created = _create(
        admin,
        name="Jeanne Dupont",
        phone="06 12 34 56 78",
        phone_region="FR",
        email="jeanne@example.org",
        preferences={
            "channels": ["sms", "email"],
            "quiet_hours": {"start": "21:00", "end": "08:00"},
        },
    )
    path = f"customers/{created['id']}/"

    renamed = admin.ok("PATCH", path, {"name": "Jeanne Martin"})
    assert renamed == {**created, "name": "Jeanne Martin"}
    french = admin.ok("PATCH", path, {"preferences": {"language": "fr"}})
    assert french["preferences"] == {**created["preferences"], "language": "fr"}
    cleared = admin.ok(
        "PATCH", path, {"email": None, "preferences": {"quiet_hours": None}, "metadata": {"a": 1}}
    )
    assert cleared["email"] is None
    assert cleared["preferences"]["quiet_hours"] is None
    assert cleared["preferences"]["channels"] == ["sms", "email"]
    assert (cleared["name"], cleared["phone"], cleared["metadata"]) == (
        "Jeanne Martin",
        "+33612345678",
        {"a": 1},
    )
    assert admin.ok("GET", path) == cleared


def test_staff_set_and_clear_a_customers_push_token(admin: Session) -> None:
    created = _create(
        admin, name="Ada", preferences={"channels": ["push"]}, push_token="fcm:device_1"
    )
    path = f"customers/{created['id']}/"
    assert created["push_token"] == "fcm:device_1"

    moved = admin.ok("PATCH", path, {"push_token": "fcm:device_2"})
    assert moved == {**created, "push_token": "fcm:device_2"}
    assert_problem(admin.request("PATCH", path, json={"push_token": "two words"}), 422)
    cleared = admin.ok("PATCH", path, {"push_token": None})
    assert cleared == {**created, "push_token": None}
    assert admin.ok("GET", path) == cleared


def test_patch_refusals_are_problems_and_change_nothing(admin: Session) -> None:
    created = _create(admin, name="Jeanne Dupont", phone="+33612345678")
    path = f"customers/{created['id']}/"

    unknown = assert_problem(admin.request("PATCH", path, json={"nmae": "X"}), 400)
    assert unknown["code"] == "validation_failed"
    assert "nmae" in unknown["detail"]
    for owned in ("tenant_id", "id", "status"):
        body = assert_problem(
            admin.request("PATCH", path, json={owned: str(uuid.uuid4())}), 422, "server_owned_field"
        )
        assert owned in body["detail"]
    invalid = [
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"metadata": {f"k{n}": n for n in range(33)}}, "at most 32"),
        ({"preferences": {"channels": ["fax"]}}, "fax"),
        ({"preferences": {"quiet_hours": {"start": "08:00", "end": "08:00"}}}, "differ"),
    ]
    for body, reason in invalid:
        problem = assert_problem(admin.request("PATCH", path, json=body), 422, "invalid_input")
        assert reason in problem["detail"], (body, problem)
    nested = admin.request("PATCH", path, json={"metadata": {"a": {"b": 1}}})
    assert_problem(nested, 400, "validation_failed")
    assert admin.ok("GET", path) == created


def test_another_tenants_customer_is_404_by_every_route(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    theirs = _create(admin, name="Jeanne Dupont", phone="+33612345678")
    tenant_b = new_tenant()
    intruder = login(http, tenant_b, tenant_b.admin_email)
    floor_b = open_floor(intruder)
    path = f"customers/{theirs['id']}/"

    assert_problem(intruder.get(path), 404)
    assert_problem(intruder.request("PATCH", path, json={"name": "Mine"}), 404)
    assert_problem(intruder.request("DELETE", path), 404)
    assert_problem(
        intruder.post("tickets/", {"queue_id": floor_b.queue["id"], "customer_id": theirs["id"]}),
        404,
    )
    assert _search(intruder, phone="+33612345678")["items"] == []
    # Tenant A's path with tenant B's token: 404 before anything is read.
    assert_problem(http.get(admin.path(path), headers=intruder.headers), 404)
    assert admin.ok("GET", path) == theirs


def test_an_agent_reads_and_writes_customers_but_cannot_erase_them(admin: Session) -> None:
    agent = admin.add_agent()
    created = agent.ok("POST", "customers/", {"name": "Walk-in"}, status=201)
    path = f"customers/{created['id']}/"

    assert agent.ok("PATCH", path, {"email": "walk-in@example.org"})["email"] == (
        "walk-in@example.org"
    )
    body = assert_problem(agent.request("DELETE", path), 403, "forbidden")
    assert "customers:erase" in body["detail"]
    assert agent.ok("GET", path)["name"] == "Walk-in"


def test_a_ticket_may_name_a_live_customer_but_not_an_unknown_one(admin: Session) -> None:
    floor = open_floor(admin)
    customer = _create(admin, name="Jeanne Dupont")

    ticket = admin.issue(floor.queue["id"], customer_id=customer["id"])
    assert ticket["customer_id"] == customer["id"]
    unknown = str(uuid.uuid4())
    body = assert_problem(
        admin.post("tickets/", {"queue_id": floor.queue["id"], "customer_id": unknown}), 404
    )
    assert unknown in body["detail"]
    assert admin.ok("GET", f"queues/{floor.queue['id']}/")["waiting"] == 1
