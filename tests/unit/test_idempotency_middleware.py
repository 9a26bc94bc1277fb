"""The Idempotency-Key middleware on a small Litestar app with an in-memory key store.

The real routes, authentication and PostgreSQL store are exercised end to end in
``tests/e2e/test_idempotency.py``; here each rule is pinned with a handler that counts its effects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

import pytest
from litestar import Litestar, Request, Response, post
from litestar.middleware import DefineMiddleware
from litestar.openapi.spec import Operation
from litestar.params import JSONBody
from litestar.testing import TestClient

from application.errors import Contention
from application.idempotency import StoredResponse
from domain.errors import Conflict
from infrastructure.settings import IdempotencySettings
from interfaces.http.errors import EXCEPTION_HANDLERS
from interfaces.http.idempotency import Caller, IdempotencyMiddleware, idempotent
from interfaces.http.idempotency_http import IDEMPOTENT
from tests.memory_idempotency_store import MemoryIdempotencyStore

USER = uuid4()
WAIT_SECONDS = 0.3


def tenant_of(slug: str) -> UUID:
    return uuid5(NAMESPACE_URL, slug)


def caller_from_header(request: Request) -> Caller | None:
    """Stands in for token authentication: ``X-User`` names the caller, no header fails."""
    user = request.headers.get("x-user")
    if user is None:
        return None
    return Caller(tenant_of(request.path_params["slug"]), UUID(user))


OPTIONS: dict[str, Any] = {
    "opt": {IDEMPOTENT: True},
    "middleware": [DefineMiddleware(IdempotencyMiddleware, authenticate=caller_from_header)],
}


class Effects:
    """What the handlers did, and what they should do next."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.fail_next = 0


def build_app(effects: Effects, store: MemoryIdempotencyStore) -> Litestar:
    @post("/t/{slug:str}/things", status_code=201, **OPTIONS)
    async def make_thing(data: JSONBody[dict[str, Any]]) -> dict[str, Any]:
        if effects.fail_next:
            effects.fail_next -= 1
            raise RuntimeError("boom")
        effects.done.append("thing")
        return {"effect": len(effects.done), **data}

    @post("/t/{slug:str}/refuse", **OPTIONS)
    async def refuse() -> None:
        effects.done.append("refuse")
        raise Conflict(f"refused #{len(effects.done)}")

    @post("/t/{slug:str}/busy", **OPTIONS)
    async def busy() -> None:
        effects.done.append("busy")
        raise Contention("too many at once")

    @post("/t/{slug:str}/nothing", **OPTIONS)
    async def nothing() -> Response[None]:
        effects.done.append("nothing")
        return Response(None, status_code=204)

    @post("/t/{slug:str}/plain", status_code=201)
    async def plain() -> dict[str, int]:
        effects.done.append("plain")
        return {"effect": len(effects.done)}

    def install(app: Litestar) -> None:
        app.state.container = SimpleNamespace(
            idempotency=store,
            settings=SimpleNamespace(idempotency=IdempotencySettings(wait_seconds=WAIT_SECONDS)),
        )

    return Litestar(
        route_handlers=[make_thing, refuse, busy, nothing, plain],
        exception_handlers=EXCEPTION_HANDLERS,
        on_startup=[install],
        logging_config=None,
    )


@pytest.fixture
def effects() -> Effects:
    return Effects()


@pytest.fixture
def store() -> MemoryIdempotencyStore:
    return MemoryIdempotencyStore(lambda: datetime.now(UTC))


@pytest.fixture
def client(effects: Effects, store: MemoryIdempotencyStore) -> Iterator[TestClient]:
    with TestClient(build_app(effects, store)) as test_client:
        yield test_client


def send(client: TestClient, path: str, key: str | None = "k-1", json: Any = None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=json, headers={"X-User": str(USER), **headers})


def test_a_repeated_request_is_answered_from_the_first_without_a_second_effect(
    client, effects
) -> None:
    first = send(client, "/t/acme/things", json={"a": 1, "b": [1, 2]})
    again = send(client, "/t/acme/things/", json={"b": [1, 2], "a": 1})

    assert effects.done == ["thing"]
    assert (
        (again.status_code, again.content)
        == (first.status_code, first.content)
        == (
            201,
            b'{"effect":1,"a":1,"b":[1,2]}',
        )
    )
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers


def test_without_a_key_every_request_has_its_effect(client, effects) -> None:
    send(client, "/t/acme/things", key=None, json={})
    send(client, "/t/acme/things", key=None, json={})

    assert effects.done == ["thing", "thing"]


def test_the_key_used_with_another_body_is_refused_with_422(client, effects) -> None:
    send(client, "/t/acme/things", json={"a": 1})
    other = send(client, "/t/acme/things", json={"a": 2})

    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["code"] == "idempotency_key_reused"
    assert effects.done == ["thing"]


def test_keys_are_per_tenant(client, effects) -> None:
    send(client, "/t/acme/things", json={"a": 1})
    elsewhere = send(client, "/t/globex/things", json={"a": 2})

    assert elsewhere.status_code == 201
    assert effects.done == ["thing", "thing"]


def test_another_user_of_the_tenant_with_the_same_key_does_not_get_the_first_answer(
    client, effects
) -> None:
    send(client, "/t/acme/things", json={"a": 1})
    colleague = send(client, "/t/acme/things", json={"a": 1}, **{"X-User": str(uuid4())})

    assert colleague.status_code == 422
    assert effects.done == ["thing"]


def test_a_refusal_is_a_final_answer_and_is_replayed_as_is(client, effects) -> None:
    first = send(client, "/t/acme/refuse")
    again = send(client, "/t/acme/refuse")

    assert first.status_code == 409
    assert first.json()["detail"] == "refused #1"
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert again.headers["content-type"] == first.headers["content-type"]
    assert effects.done == ["refuse"]


def test_a_no_content_answer_is_replayed_without_a_body(client, effects) -> None:
    send(client, "/t/acme/nothing")
    again = send(client, "/t/acme/nothing")

    assert again.status_code == 204
    assert again.content == b""
    assert again.headers["idempotent-replayed"] == "true"
    assert effects.done == ["nothing"]


def test_a_server_error_releases_the_key_so_a_retry_runs(client, effects, store) -> None:
    effects.fail_next = 1
    failed = send(client, "/t/acme/things", json={"a": 1})

    assert failed.status_code == 500
    assert store.records == {}
    retried = send(client, "/t/acme/things", json={"a": 1})
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert effects.done == ["thing"]


def test_contention_503_releases_the_key(client, effects, store) -> None:
    assert send(client, "/t/acme/busy").status_code == 503
    assert send(client, "/t/acme/busy").status_code == 503

    assert effects.done == ["busy", "busy"]
    assert store.records == {}


def test_a_request_failing_authentication_claims_no_key(client, store) -> None:
    response = client.post("/t/acme/things", json={}, headers={"Idempotency-Key": "k"})

    assert response.status_code == 201  # this test app has no authentication of its own
    assert store.records == {}


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
def test_an_invalid_key_is_refused_with_400_before_any_effect(client, effects, key) -> None:
    response = send(client, "/t/acme/things", key=key, json={})

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert effects.done == []


def test_a_route_not_marked_idempotent_ignores_the_key(client, effects, store) -> None:
    send(client, "/t/acme/plain")
    send(client, "/t/acme/plain")

    assert effects.done == ["plain", "plain"]
    assert store.records == {}


def test_a_duplicate_waits_for_the_running_request_and_replays_its_answer(
    client, effects, store
) -> None:
    from interfaces.http.idempotency_http import request_fingerprint

    fingerprint = request_fingerprint(USER, "POST", "/t/acme/things", b"", b'{"a":1}')
    running = store.claim(tenant_of("acme"), "k-1", fingerprint)
    finished = StoredResponse(201, (("content-type", "application/json"),), b'{"from":"first"}')
    threading.Timer(
        WAIT_SECONDS / 3, store.complete, (tenant_of("acme"), "k-1", running.claim_id, finished)
    ).start()

    duplicate = send(client, "/t/acme/things", json={"a": 1})

    assert duplicate.status_code == 201
    assert duplicate.content == b'{"from":"first"}'
    assert effects.done == []


def test_a_duplicate_gets_409_with_retry_after_if_the_first_is_still_running(
    client, effects, store
) -> None:
    from interfaces.http.idempotency_http import request_fingerprint

    fingerprint = request_fingerprint(USER, "POST", "/t/acme/things", b"", b'{"a":1}')
    store.claim(tenant_of("acme"), "k-1", fingerprint)
    started = time.monotonic()

    duplicate = send(client, "/t/acme/things", json={"a": 1})

    assert time.monotonic() - started >= WAIT_SECONDS
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "idempotency_key_in_flight"
    assert duplicate.headers["retry-after"] == "1"
    assert effects.done == []


class NamedOperation(Operation):
    """Stands in for an operation class a handler already uses (e.g. one naming its scope)."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        schema["x-named"] = "kept"
        return schema


def test_marking_a_handler_idempotent_keeps_its_options_and_its_operation_class() -> None:
    options = idempotent(
        {
            "opt": {"scope": "tickets:write"},
            "security": [{"B": []}],
            "operation_class": NamedOperation,
        }
    )

    schema = options["operation_class"](operation_id="issue").to_schema()

    assert options["opt"] == {"scope": "tickets:write", IDEMPOTENT: True}
    assert options["security"] == [{"B": []}]
    assert options["middleware"] == [IdempotencyMiddleware]
    assert schema["x-named"] == "kept"
    assert [p["name"] for p in schema["parameters"]] == ["Idempotency-Key"]
    assert schema["parameters"][0]["in"] == "header"
    assert schema["parameters"][0].get("required", False) is False
