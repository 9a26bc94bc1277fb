"""Platform administration: creating and listing tenants."""

from __future__ import annotations

from uuid import UUID

import msgspec

from application.base import ContextualApplication, retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, paginate
from application.views import TenantView, UserView
from domain.errors import DuplicateResource, ResourceNotFound
from domain.platform import PLATFORM_ID, Platform
from domain.tenancy import StaffUser, Tenant, check_name


class PlatformCommands(ContextualApplication):
    """Tenants and the platform's directory of them."""

    @retry_on_conflict
    def create_tenant(self, context: CommandContext, slug: str, name: str) -> UUID:
        """Create a tenant; its slug is unique across the platform."""
        tenant = Tenant(slug=Tenant.check_slug(slug), name=check_name(name, "tenant"))
        if self.find(Tenant, tenant.id) is not None:
            raise DuplicateResource(f"tenant slug {slug!r} is already taken")
        platform = self.find(Platform, PLATFORM_ID) or Platform()
        platform.add_tenant(tenant.id)
        # The tenant and its directory entry commit together; a second creation of the same slug
        # loses the race on the tenant's version and is retried, then refused as a duplicate.
        self.save_in_context(
            msgspec.structs.replace(context, tenant_id=tenant.id), tenant, platform
        )
        return tenant.id

    def register_platform_admin(
        self, context: CommandContext, user_id: UUID, email: str, name: str
    ) -> UserView:
        """Record a platform administrator (identity has stored the credential)."""
        user = StaffUser(
            id=user_id,
            tenant_id=PLATFORM_ID,
            email=email,
            name=check_name(name, "user"),
            role="platform_admin",
        )
        self.save_in_context(context, user)
        return UserView(
            id=user.id,
            email=user.email,
            name=user.name,
            role=user.role,
            active=user.active,
            tenant_id=user.tenant_id,
        )

    def get_tenant(self, tenant_id: UUID) -> TenantView:
        """One tenant, for platform administrators."""
        tenant = self.find(Tenant, tenant_id)
        if tenant is None:
            raise ResourceNotFound(f"no tenant with id {tenant_id}")
        return TenantView(id=tenant.id, slug=tenant.slug, name=tenant.name)

    def list_tenants(self, page: PageRequest) -> Page[TenantView]:
        """Tenants in the order they were created."""
        platform = self.find(Platform, PLATFORM_ID)
        ids = platform.tenant_ids if platform is not None else []
        chosen = paginate(ids, str, page)
        return Page([self.get_tenant(tenant_id) for tenant_id in chosen.items], chosen.next_cursor)
