"""Platform administration: tenants. Only platform administrators hold ``tenants:manage``."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.identity import Identity, Principal
from application.tenancy import Tenancy
from application.views import TenantView
from interfaces.http.controllers.common import AUTHENTICATED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import TenantCreate
from interfaces.http.security import command_context, scoped


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
        tenancy: UseCase[Tenancy],
        request: Request,
        principal: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Paginated[TenantView]:
        """Every tenant, oldest first."""
        page = tenancy.list_tenants(page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createTenant",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 409, 422),
        **scoped("tenants:manage"),
    )
    def create_tenant(
        self,
        identity: UseCase[Identity],
        tenancy: UseCase[Tenancy],
        request: Request,
        principal: NamedDependency[Principal],
        data: JSONBody[TenantCreate],
    ) -> TenantView:
        """Create a tenant and its first administrator."""
        tenant_id, _ = identity.create_tenant(
            command_context(request, principal),
            data.slug,
            data.name,
            data.admin_email,
            data.admin_password,
        )
        return tenancy.get_tenant(tenant_id)

    @get(
        "/{tenant_id:uuid}",
        operation_id="getTenant",
        sync_to_thread=True,
        responses=problems(401, 403, 404),
        **scoped("tenants:manage"),
    )
    def get_tenant(
        self,
        tenancy: UseCase[Tenancy],
        request: Request,
        principal: NamedDependency[Principal],
        tenant_id: FromPath[UUID],
    ) -> TenantView:
        """One tenant."""
        return tenancy.get_tenant(tenant_id)
