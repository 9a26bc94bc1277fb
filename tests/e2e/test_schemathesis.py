"""Property-based checks of the whole OpenAPI document against the running API (Schemathesis).

Every operation is called with generated inputs, signed in as a tenant's admin and aimed at that
tenant's slug: no response may be a 5xx, every response must match the documented status codes,
content types and schemas, and every error must be an RFC 9457 problem.
``SCHEMATHESIS_EXAMPLES`` sets the examples per operation (CI keeps it small).
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.serialization import encode_json
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from interfaces.http.app import create_app
from tests.e2e.support import PROBLEM_JSON, Session, create_tenant, login

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def signed_in(
    api_url: str, database_url: str, redis_url: str, e2e_home: Path, projections: object
) -> Session:
    """The admin of a tenant made for this module, with the read models running as in
    production: without them a read asking for ``min_position`` waits and answers 503."""
    import httpx

    tenant = create_tenant(database_url, e2e_home, redis_url)
    return login(httpx.Client(base_url=api_url, timeout=30), tenant, tenant.admin_email)


# The document the API process serves, built from the same code (creating the app opens no
# connection). Loaded at collection time: Schemathesis's lazy fixture loader fails on pytest 9.
schema = schemathesis.openapi.from_dict(
    msgspec.json.decode(encode_json(create_app().openapi_schema.to_schema()))
)


@schemathesis.check
def errors_are_problem_details(ctx, response, case) -> None:
    """Every 4xx and 5xx answer is application/problem+json with a matching status."""
    if response.status_code >= 400:
        media_type = response.headers.get("content-type", [""])[0].split(";")[0].strip()
        assert media_type == PROBLEM_JSON, f"{response.status_code} answered as {media_type!r}"
        assert response.json()["status"] == response.status_code


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_honours_its_openapi_document(case, signed_in: Session, api_url: str) -> None:
    if "slug" in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, "slug": signed_in.tenant.slug}
    token = signed_in.token
    if case.path.rstrip("/").endswith("/auth/logout"):
        # Logging out revokes the session: with the shared token every later case would only
        # exercise the 401 path. Each logout ends a sign-in of its own.
        token = login(signed_in.client, signed_in.tenant, signed_in.tenant.admin_email).token
    # A negative case may leave the Authorization header out on purpose: adding the token
    # would turn it into a valid request that the check then expects to be refused.
    dropped = (
        case.meta is not None
        and case.meta.is_negative_at(ParameterLocation.HEADER)
        and "authorization" not in {name.lower() for name in (case.headers or {})}
    )
    case.call_and_validate(
        base_url=api_url,
        headers={} if dropped else {"Authorization": f"Bearer {token}"},
        additional_checks=[errors_are_problem_details],
        # Litestar answers OPTIONS itself (204 with an Allow header, for CORS preflights); its
        # Allow header can omit a method of a sibling handler on the same path. Methods a route
        # does not serve are 405 problems naming the allowed ones (tests/e2e/test_errors.py).
        # Bodies that match the JSON Schema can still break a rule no schema states (an unknown
        # IANA time zone, an invalid phone number, overlapping opening hours): those are 422
        # problems by design, so "schema-valid means accepted" is not a property of this API.
        excluded_checks=[unsupported_method, allow_header_conformance, positive_data_acceptance],
    )
