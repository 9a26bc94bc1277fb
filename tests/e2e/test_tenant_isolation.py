"""Tenant isolation over HTTP: another tenant's token sees nothing, by any path."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.feedback import feedback_id
from tests.e2e.support import (
    API,
    PASSWORD,
    Session,
    Tenant,
    assert_problem,
    login,
    open_floor,
)

# GET tickets/{id}/ is served by the tickets read model.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("projections")]

TENANT_PREFIX = f"{API}/tenants/{{slug}}"
METHODS = ("get", "post", "put", "patch", "delete")
PATH_PARAMETER = re.compile(r"\{(\w+)\}")
# A slot start for bodies that book or move an appointment (a slot of an always-open site).
START = (
    (datetime.now(UTC) + timedelta(days=3)).replace(minute=0, second=0, microsecond=0).isoformat()
)


@dataclass(frozen=True)
class World:
    """Tenant A's resources, as ids, and the state its admin sees."""

    admin: Session
    ids: dict[str, str]


def _build_tenant_a(admin: Session) -> World:
    floor = open_floor(admin)
    agent = admin.add_agent([floor.queue["id"]])
    customer = admin.ok("POST", "customers/", {"name": "Jeanne A", "phone": "+33612345678"}, 201)
    ticket = admin.issue(floor.queue["id"], customer_id=customer["id"])
    device = {"site_id": floor.site["id"], "kind": "display", "name": "Hall display"}
    device_id = admin.ok("POST", "devices/", device, 201)["device"]["id"]
    template = {"kind": "called", "channel": "sms", "language": "fr", "text": "{number}"}
    template_id = admin.ok("POST", "notification-templates/", template, 201)["id"]
    hook = {"url": "https://example.org/hook", "event_types": ["Ticket.Called"]}
    webhook_id = admin.ok("POST", "webhooks/", hook, 201)["id"]
    booking = {"site_id": floor.site["id"], "service_id": floor.service["id"], "start": START}
    appointment_id = admin.ok("POST", "appointments/", booking, 201)["id"]
    ids = {
        "tenant_id": admin.tenant.id,
        "site_id": floor.site["id"],
        "service_id": floor.service["id"],
        "queue_id": floor.queue["id"],
        "user_id": agent.user["id"],
        "agent_id": agent.me()["id"],
        "ticket_id": ticket["id"],
        "customer_id": customer["id"],
        "admin_user_id": admin.user["id"],
        "device_id": device_id,
        "template_id": template_id,
        "webhook_id": webhook_id,
        "appointment_id": appointment_id,
        "delivery_id": str(uuid.uuid5(uuid.NAMESPACE_URL, webhook_id)),  # none yet: 404
        # The one feedback id A's ticket can have (none given yet: 404 to both tenants).
        "feedback_id": str(feedback_id(uuid.UUID(ticket["id"]))),
    }
    return World(admin, ids)


def _snapshot(world: World) -> dict[str, Any]:
    """Everything tenant A's admin can see; isolation means it never changes from outside."""
    admin, ids = world.admin, world.ids
    return {
        "sites": admin.list("sites/"),
        "services": admin.list("queues/services/"),
        "queues": admin.list("queues/"),
        "users": admin.list("users/"),
        "agent": admin.ok("GET", f"agents/{ids['agent_id']}/"),
        "ticket": admin.ticket(ids["ticket_id"]),
        "customers": admin.ok("GET", "customers/"),
        # Presence is read off the clock (pinged within the window), not written by a request.
        "devices": [{k: v for k, v in d.items() if k != "online"} for d in admin.list("devices/")],
        "templates": admin.list("notification-templates/"),
        "notification_settings": admin.ok("GET", "notification-settings/"),
        "webhooks": admin.list("webhooks/"),
        "appointment": admin.ok("GET", f"appointments/{ids['appointment_id']}/"),
    }


def _assert_leaks_nothing(response: httpx.Response, ids: dict[str, str], sent: str) -> None:
    """No id of A's appears in the body, except one the client sent itself."""
    body = response.json()
    body.pop("instance", None)  # the request's own path, echoed
    text = json.dumps(body)
    leaked = {name for name, value in ids.items() if value in text and value not in sent}
    assert not leaked, (leaked, response.text)


def _resolve(schema: dict, components: dict) -> dict:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    for choice in schema.get("oneOf", []):
        if choice.get("type") != "null":
            return _resolve(choice, components)
    return schema


def _value(name: str, schema: dict, ids: dict[str, str]) -> Any:
    """A valid value for field ``name``, using tenant A's ids wherever an id is asked for."""
    if schema.get("type") == "array":
        return [_value(name.removesuffix("s"), schema["items"], ids)]
    if schema.get("format") == "uuid":
        return ids.get(name, ids["queue_id"])
    if "default" in schema:
        return schema["default"]
    if schema.get("type") == "integer":
        return schema.get("minimum", 1)
    fixed = {
        "email": f"intruder-{uuid.uuid4().hex[:8]}@example.test",
        "password": PASSWORD,
        "status": "available",
        "code": "Z",
        "start": START,
    }
    return fixed.get(name, "Intruder")


def _example_body(operation: dict, components: dict, ids: dict[str, str]) -> Any:
    """A body valid in form for the operation, filled with A's ids."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return None
    schema = _resolve(content["application/json"]["schema"], components)
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    return {
        name: _value(name, _resolve(field, components), ids)
        for name, field in properties.items()
        if name in required or name.endswith(("_id", "_ids"))
    }


def _tenant_operations(document: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        if path.startswith(TENANT_PREFIX)
        for method, operation in item.items()
        if method in METHODS
    ]


def test_another_tenants_token_gets_404_on_every_tenant_route_and_learns_nothing(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    world = _build_tenant_a(admin)
    before = _snapshot(world)
    tenant_b = new_tenant()
    intruder = login(http, tenant_b, tenant_b.admin_email)
    document = http.get("/schema/openapi.json").json()
    components = document["components"]["schemas"]
    operations = _tenant_operations(document)
    checked = set()

    for method, template, operation in operations:
        names = PATH_PARAMETER.findall(template)
        unknown = set(names) - {"slug", *world.ids}
        assert not unknown, f"no id of tenant A for {unknown} in {template}"
        path = template.replace("{slug}", admin.tenant.slug)
        for name in names:
            path = path.replace(f"{{{name}}}", world.ids.get(name, ""))
        body = _example_body(operation, components, world.ids)
        response = http.request(method.upper(), path, json=body, headers=intruder.headers)

        assert_problem(response, 404)
        assert response.json()["instance"].rstrip("/") == path
        _assert_leaks_nothing(response, world.ids, sent="")
        checked.add(operation["operationId"])

    assert {
        "listSites",
        "createSite",
        "getSite",
        "createService",
        "getService",
        "listQueues",
        "createQueue",
        "getQueue",
        "createUser",
        "getUser",
        "issueTicket",
        "listTickets",
        "getTicket",
        "startTicket",
        "closeTicket",
        "pauseTicket",
        "resumeTicket",
        "recallTicket",
        "markTicketNoShow",
        "cancelTicket",
        "transferTicket",
        "callNext",
        "setAgentStatus",
        "getMyAgent",
        "getAgent",
        "assignAgentQueues",
        "listCustomers",
        "createCustomer",
        "getCustomer",
        "updateCustomer",
        "eraseCustomer",
        "updateSite",
        "listServices",
        "updateService",
        "updateQueue",
        "registerDevice",
        "listDevices",
        "getDevice",
        "updateDevice",
        "revokeDevice",
        "rotateDeviceSecret",
        "pingDevice",
        "pauseQueue",
        "resumeQueue",
        "closeQueue",
        "listUsers",
        "updateUser",
        "deactivateUser",
        "reactivateUser",
        "listAgents",
        "assignAgentCounter",
    } <= checked
    assert _snapshot(world) == before


def test_a_tenants_own_routes_answer_404_for_another_tenants_ids(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    world = _build_tenant_a(admin)
    a = world.ids
    before = _snapshot(world)
    tenant_b = new_tenant()
    b = login(http, tenant_b, tenant_b.admin_email)
    b_floor = open_floor(b, code="B")
    b_ticket = b.issue(b_floor.queue["id"])
    b_agent_id = b.set_status("available", counter="B1")["id"]
    b_users_before = b.list("users/")

    requests: list[tuple[str, str, Any]] = [
        ("GET", f"sites/{a['site_id']}/", None),
        ("GET", f"queues/services/{a['service_id']}/", None),
        ("GET", f"queues/{a['queue_id']}/", None),
        ("GET", f"users/{a['user_id']}/", None),
        ("GET", f"agents/{a['agent_id']}/", None),
        ("GET", f"tickets/{a['ticket_id']}/", None),
        ("GET", f"customers/{a['customer_id']}/", None),
        ("PATCH", f"customers/{a['customer_id']}/", {"name": "Taken over"}),
        ("DELETE", f"customers/{a['customer_id']}/", None),
        ("POST", "tickets/", {"queue_id": a["queue_id"]}),
        ("POST", "tickets/", {"queue_id": b_floor.queue["id"], "customer_id": a["customer_id"]}),
        ("POST", f"tickets/{a['ticket_id']}/transfer/", {"queue_id": b_floor.queue["id"]}),
        ("POST", f"tickets/{b_ticket['id']}/transfer/", {"queue_id": a["queue_id"]}),
        ("POST", "agents/call-next/", {"queue_id": a["queue_id"]}),
        ("PUT", f"agents/{b_agent_id}/queues/", {"queue_ids": [a["queue_id"]]}),
        ("PUT", f"agents/{a['agent_id']}/queues/", {"queue_ids": [b_floor.queue["id"]]}),
        (
            "POST",
            "queues/",
            {"name": "X", "site_id": a["site_id"], "service_ids": [b_floor.service["id"]]},
        ),
        (
            "POST",
            "queues/",
            {"name": "X", "site_id": b_floor.site["id"], "service_ids": [a["service_id"]]},
        ),
        *[
            ("POST", f"tickets/{a['ticket_id']}/{action}/", None)
            for action in ("start", "close", "pause", "resume", "recall", "mark_no_show", "cancel")
        ],
        ("PATCH", f"sites/{a['site_id']}/", {"name": "Taken over"}),
        ("PATCH", f"queues/services/{a['service_id']}/", {"name": "Taken over"}),
        ("PATCH", f"queues/{a['queue_id']}/", {"name": "Taken over"}),
        ("PATCH", f"queues/{b_floor.queue['id']}/", {"service_ids": [a["service_id"]]}),
        *[("POST", f"queues/{a['queue_id']}/{action}/", None) for action in ("pause", "close")],
        ("PATCH", f"users/{a['user_id']}/", {"role": "admin"}),
        ("PATCH", f"users/{a['admin_user_id']}/", {"name": "Taken over"}),
        *[("POST", f"users/{a['user_id']}/{action}/", None) for action in ("deactivate",)],
        ("POST", f"users/{a['admin_user_id']}/reactivate/", None),
        ("PUT", f"agents/{a['agent_id']}/counter/", {"counter": "B9"}),
    ]
    for method, relative, body in requests:
        response = b.request(method, relative, json=body)
        assert_problem(response, 404)
        _assert_leaks_nothing(response, a, sent=relative + json.dumps(body))

    assert _snapshot(world) == before
    assert b.ticket(b_ticket["id"])["queue_id"] == b_floor.queue["id"]
    assert b.me()["current_ticket_id"] is None
    (listed,) = b.list("queues/")
    got = b.ok("GET", f"queues/{b_floor.queue['id']}/")
    assert listed == {key: value for key, value in got.items() if key in listed}
    assert b.ok("GET", f"queues/{b_floor.queue['id']}/")["service_ids"] == [b_floor.service["id"]]
    assert {agent["user_id"] for agent in b.list("agents/")} == {u["id"] for u in b_users_before}
    assert b.list("users/") == b_users_before


def test_creating_a_user_with_another_tenants_queue_is_refused_without_creating_the_user(
    http: httpx.Client, admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    world = _build_tenant_a(admin)
    tenant_b = new_tenant()
    b = login(http, tenant_b, tenant_b.admin_email)
    users_before = b.list("users/")
    email = f"agent-{uuid.uuid4().hex[:8]}@{tenant_b.slug}.test"
    body = {
        "email": email,
        "password": PASSWORD,
        "name": "Half made",
        "role": "agent",
        "queue_ids": [world.ids["queue_id"]],
    }

    response = b.post("users/", body)

    assert_problem(response, 404)
    assert b.list("users/") == users_before
    signing_in = http.post(f"{API}/auth/", json={"email": email, "password": PASSWORD})
    assert_problem(signing_in, 401)


def test_an_x_tenant_header_that_disagrees_with_the_path_is_a_400(
    admin: Session, new_tenant: Callable[[], Tenant]
) -> None:
    other = new_tenant()
    admin.add_site("Only site", "UTC")

    for header in (other.slug, "no-such-tenant", admin.tenant.slug.upper()):
        mismatch = admin.get("sites/", headers={"X-Tenant": header})
        body = assert_problem(mismatch, 400, "tenant_mismatch")
        assert header in body["detail"]
    refused_write = admin.post(
        "sites/", {"name": "Nope", "timezone": "UTC"}, headers={"X-Tenant": other.slug}
    )
    assert_problem(refused_write, 400, "tenant_mismatch")

    agreeing = admin.get("sites/", headers={"X-Tenant": admin.tenant.slug})
    assert agreeing.status_code == 200
    assert [site["name"] for site in agreeing.json()["items"]] == ["Only site"]


def test_the_legacy_token_scheme_is_accepted(http: httpx.Client, admin: Session) -> None:
    legacy = {"Authorization": f"Token {admin.token}"}

    me = http.get(f"{API}/auth/me/", headers=legacy)
    created = http.post(
        admin.path("sites/"), json={"name": "Legacy", "timezone": "UTC"}, headers=legacy
    )
    listed = http.get(admin.path("sites/"), headers={"Authorization": f"token {admin.token}"})

    assert me.status_code == 200
    assert me.json()["id"] == admin.user["id"]
    assert created.status_code == 201, created.text
    assert listed.status_code == 200
    assert [site["id"] for site in listed.json()["items"]] == [created.json()["id"]]
