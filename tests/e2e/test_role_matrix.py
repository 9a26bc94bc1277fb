"""Each role against each operation of the OpenAPI document gets exactly what its scopes allow.

The operations and the scope each one requires are read from the served document
(``x-required-scope``), so a new endpoint joins the matrix by existing. A role lacking the scope
gets a 403 problem and changes nothing; a role holding it is never refused for lack of rights.
"""

from __future__ import annotations

import httpx
import pytest

from domain.access import ROLE_SCOPES
from tests.e2e.support import API, Session, assert_problem
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


def _allowed(role: str, scope: str) -> bool:
    return scope in {str(s) for s in ROLE_SCOPES[role]}


def test_every_role_gets_exactly_what_its_scopes_allow_on_every_operation(
    http: httpx.Client, admin: Session
) -> None:
    world = _build_tenant_a(admin)
    document = http.get("/schema/openapi.json").json()
    components = document["components"]["schemas"]
    operations = _tenant_operations(document)
    sessions = {
        "agent": admin.add_agent(),
        "manager": admin.add_agent(role="manager"),
        "admin": admin,
    }
    outcomes: dict[tuple[str, str], bool] = {}

    for role in ROLES:
        for method, template, operation in operations:
            scope = operation.get("x-required-scope")
            assert scope, f"{operation['operationId']} declares no scope"
            path = template.replace("{slug}", admin.tenant.slug)
            for name in PATH_PARAMETER.findall(template):
                path = path.replace(f"{{{name}}}", world.ids.get(name, ""))
            body = _example_body(operation, components, world.ids)
            before = _snapshot(world) if not _allowed(role, scope) else None

            response = http.request(method.upper(), path, json=body, headers=sessions[role].headers)

            allowed = _allowed(role, scope)
            outcomes[(role, operation["operationId"])] = response.status_code != 403
            if allowed:
                assert response.status_code not in (401, 403), (role, method, path, response.text)
                assert response.status_code < 500, (role, method, path, response.text)
            else:
                body_ = assert_problem(response, 403, "forbidden")
                assert scope in body_["detail"]
                assert _snapshot(world) == before, (role, method, path)

    for (role, operation_id), expected in SPOT_CHECKS.items():
        assert outcomes[(role, operation_id)] is expected, (role, operation_id)


def test_platform_operations_are_refused_to_every_tenant_role(
    http: httpx.Client, admin: Session
) -> None:
    sessions = [admin.add_agent(), admin.add_agent(role="manager"), admin]
    for session in sessions:
        assert_problem(http.get(f"{API}/tenants/", headers=session.headers), 403, "forbidden")
