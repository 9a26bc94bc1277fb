"""Platform administration: tenants. Only platform administrators hold ``tenants:manage``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.identity import Principal
from application.views import TenantView
from interfaces.http.controllers.common import AUTHENTICATED, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import TenantCreate
from interfaces.http.security import command_context, container_of, scoped


class TenantController(Controller):
    """Organisations using this deployment."""

    path = "/api/v1/tenants"
    tags = ["platform"]
    dependencies = AUTHENTICATED

    @get(
        "/",
        operation_id="listTenants",
        sync_to_thread=True,
        responses=problems(400, 401, 403),
        **scoped("tenants:manage"),
    )
    def list_tenants(
        self,
        request: Request,
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Paginated[TenantView]:
        """Every tenant, oldest first."""
        page = container_of(request).tenancy.list_tenants(page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createTenant",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 409, 422),
        **scoped("tenants:manage"),
    )
    def create_tenant(
        self, request: Request, principal: NamedDependency[Principal], data: JSONBody[TenantCreate]
    ) -> TenantView:
        """Create a tenant and its first administrator."""
        container = container_of(request)
        tenant_id, _ = container.identity.create_tenant(
            command_context(request, principal),
            data.slug,
            data.name,
            data.admin_email,
            data.admin_password,
        )
        return container.tenancy.get_tenant(tenant_id)

    @get(
        "/{tenant_id:uuid}",
        operation_id="getTenant",
        sync_to_thread=True,
        responses=problems(401, 403, 404),
        **scoped("tenants:manage"),
    )
    def get_tenant(
        self, request: Request, principal: NamedDependency[Principal], tenant_id: FromPath[UUID]
    ) -> TenantView:
        """One tenant."""
        return container_of(request).tenancy.get_tenant(tenant_id)
