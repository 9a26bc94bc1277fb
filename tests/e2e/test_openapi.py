"""The served OpenAPI document and docs page describe the API as it answers."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.support import API, PROBLEM_JSON

pytestmark = pytest.mark.e2e

T = f"{API}/tenants/{{slug}}"
PUBLIC = f"{API}/public/"
EXPECTED_ROUTES = {
    ("post", f"{API}/auth"),
    ("get", f"{API}/auth/me"),
    ("post", f"{API}/auth/logout"),
    ("get", f"{API}/health"),
    ("get", f"{T}/sites"),
    ("post", f"{T}/sites"),
    ("get", f"{T}/sites/{{site_id}}"),
    ("post", f"{T}/queues/services"),
    ("get", f"{T}/queues"),
    ("post", f"{T}/queues"),
    ("get", f"{T}/queues/{{queue_id}}"),
    ("post", f"{T}/users"),
    ("post", f"{T}/tickets"),
    ("get", f"{T}/tickets"),
    ("get", f"{T}/tickets/{{ticket_id}}"),
    *(
        ("post", f"{T}/tickets/{{ticket_id}}/{action}")
        for action in (
            "start",
            "close",
            "pause",
            "resume",
            "recall",
            "mark_no_show",
            "cancel",
            "transfer",
        )
    ),
    ("post", f"{T}/agents/call-next"),
    ("post", f"{T}/agents/set-status"),
    ("get", f"{T}/agents/me"),
    ("get", f"{T}/agents/{{agent_id}}"),
    ("put", f"{T}/agents/{{agent_id}}/queues"),
    ("get", f"{T}/customers"),
    ("post", f"{T}/customers"),
    ("get", f"{T}/customers/{{customer_id}}"),
    ("patch", f"{T}/customers/{{customer_id}}"),
    ("delete", f"{T}/customers/{{customer_id}}"),
    ("patch", f"{T}/sites/{{site_id}}"),
    ("get", f"{T}/queues/services"),
    ("patch", f"{T}/queues/services/{{service_id}}"),
    ("patch", f"{T}/queues/{{queue_id}}"),
    *(("post", f"{T}/queues/{{queue_id}}/{action}") for action in ("pause", "resume", "close")),
    ("get", f"{T}/users"),
    ("patch", f"{T}/users/{{user_id}}"),
    ("post", f"{T}/users/{{user_id}}/deactivate"),
    ("post", f"{T}/users/{{user_id}}/reactivate"),
    ("get", f"{T}/agents"),
    ("put", f"{T}/agents/{{agent_id}}/counter"),
    ("get", f"{T}/public-join-settings"),
    ("put", f"{T}/public-join-settings"),
    ("post", f"{PUBLIC}{{slug}}/sites/{{site_id}}/join/code"),
}
COMMAND_METHODS = ("post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document(api_url: str) -> dict:
    response = httpx.get(f"{api_url}/schema/openapi.json", timeout=30.0)
    assert response.status_code == 200
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in ("application/json", "application/vnd.oai.openapi+json")
    return response.json()


def _operations(document: dict, methods: tuple[str, ...]) -> list[tuple[str, str, dict]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in methods
    ]


def test_the_document_is_openapi_3_1_and_lists_every_route(document: dict) -> None:
    assert document["openapi"].startswith("3.1.")
    assert document["info"]["title"]
    served = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", *COMMAND_METHODS)
    }
    assert served >= EXPECTED_ROUTES, sorted(EXPECTED_ROUTES - served)
    operation_ids = [
        op["operationId"] for _, _, op in _operations(document, ("get", *COMMAND_METHODS))
    ]
    assert len(operation_ids) == len(set(operation_ids))


def test_the_bearer_scheme_is_declared(document: dict) -> None:
    schemes = document["components"]["securitySchemes"]
    assert any(s["type"] == "http" and s["scheme"] == "bearer" for s in schemes.values())


def test_every_command_declares_its_errors_as_problem_json(document: dict) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert {"status", "title"} <= set(problem["required"])
    commands = _operations(document, COMMAND_METHODS)
    assert len(commands) >= 15
    wrong: dict[str, object] = {}
    for method, path, operation in commands:
        where = f"{method.upper()} {path}"
        errors = {
            status: response
            for status, response in operation["responses"].items()
            if status[0] in "45"
        }
        # Every command may meet a bad token; a tenant's command also a missing scope and,
        # for another tenant's slug, a 404.
        # The customer's side takes no token at all; a provider's callback carries no token
        # but the provider's signature (403 when bad).
        if path.startswith(PUBLIC):
            needed = {"404", "429"}
        elif path.startswith(T):
            needed = {"401", "403", "404"}
        elif path.startswith("/api/v1/callbacks/"):
            needed = {"403"}
        else:
            needed = {"401"}
        if not needed <= set(errors):
            wrong[f"{where} undeclared"] = sorted(needed - set(errors))
        for status, response in errors.items():
            if list(response.get("content", {})) != [PROBLEM_JSON]:
                wrong[f"{where} {status}"] = list(response.get("content", {}))
    assert not wrong, wrong


def test_creations_are_documented_as_201(document: dict) -> None:
    for path in ("sites", "queues/services", "queues", "users", "tickets", "customers"):
        responses = document["paths"][f"{T}/{path}"]["post"]["responses"]
        assert "201" in responses, path


def test_every_list_documents_its_page_shape_and_parameters(document: dict) -> None:
    for path in ("sites", "queues/services", "queues", "users", "agents"):
        operation = document["paths"][f"{T}/{path}"]["get"]
        parameters = {p["name"]: p for p in operation["parameters"] if p["in"] == "query"}
        schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]

        assert parameters["limit"]["schema"]["maximum"] == 200, path
        assert parameters["limit"]["schema"]["minimum"] == 1, path
        assert "cursor" in parameters, path
        assert {"items", "results_per_page", "cursor"} <= set(schema["properties"]), path
        # The last page's cursor is null, and the document says so.
        assert {"type": "null"} in schema["properties"]["cursor"]["oneOf"], path


def test_call_next_is_documented_with_the_200_and_204_it_answers(document: dict) -> None:
    responses = document["paths"][f"{T}/agents/call-next"]["post"]["responses"]

    assert {"200", "204"} <= set(responses)
    assert "201" not in responses


def test_the_interactive_docs_page_is_served_as_html(api_url: str) -> None:
    response = httpx.get(f"{api_url}/schema", timeout=30.0)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower()
    assert "openapi.json" in response.text


def test_the_join_code_endpoint_documents_its_body_and_202_answer(document: dict) -> None:
    path = f"{PUBLIC}{{slug}}/sites/{{site_id}}/join/code"
    operation = document["paths"][path]["post"]
    assert operation["operationId"] == "sendPublicJoinCode"
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/PublicJoinCodeRequest")
    answer = operation["responses"]["202"]["content"]["application/json"]["schema"]
    assert answer["$ref"].endswith("/PublicJoinCodeSent")
    schemas = document["components"]["schemas"]
    assert schemas["PublicJoinCodeRequest"]["required"] == ["phone"]
    assert set(schemas["PublicJoinCodeSent"]["required"]) == {"expires_in_seconds", "attempts"}
    join = document["paths"][f"{PUBLIC}{{slug}}/sites/{{site_id}}/join"]["post"]
    assert (
        "code"
        in schemas[
            join["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        ]["properties"]
    )
    assert {"403", "422", "429"} <= set(join["responses"])
