"""Every error becomes RFC 9457 ``application/problem+json``, mapped here and nowhere else."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import eventsourcing.persistence
import msgspec
import psycopg
import redis
import sqlalchemy.exc
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)

from application.errors import AuthenticationFailed, Contention, TooManyAttempts, Unavailable
from domain.errors import Conflict, DomainError, InvalidInput, NotFound, NotPermitted
from interfaces.http.i18n import preferred_language, title

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("smartqueue.http")


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details; ``code`` is a stable machine-readable error name."""

    status: int
    title: str
    type: str = "about:blank"
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    errors: list[dict[str, Any]] | None = None
    opens_at: datetime | None = None
    """``site_closed`` only: when the site opens next, if it does within a year."""


class TenantMismatch(HTTPException):
    """The legacy X-Tenant header names another tenant than the path."""

    status_code = 400


def problem(
    request: Request,
    status: int,
    code: str,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    opens_at: datetime | None = None,
) -> Response[Problem]:
    """A problem+json response with a translated title."""
    language = preferred_language(request.headers.get("accept-language"))
    body = Problem(
        status=status,
        title=title(code, language),
        detail=detail,
        instance=request.url.path,
        code=code,
        errors=errors,
        opens_at=opens_at,
    )
    return Response(
        body,
        status_code=status,
        media_type=PROBLEM_JSON,
        headers={"Content-Language": language, **(headers or {})},
    )


def _domain_status(exc: DomainError) -> int:
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, Contention | Unavailable):
        return 503
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, InvalidInput):
        return 422
    if isinstance(exc, AuthenticationFailed):
        return 401
    if isinstance(exc, TooManyAttempts):
        return 429
    if isinstance(exc, NotPermitted):
        return 403
    return 400


def handle_domain_error(request: Request, exc: DomainError) -> Response[Problem]:
    """Domain and application refusals: 404, 409, 422, 401, 403."""
    status = _domain_status(exc)
    code = exc.code if status != 404 else "not_found"
    headers: dict[str, str] | None = None
    if isinstance(exc, Contention | Unavailable):
        headers = {"Retry-After": "1"}
    elif isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after_seconds)}
    elif isinstance(exc, AuthenticationFailed):
        headers = {"WWW-Authenticate": "Bearer"}
    opens_at = getattr(exc, "opens_at", None)
    return problem(request, status, code, str(exc), headers=headers, opens_at=opens_at)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    415: "unsupported_media_type",
    429: "too_many_requests",
    503: "unavailable",
}


def handle_http_exception(request: Request, exc: HTTPException) -> Response[Problem]:
    """Framework errors: unknown routes, wrong methods, validation, auth."""
    if isinstance(exc, ValidationException):
        errors = exc.extra if isinstance(exc.extra, list) else None
        owned = _server_owned_field(exc)
        if owned is not None:
            return problem(
                request,
                422,
                "server_owned_field",
                f"{owned!r} is set by the server and cannot be written",
            )
        return problem(request, 400, "validation_failed", _validation_detail(exc), errors=errors)
    if isinstance(exc, TenantMismatch):
        return problem(request, 400, "tenant_mismatch", exc.detail)
    if isinstance(exc, NotFoundException):
        return problem(request, 404, "not_found", exc.detail if exc.detail != "Not Found" else None)
    if isinstance(exc, MethodNotAllowedException):
        return problem(request, 405, "method_not_allowed", None, headers=exc.headers)
    if isinstance(exc, NotAuthorizedException):
        return problem(
            request, 401, "unauthorized", exc.detail, headers={"WWW-Authenticate": "Bearer"}
        )
    if isinstance(exc, PermissionDeniedException):
        return problem(request, 403, "forbidden", exc.detail)
    status = exc.status_code
    if status >= 500:
        log.error("http_error", status=status, detail=exc.detail)
        return problem(request, status, "internal_error" if status == 500 else "unavailable")
    return problem(
        request, status, _HTTP_CODES.get(status, "bad_request"), exc.detail, headers=exc.headers
    )


# Fields a client may read but never write; naming one in a body is refused with a clear reason
# rather than the generic "unknown field".
SERVER_OWNED_FIELDS = frozenset(
    {"id", "tenant_id", "status", "created_at", "updated_at", "erased", "version"}
)
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")


def _server_owned_field(exc: ValidationException) -> str | None:
    for error in exc.extra if isinstance(exc.extra, list) else []:
        match = (
            _UNKNOWN_FIELD.search(str(error.get("message", "")))
            if isinstance(error, dict)
            else None
        )
        if match and match.group(1) in SERVER_OWNED_FIELDS:
            return match.group(1)
    return None


MISSING_BODY = "the request body is missing or is not a JSON object"


def _validation_detail(exc: ValidationException) -> str:
    if isinstance(exc.extra, list) and exc.extra:
        first = exc.extra[0]
        if isinstance(first, dict) and first.get("message"):
            key = first.get("key")
            if key == "data" and first.get("source") == "body":
                # Litestar reports an absent body as the bare KeyError "'data'", and a body of
                # another JSON type as "Expected `object`, got `array`" at the key "data".
                if first["message"] == "'data'":
                    return MISSING_BODY
                if (
                    first["message"].startswith("Expected `object`")
                    and "`$." not in first["message"]
                ):
                    return f"{MISSING_BODY} ({first['message'].split(', ')[-1]})"
            return f"{first['message']}" + (
                f" (at {key})" if key and key not in first["message"] else ""
            )
    return exc.detail or "the request could not be read"


def handle_unexpected(request: Request, exc: Exception) -> Response[Problem]:
    """Anything else is our bug: log it with its stack, tell the client nothing internal."""
    log.exception("unhandled_error", path=request.url.path, error_type=type(exc).__name__)
    return problem(
        request, 500, "internal_error", "an unexpected error occurred; it has been logged"
    )


def handle_unstorable_value(request: Request, exc: psycopg.DataError) -> Response[Problem]:
    """A value PostgreSQL cannot hold (a NUL character in a query parameter, say): the
    transaction was rolled back, so nothing was written; the client learns which request."""
    log.warning("unstorable_value", path=request.url.path, error=str(exc).splitlines()[0])
    return problem(
        request, 400, "bad_request", "the request holds a value that cannot be stored or searched"
    )


# Losing the database or Redis mid-request (a restart, a failover, ``pg_terminate_backend``, a
# pool with no connection left in time): each library names it its own way. psycopg_pool's
# PoolTimeout and TooManyRequests are psycopg OperationalErrors; lock and statement timeouts are
# too, and are just as transient.
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    eventsourcing.persistence.OperationalError,
    eventsourcing.persistence.InterfaceError,
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.DisconnectionError,
    sqlalchemy.exc.TimeoutError,
    redis.RedisError,
)
RETRY_AFTER_SECONDS = 1


def handle_unavailable(request: Request, exc: Exception) -> Response[Problem]:
    """A store could not be reached: ``503`` with ``Retry-After``, never a 500. Whether a
    command that failed this way took effect is unknown to the server too (the connection may
    have died during COMMIT); a retry with the same ``Idempotency-Key`` is the safe way on."""
    store = "Redis" if isinstance(exc, redis.RedisError) else "the database"
    log.warning(
        "store_unavailable",
        path=request.url.path,
        error_type=type(exc).__name__,
        error=str(exc).splitlines()[0] if str(exc) else "",
    )
    return problem(
        request,
        503,
        "unavailable",
        f"{store} is unreachable or restarting; retry shortly",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


EXCEPTION_HANDLERS: dict[type[Exception], Any] = {
    **dict.fromkeys(UNAVAILABLE_ERRORS, handle_unavailable),
    psycopg.DataError: handle_unstorable_value,
    DomainError: handle_domain_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
