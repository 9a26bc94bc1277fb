"""Request ids and the one summary log line per request."""

from __future__ import annotations

import time
import uuid

import structlog
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from application.consistency import tracking_positions
from application.context import is_safe_token

log = structlog.get_logger("smartqueue.http")
LOGGED_PATH_LENGTH = 256  # a path is the client's text: the summary line keeps its start only


class RequestContextMiddleware:
    """Binds a request id (the client's X-Request-ID if sane, else a new one) and a correlation
    id (the client's X-Correlation-ID if sane, else the request id) for the request's logs and
    events, echoes both in the response, and logs one line when the response is sent. It also
    opens the record of the log positions the request writes and reads (read your writes).

    Sane means a short token (``application.context.is_safe_token``): both ids are stamped on
    every event the request causes, which are immutable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if is_safe_token(incoming) else uuid.uuid4().hex
        incoming = headers.get(b"x-correlation-id", b"").decode("latin-1")
        correlation_id = incoming if is_safe_token(incoming) else request_id
        state = scope.setdefault("state", {})
        state["request_id"], state["correlation_id"] = request_id, correlation_id
        structlog.contextvars.bind_contextvars(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"x-correlation-id", correlation_id.encode()),
                ]
            await send(message)

        try:
            with tracking_positions():
                await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"][:LOGGED_PATH_LENGTH],
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            structlog.contextvars.clear_contextvars()
