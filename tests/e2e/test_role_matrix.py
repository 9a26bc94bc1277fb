"""Each role against each operation of the OpenAPI document gets exactly what its scopes allow.

The operations and the scope each one requires are read from the served document
(``x-required-scope``), so a new endpoint joins the matrix by existing. A role lacking the scope
gets a 403 problem and changes nothing; a role holding it is never refused for lack of rights.
"""

from __future__ import annotations

import httpx
import pytest

from domain.access import DEVICE_SCOPES, ROLE_SCOPES
from tests.e2e.support import API, ReadModels, Session, assert_problem
from tests.e2e.test_tenant_isolation import (
    PATH_PARAMETER,
    _build_tenant_a,
    _example_body,
    _snapshot,
    _tenant_operations,
)

pytestmark = pytest.mark.e2e

ROLES = ("agent", "manager", "admin")  # least to most: refusals are checked before any change

# An expectation written by hand, independent of the role table, for the operations that matter
# most: who may reconfigure the branch, manage staff, erase a customer, or only serve tickets.
SPOT_CHECKS = {
    ("agent", "createQueue"): False,
    ("agent", "createUser"): False,
    ("agent", "createSite"): False,
    ("agent", "createService"): False,
    ("agent", "callNext"): True,
    ("agent", "issueTicket"): True,
    ("manager", "createSite"): False,
    ("manager", "createUser"): False,
    ("manager", "createQueue"): True,
    ("admin", "createSite"): True,
    ("admin", "createUser"): True,
}
DEVICE_SPOT_CHECKS = {
    ("kiosk", "issueTicket"): True,
    ("kiosk", "cancelTicket"): False,
    ("kiosk", "getTicket"): False,
    ("kiosk", "pingDevice"): True,
    ("display", "listQueues"): True,
    ("display", "getTicket"): True,
    ("display", "issueTicket"): False,
    ("display", "callNext"): False,
    ("display", "registerDevice"): False,
}


def _allowed(role: str, scope: str) -> bool:
    return scope in {str(s) for s in ROLE_SCOPES.get(role, DEVICE_SCOPES.get(role, ()))}


def _run_matrix(
    http: httpx.Client, admin: Session, world, sessions: dict[str, Session]
) -> dict[tuple[str, str], bool]:
    """Every operation with every session (in the given order): what each was allowed."""
    document = http.get("/schema/openapi.json").json()
    components = document["components"]["schemas"]
    operations = _tenant_operations(document)
    outcomes: dict[tuple[str, str], bool] = {}

    for role, session in sessions.items():
        for method, template, operation in operations:
            scope = operation.get("x-required-scope")
            assert scope, f"{operation['operationId']} declares no scope"
            path = template.replace("{slug}", admin.tenant.slug)
            for name in PATH_PARAMETER.findall(template):
                path = path.replace(f"{{{name}}}", world.ids.get(name, ""))
            body = _example_body(operation, components, world.ids)
            before = _snapshot(world) if not _allowed(role, scope) else None

            response = http.request(method.upper(), path, json=body, headers=session.headers)

            allowed = _allowed(role, scope)
            outcomes[(role, operation["operationId"])] = response.status_code != 403
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
                assert response.status_code < 500, (role, method, path, response.text)
            else:
                body_ = assert_problem(response, 403, "forbidden")
                assert scope in body_["detail"]
                assert _snapshot(world) == before, (role, method, path)
    return outcomes


def test_every_role_gets_exactly_what_its_scopes_allow_on_every_operation(
    http: httpx.Client, admin: Session, projections: ReadModels
) -> None:
    world = _build_tenant_a(admin)
    sessions = {
        "agent": admin.add_agent(),
        "manager": admin.add_agent(role="manager"),
        "admin": admin,
    }
    assert tuple(sessions) == ROLES

    outcomes = _run_matrix(http, admin, world, sessions)

    for (role, operation_id), expected in SPOT_CHECKS.items():
        assert outcomes[(role, operation_id)] is expected, (role, operation_id)


def test_each_device_kind_gets_exactly_what_its_scopes_allow_on_every_operation(
    http: httpx.Client, admin: Session, projections: ReadModels
) -> None:
    world = _build_tenant_a(admin)
    sessions = {}
    for kind in DEVICE_SCOPES:
        body = {"site_id": world.ids["site_id"], "kind": kind, "name": kind}
        registered = admin.ok("POST", "devices/", body, 201)
        signed_in = http.post(
            f"{API}/auth/device/",
            json={"device_id": registered["device"]["id"], "secret": registered["secret"]},
        )
        assert signed_in.status_code == 200, signed_in.text
        sessions[kind] = Session(http, admin.tenant, signed_in.json()["access_token"], {})

    outcomes = _run_matrix(http, admin, world, sessions)

    for (kind, operation_id), expected in DEVICE_SPOT_CHECKS.items():
        assert outcomes[(kind, operation_id)] is expected, (kind, operation_id)


def test_platform_operations_are_refused_to_every_tenant_role(
    http: httpx.Client, admin: Session
) -> None:
    sessions = [admin.add_agent(), admin.add_agent(role="manager"), admin]
    for session in sessions:
        assert_problem(http.get(f"{API}/tenants/", headers=session.headers), 403, "forbidden")
