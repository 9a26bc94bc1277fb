"""Declarations shared by controllers: error responses for the OpenAPI document, dependencies."""

from __future__ import annotations

from typing import Annotated, TypeAlias, TypeVar

from litestar.di import Dependency, Provide
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import SkipValidationMarker

from interfaces.http.errors import Problem
from interfaces.http.security import provide_principal, provide_tenant_principal

T = TypeVar("T")

UseCase: TypeAlias = Annotated[T, Dependency(kind="named"), SkipValidationMarker()]
"""A context or query service the composition root provides under the parameter's name
(``interfaces.http.app.use_cases``). It is the process's own object, not request data: Litestar
does not validate it (its type may be a Protocol)."""


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """Declare problem+json error responses so the OpenAPI document is honest. An operation that
    takes a token (401) may also answer 429: every access token has a request rate."""
    descriptions = {
        400: "Malformed request or body",
        401: "Missing, invalid, expired or revoked token",
        403: "The token lacks the scope this operation needs",
        404: "No such resource in this tenant",
        409: "Not allowed in the current state",
        422: "The values break a business rule",
        429: "Too many requests or attempts; retry after the delay in Retry-After",
        503: "Busy, a service is down, or a read model is behind; retry after the given delay",
    }
    if 401 in statuses and 429 not in statuses:
        statuses = (*statuses, 429)
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=descriptions[status],
            media_type="application/problem+json",
        )
        for status in statuses
    }


AUTHENTICATED = {"principal": Provide(provide_principal, sync_to_thread=True)}
TENANT_SCOPED = {
    **AUTHENTICATED,
    "member": Provide(provide_tenant_principal, sync_to_thread=False),
}
TENANT_PATH = "/api/v1/tenants/{slug:str}"
