"""The HTTP side of idempotency keys: a request's fingerprint, recording a response and replaying
it, and the header's place in the OpenAPI document."""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID

from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.types import Message, Send

from application.idempotency import MAX_KEY_LENGTH, StoredResponse, fingerprint

IDEMPOTENT = "idempotent"  # the handler ``opt`` flag that turns the header on
# The scope state entry holding the claimed key's applied marker: the command's context saves it
# with the command's events (``interfaces.http.security.command_context``).
APPLIED_MARKER = "idempotency_applied_marker"
# Per-connection or per-request headers: a replay gets its own (the outer middleware adds the
# replay's X-Request-ID); cookies are never stored.
NOT_STORED = frozenset(
    {b"content-length", b"date", b"server", b"set-cookie", b"x-request-id", b"connection"}
)
NO_CONTENT_STATUSES = frozenset({204, 304})
# Refusals that say "try again later" are not the request's answer: a retry must run again.
TRANSIENT_STATUSES = frozenset({429})


def canonical_body(body: bytes) -> bytes:
    """JSON re-encoded with sorted keys and no spaces, so formatting alone does not make another
    request; a body that is not JSON stays as sent."""
    if not body.strip():
        return b""
    try:
        value = json.loads(body)
    except ValueError:
        return body
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def request_fingerprint(
    user_id: UUID, method: str, path: str, query_string: bytes, body: bytes
) -> str:
    """What makes two requests "the same request": user, method, path, query and body.

    The user is part of it so that two staff members of a tenant who happen to pick the same key
    never receive each other's response. The path's trailing slash is optional in the API, so
    it is ignored here too.
    """
    query = urlencode(sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)))
    return fingerprint(
        str(user_id), method.upper(), path.rstrip("/") or "/", query, canonical_body(body)
    )


class ResponseRecorder:
    """Passes a response through to the client while keeping a copy of it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.complete = False

    async def send(self, message: Message) -> None:
        """The ASGI ``send`` handed to the application."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
            self.complete = not message.get("more_body", False)
        await self._send(message)

    def final_response(self) -> StoredResponse | None:
        """The response to replay, or ``None`` if it must not be kept (429, 5xx, or never
        finished)."""
        if (
            not self.complete
            or self.status is None
            or self.status >= 500
            or self.status in TRANSIENT_STATUSES
        ):
            return None
        headers = tuple(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in self.headers
            if name.lower() not in NOT_STORED
        )
        return StoredResponse(self.status, headers, bytes(self.body))


async def replay(response: StoredResponse, send: Send) -> None:
    """Send a stored response again, marked as a replay."""
    headers = [
        (name.encode("latin-1"), value.encode("latin-1")) for name, value in response.headers
    ]
    if response.status not in NO_CONTENT_STATUSES:
        headers.append((b"content-length", str(len(response.body)).encode()))
    headers.append((b"idempotent-replayed", b"true"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body, "more_body": False})


KEY_PARAMETER = Parameter(
    name="Idempotency-Key",
    param_in="header",
    required=False,
    schema=Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=MAX_KEY_LENGTH, pattern="^[!-~]+$"
    ),
    description=(
        "Makes the command safe to retry: the first request with a key runs; repeating it (same"
        " method, path, body and user) within 24 hours answers the first response again with"
        " `Idempotent-Replayed: true` and no second effect. A duplicate arriving while the first"
        " runs waits for it; `409` if it is still running after a few seconds, `422` if the key"
        " was used for another request. Server errors (5xx) are not kept: retry with the same"
        " key. Keys are per tenant: 1 to 255 visible ASCII characters, e.g. a UUID."
    ),
)


class _DocumentsIdempotencyKey:
    """Mixed into an OpenAPI operation class: lists the optional ``Idempotency-Key`` header."""

    parameters: list[Any] | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        parameters = list(self.parameters or [])
        if not any(getattr(each, "name", None) == KEY_PARAMETER.name for each in parameters):
            parameters.append(KEY_PARAMETER)
        self.parameters = parameters


@cache
def documenting_idempotency_key(operation_class: type[Operation]) -> type[Operation]:
    """``operation_class`` (``Operation`` or one that already adds its own details, such as the
    required scope) extended to document the ``Idempotency-Key`` header."""
    name = f"Idempotent{operation_class.__name__}"
    return type(name, (_DocumentsIdempotencyKey, operation_class), {})
