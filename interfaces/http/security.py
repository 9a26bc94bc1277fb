"""Who is calling, for which tenant, with which right: resolved once per request."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.openapi.spec import Operation
from litestar.params import FromPath

from application.context import CommandContext, new_correlation_id
from application.identity import Identity, Principal
from domain.tenancy import Tenant
from interfaces.http.errors import TenantMismatch
from interfaces.http.idempotency_http import APPLIED_MARKER
from interfaces.http.rate_limits import limit_token

VERIFIED_PRINCIPAL = "verified_principal"  # request-state key
RATE_REFUSAL = "rate_refusal"  # request-state key: the 429 of a token over its rate
SCHEMES = ("bearer", "token")  # "Token" is what clients of the older API send


def bearer_token(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (or the legacy ``Token <token>``)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in SCHEMES and token.strip():
        return token.strip()
    return None


def identity_of(request: Request) -> Identity:
    """The process's ``Identity``. Guards and middleware (which authenticate before a handler's
    dependencies exist) take it here; handlers declare the use cases they need instead."""
    return request.app.state.container.identity


def provide_principal(request: Request) -> Principal:
    """Authenticate, then check the route's scope (declared in the handler's ``opt``)."""
    principal = _verified_principal(request)
    slug = request.path_params.get("slug")
    if slug is not None and Tenant.create_id(slug) != principal.tenant_id:
        # Another tenant's path is 404 before any scope check, so a 403 never confirms it exists.
        raise NotFoundException(f"no tenant {slug!r}")
    scope = request.route_handler.opt.get("scope")
    if scope and scope not in principal.scopes:
        raise PermissionDeniedException(f"this action needs the {scope!r} scope")
    return principal


def _verified_principal(request: Request) -> Principal:
    """The token's principal, verified once per request: a middleware that authenticates early
    (idempotency keys) leaves it in the request's state for the handler's dependency."""
    state = request.scope.setdefault("state", {})
    cached = state.get(VERIFIED_PRINCIPAL)
    if cached is None:
        token = bearer_token(request)
        if token is None:
            raise NotAuthorizedException("send Authorization: Bearer <token>")
        cached = identity_of(request).authenticate(token)
        if cached is None:
            raise NotAuthorizedException("the token is invalid, expired or revoked")
        state[VERIFIED_PRINCIPAL] = cached
        try:
            limit_token(request, cached)  # counted once per request, however often asked
        except TooManyRequestsException as refusal:
            state[RATE_REFUSAL] = refusal
    refusal = state.get(RATE_REFUSAL)
    if refusal is not None:
        raise refusal
    return cached


def provide_tenant_principal(
    request: Request, slug: FromPath[str], principal: NamedDependency[Principal]
) -> Principal:
    """The principal, provided the path's tenant is theirs.

    Another tenant's path answers 404 exactly like a tenant that does not exist.
    """
    legacy = request.headers.get("x-tenant")
    if legacy is not None and legacy != slug:
        raise TenantMismatch(f"X-Tenant {legacy!r} does not match the path's tenant {slug!r}")
    if Tenant.create_id(slug) != principal.tenant_id:
        raise NotFoundException(f"no tenant {slug!r}")
    return principal


def command_context(request: Request, principal: NamedDependency[Principal]) -> CommandContext:
    """The metadata stamped on the events of this request's command."""
    # Both ids were checked (short tokens) by RequestContextMiddleware, which echoes them.
    state = request.scope.get("state", {})
    request_id = state.get("request_id")
    marker = state.get(APPLIED_MARKER)
    return CommandContext(
        tenant_id=principal.tenant_id,
        actor_id=principal.user_id,
        actor_role=principal.role,
        client_ip=request.client.host if request.client else None,
        correlation_id=state.get("correlation_id") or request_id or new_correlation_id(),
        causation_id=request_id,
        actor_scopes=frozenset(principal.scopes),
        side_writes=(marker,) if marker is not None else (),
    )


def scoped(scope: str) -> dict[str, Any]:
    """Handler options: the scope checked at runtime and shown in the OpenAPI document (as the
    operation's security requirement, and as ``x-required-scope``)."""
    return {
        "opt": {"scope": scope},
        "security": [{"BearerToken": [scope]}],
        "operation_class": ScopedOperation,
    }


class ScopedOperation(Operation):
    """An OpenAPI operation that names its required scope in ``x-required-scope``."""

    def to_schema(self) -> dict[str, Any]:
        schema = super().to_schema()
        requirement = (self.security or [{}])[0]
        scopes = next(iter(requirement.values()), [])
        if scopes:
            schema["x-required-scope"] = scopes[0]
        return schema
