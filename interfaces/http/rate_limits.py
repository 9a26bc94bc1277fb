"""Request rate limits at the HTTP edge, answered with ``429`` problem+json.

- every request with a valid access token counts against that token (``token`` policy);
- a ticket issued by a kiosk counts against that kiosk (``device``) and against the queue
  (``queue``, shared by every kiosk and, later, public web joins; staff issues do not count).

A refusal (only a refusal: a request that passes costs one Redis round trip and no header)
carries ``Retry-After`` and the IETF RateLimit headers in the structured-field form of
draft-ietf-httpapi-ratelimit-headers since -08 (unchanged in -10 and -11), naming the policy::

    RateLimit-Policy: "device";q=30;w=60
    RateLimit: "device";r=0;t=12

``q`` is the quota, ``w`` the window in seconds, ``r`` what remains and ``t`` the seconds until
the window has room again. The counts live in Redis, shared by every API process.
"""

from __future__ import annotations

import hashlib
from typing import Protocol
from uuid import UUID

from litestar import Request
from litestar.exceptions import TooManyRequestsException

from application.identity import Principal

TOKEN_POLICY, DEVICE_POLICY, QUEUE_POLICY = "token", "device", "queue"
PUBLIC_POLICY, JOIN_ADDRESS_POLICY, JOIN_PHONE_POLICY = (
    "public",
    "public_join_address",
    "public_join_phone",
)
CODE_ADDRESS_POLICY, CODE_PHONE_POLICY = "public_code_address", "public_code_phone"


class RateVerdict(Protocol):
    """One request counted against one policy: whether it may pass, and the policy's state."""

    @property
    def policy(self) -> str: ...
    @property
    def allowed(self) -> bool: ...
    @property
    def quota(self) -> int: ...
    @property
    def window_seconds(self) -> int: ...
    @property
    def remaining(self) -> int | None: ...
    @property
    def reset_seconds(self) -> int | None: ...


class RequestLimiter(Protocol):
    """Request rates per named policy and key, shared by every API process."""

    def hit(self, policy: str, key: str) -> RateVerdict:
        """Count one request of ``key`` under ``policy`` (refused ones are not counted)."""


def ratelimit_headers(verdict: RateVerdict) -> dict[str, str]:
    """The ``RateLimit-Policy`` and ``RateLimit`` fields of a refused request's policy."""
    name = f'"{verdict.policy}"'
    return {
        "RateLimit-Policy": f"{name};q={verdict.quota};w={verdict.window_seconds}",
        "RateLimit": f"{name};r={verdict.remaining or 0};t={verdict.reset_seconds or 1}",
    }


def enforce(verdict: RateVerdict, what: str) -> None:
    """Raise ``429`` with ``Retry-After`` and the RateLimit headers unless the request passed."""
    if verdict.allowed:
        return
    wait = verdict.reset_seconds or 1
    raise TooManyRequestsException(
        detail=f"too many requests {what} (at most {verdict.quota} per "
        f"{verdict.window_seconds} s); retry in {wait} s",
        headers={"Retry-After": str(wait), **ratelimit_headers(verdict)},
    )


def _limiter(request: Request) -> RequestLimiter | None:
    # Middleware-level, so no dependency injection: the process's limiter, when it has one.
    container = getattr(request.app.state, "container", None)
    return container.request_limits if container is not None else None


def limit_token(request: Request, principal: Principal) -> None:
    """Count a request made with ``principal``'s access token (keyed by the token's id)."""
    limiter = _limiter(request)
    if limiter is not None:
        enforce(limiter.hit(TOKEN_POLICY, principal.token_id), "with this access token")


def limit_public_issue(request: Request, who: str, queue_id: UUID) -> None:
    """Count a ticket issued by a kiosk (``who`` = ``device:<id>``) or, later, a public web join
    (``address:<ip>``): first against the issuer, then against the queue."""
    limiter = _limiter(request)
    if limiter is None:
        return
    enforce(limiter.hit(DEVICE_POLICY, who), "from this kiosk")
    enforce(limiter.hit(QUEUE_POLICY, str(queue_id)), "into this queue from kiosks")


def client_address(request: Request) -> str:
    """The client's address (the proxy-resolved peer), ``unknown`` when the server has none."""
    return request.client.host if request.client else "unknown"


def limit_public_request(request: Request) -> None:
    """Count a request of the public API (no token) against the client's address."""
    limiter = _limiter(request)
    if limiter is not None:
        enforce(limiter.hit(PUBLIC_POLICY, client_address(request)), "from this address")


def limit_public_join(request: Request, phone: str | None, queue_id: UUID) -> None:
    """Count a remote join against the client's address, the phone given (a digest of its
    E.164 form, so Redis holds no number) and the queue (shared with kiosks)."""
    limiter = _limiter(request)
    if limiter is None:
        return
    address = client_address(request)
    enforce(limiter.hit(JOIN_ADDRESS_POLICY, address), "to join from this address")
    if phone is not None:
        enforce(limiter.hit(JOIN_PHONE_POLICY, _phone_digest(phone)), "to join with this phone")
    enforce(limiter.hit(QUEUE_POLICY, str(queue_id)), "into this queue")


def limit_public_code(request: Request, phone: str) -> None:
    """Count a one-time join code asked for against the client's address and the phone it
    goes to (a digest of its E.164 form): every code is an SMS someone pays for."""
    limiter = _limiter(request)
    if limiter is None:
        return
    address = client_address(request)
    enforce(limiter.hit(CODE_ADDRESS_POLICY, address), "for codes from this address")
    enforce(limiter.hit(CODE_PHONE_POLICY, _phone_digest(phone)), "for codes to this phone")


def limit_public_booking(request: Request, phone: str | None) -> None:
    """Count a hold, a booking or a move from the booking pages against the join budgets: the
    client's address and, for a booking, the phone given (a digest of its E.164 form)."""
    limiter = _limiter(request)
    if limiter is None:
        return
    enforce(limiter.hit(JOIN_ADDRESS_POLICY, client_address(request)), "to book from this address")
    if phone is not None:
        enforce(limiter.hit(JOIN_PHONE_POLICY, _phone_digest(phone)), "to book with this phone")


def _phone_digest(phone: str) -> str:
    return hashlib.sha256(phone.encode()).hexdigest()[:32]


def limit_kiosk_check_in(request: Request, who: str) -> None:
    """Count an appointment check-in by booking code from a kiosk (``who`` = ``device:<id>``),
    against the same per-kiosk budget as its tickets, so codes cannot be guessed at speed."""
    limiter = _limiter(request)
    if limiter is None:
        return
    enforce(limiter.hit(DEVICE_POLICY, who), "from this kiosk")
