"""The ``Idempotency-Key`` request header on command endpoints (IETF httpapi draft).

A handler opts in with ``**idempotent(scoped("tickets:write"))``. Then a request carrying a key:

- runs once per (tenant, key); its final response (2xx or 4xx) is stored for 24 hours;
- repeated with the same method, path, body and user, gets that stored response again, marked
  ``Idempotent-Replayed: true``, and causes no second effect;
- repeated while the first still runs, waits (a few seconds at most) for the first to finish and
  then replays it, so concurrent duplicates all get the same answer; ``409`` only if it does not
  finish in time;
- reused for a different request is refused with ``422``.

A ``5xx`` (including ``503`` contention) stores nothing: the key is released so a retry runs again,
unless the command took effect before the failure (the database went away after, or during, the
commit): a marker saved in the same transaction as the command's events says so, and a retry is
then refused with ``409 idempotency_key_applied`` rather than applied twice.
Authentication happens before a key is claimed; a request that fails it never claims one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple
from uuid import UUID

import anyio
import structlog
from litestar import Request
from litestar.exceptions import HTTPException
from litestar.openapi.spec import Operation
from litestar.types import ASGIApp, Receive, Scope, Send

from application.idempotency import Claim, IdempotencyStore, Verdict, is_valid_key
from interfaces.http.errors import problem
from interfaces.http.idempotency_http import (
    APPLIED_MARKER,
    IDEMPOTENT,
    ResponseRecorder,
    documenting_idempotency_key,
    replay,
    request_fingerprint,
)
from interfaces.http.security import provide_principal, provide_tenant_principal

HEADER = b"idempotency-key"
FIRST_POLL_SECONDS, MAX_POLL_SECONDS = 0.02, 0.25
log = structlog.get_logger("smartqueue.http")


class Caller(NamedTuple):
    """Whose key it is: keys are per tenant, and a request is also told apart by its user."""

    tenant_id: UUID
    user_id: UUID


def authenticate_caller(request: Request) -> Caller | None:
    """The caller, if the handler's own authentication (token, tenant, scope) would accept them."""
    try:
        principal = provide_principal(request)
        slug = request.path_params.get("slug")
        if slug is not None:
            provide_tenant_principal(request, slug, principal)
    except HTTPException:
        return None
    return Caller(principal.tenant_id, principal.user_id)


class IdempotencyMiddleware:
    """Claims the key, runs the handler once and stores its response, or replays a stored one."""

    def __init__(
        self, app: ASGIApp, authenticate: Callable[[Request], Caller | None] = authenticate_caller
    ) -> None:
        self.app = app
        self.authenticate = authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        keys = [value for name, value in scope.get("headers", []) if name == HEADER]
        handler = scope.get("route_handler")
        if scope["type"] != "http" or not keys or not (handler and handler.opt.get(IDEMPOTENT)):
            await self.app(scope, receive, send)
            return
        request: Request[Any, Any, Any] = Request(scope, receive)
        caller = await anyio.to_thread.run_sync(self.authenticate, request)
        if caller is None:
            # The handler refuses it the same way (401, 403 or 404); no key is claimed for it.
            await self.app(scope, receive, send)
            return
        key = keys[0].decode("latin-1")
        if len(keys) > 1 or not is_valid_key(key):
            detail = "Idempotency-Key must be sent once, as 1 to 255 visible ASCII characters"
            await _answer(request, 400, "invalid_idempotency_key", detail, scope, receive, send)
            return
        # Litestar keeps the body it read in the connection state: the handler reads it again.
        body = await request.body()
        fingerprint = request_fingerprint(
            caller.user_id, scope["method"], scope["path"], scope.get("query_string", b""), body
        )
        container = request.app.state.container
        store: IdempotencyStore = container.idempotency
        wait_seconds = container.settings.idempotency.wait_seconds
        claim = await _claim_or_wait(store, caller.tenant_id, key, fingerprint, wait_seconds)
        if claim.won:
            await self._run_once(store, caller.tenant_id, key, claim, scope, receive, send)
        elif claim.verdict is Verdict.REPLAY and claim.record and claim.record.response:
            await replay(claim.record.response, send)
        elif claim.verdict is Verdict.APPLIED:
            detail = (
                f"the request with the Idempotency-Key {key!r} took effect, but its response was"
                " lost (the server lost its database while answering); it is not applied again:"
                " read the resource's current state instead of retrying"
            )
            await _answer(request, 409, "idempotency_key_applied", detail, scope, receive, send)
        elif claim.verdict is Verdict.MISMATCH:
            detail = (
                f"the Idempotency-Key {key!r} was used for another request (method, path, body"
                " or user); send a new key for a new request"
            )
            await _answer(request, 422, "idempotency_key_reused", detail, scope, receive, send)
        else:
            detail = (
                f"a request with the Idempotency-Key {key!r} is still being processed;"
                " retry to get its response"
            )
            await _answer(
                request, 409, "idempotency_key_in_flight", detail, scope, receive, send,
                headers={"Retry-After": "1"},
            )  # fmt: skip

    async def _run_once(
        self,
        store: IdempotencyStore,
        tenant_id: UUID,
        key: str,
        claim: Claim,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        assert claim.claim_id is not None
        recorder = ResponseRecorder(send)
        stored = False
        # Saved with the command's events: if they commit, a retry never runs the command again,
        # even when this request then fails (the commit's outcome lost with its connection).
        scope.setdefault("state", {})[APPLIED_MARKER] = store.applied_marker(
            tenant_id, key, claim.claim_id
        )
        try:
            await self.app(scope, receive, recorder.send)
            final = recorder.final_response()
            if final is not None:
                stored = await _after_response(
                    store.complete, tenant_id, key, claim.claim_id, final
                )
        finally:
            if not stored:
                # No final answer (5xx, contention, a crash): a retry with this key runs again,
                # unless the command was applied (see ``applied_marker``).
                with anyio.CancelScope(shield=True):
                    await _after_response(store.release, tenant_id, key, claim.claim_id)


async def _after_response(operation: Callable[..., Any], *args: Any) -> Any:
    """Store or release the key once the response went out. If the store is unreachable, the
    client keeps its response (failing now would drop its connection) and the key stays claimed
    until its lease ends; retries meanwhile wait, then are answered by the rules."""
    try:
        return await anyio.to_thread.run_sync(operation, *args)
    except Exception as error:
        log.warning(
            "idempotency_key_not_recorded", operation=operation.__name__, error=str(error)[:200]
        )
        return False


async def _claim_or_wait(
    store: IdempotencyStore, tenant_id: UUID, key: str, fingerprint: str, wait_seconds: float
) -> Claim:
    """Claim the key; while the same request runs elsewhere, poll until it ends or time is up."""
    deadline = time.monotonic() + wait_seconds
    pause = FIRST_POLL_SECONDS
    while True:
        claim = await anyio.to_thread.run_sync(store.claim, tenant_id, key, fingerprint)
        remaining = deadline - time.monotonic()
        if claim.verdict is not Verdict.WAIT or claim.won or remaining <= 0:
            return claim
        await anyio.sleep(min(pause, remaining))
        pause = min(pause * 2, MAX_POLL_SECONDS)


async def _answer(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    scope: Scope,
    receive: Receive,
    send: Send,
    headers: dict[str, str] | None = None,
) -> None:
    response = problem(request, status, code, detail, headers=headers)
    await response.to_asgi_response(None, request)(scope, receive, send)


def idempotent(options: dict[str, Any]) -> dict[str, Any]:
    """Handler options (from ``scoped(...)``) plus the ``Idempotency-Key`` header: the ``opt``
    flag, the middleware that honours it and its OpenAPI parameter."""
    return {
        **options,
        "opt": {**options.get("opt", {}), IDEMPOTENT: True},
        "middleware": [*options.get("middleware", []), IdempotencyMiddleware],
        "operation_class": documenting_idempotency_key(options.get("operation_class", Operation)),
    }
