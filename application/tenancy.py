"""Tenancy commands and queries: tenants, sites, services and staff users."""

from __future__ import annotations

from uuid import UUID

from application.base import ContextualApplication, retry_on_conflict
from application.context import CommandContext
from application.views import ServiceView, SiteView, UserView
from domain.agents import Agent
from domain.errors import InvalidInput, ResourceNotFound
from domain.tenancy import Role, Service, Site, StaffUser, Tenant, check_name, check_timezone


class TenancyCommands(ContextualApplication):
    """The tenant's own resources. The Tenant aggregate doubles as their directory."""

    # -- sites ------------------------------------------------------------------------------------

    @retry_on_conflict
    def add_site(self, context: CommandContext, name: str, timezone: str) -> SiteView:
        """Register a site with its IANA time zone."""
        tenant = self.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = Site(
            tenant_id=tenant.id, name=check_name(name, "site"), timezone=check_timezone(timezone)
        )
        tenant.add_site(site.id)
        self.save_in_context(context, tenant, site)
        return _site_view(site)

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        """One site of the tenant."""
        return _site_view(self.load(Site, site_id, tenant_id, ResourceNotFound))

    def list_sites(self, tenant_id: UUID) -> list[SiteView]:
        """Every site of the tenant, oldest first."""
        tenant = self.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        return [self.get_site(tenant_id, site_id) for site_id in tenant.site_ids]

    # -- services ---------------------------------------------------------------------------------

    @retry_on_conflict
    def add_service(
        self,
        context: CommandContext,
        name: str,
        code: str,
        target_wait_minutes: int,
        expected_service_minutes: int = 5,
    ) -> ServiceView:
        """Register a service; its code prefixes ticket numbers and is unique in the tenant."""
        if not 1 <= target_wait_minutes <= 24 * 60:
            raise InvalidInput("target_wait_minutes must be between 1 and 1440")
        if not 1 <= expected_service_minutes <= 24 * 60:
            raise InvalidInput("expected_service_minutes must be between 1 and 1440")
        tenant = self.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        service = Service(
            tenant_id=tenant.id,
            name=check_name(name, "service"),
            code=Service.check_code(code),
            target_wait_minutes=target_wait_minutes,
            expected_service_minutes=expected_service_minutes,
        )
        tenant.add_service(service.id, service.code)
        self.save_in_context(context, tenant, service)
        return _service_view(service)

    def get_service(self, tenant_id: UUID, service_id: UUID) -> ServiceView:
        """One service of the tenant."""
        return _service_view(self.load(Service, service_id, tenant_id, ResourceNotFound))

    def list_services(self, tenant_id: UUID) -> list[ServiceView]:
        """Every service of the tenant, oldest first."""
        tenant = self.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        return [self.get_service(tenant_id, service_id) for service_id in tenant.service_ids]

    # -- staff users ------------------------------------------------------------------------------

    @retry_on_conflict
    def register_user(
        self, context: CommandContext, user_id: UUID, email: str, name: str, role: str
    ) -> UserView:
        """Record a staff user and the agent profile that lets them serve tickets.

        The caller (identity) has already reserved the email and stored the password hash.
        """
        tenant = self.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        user = StaffUser(
            id=user_id,
            tenant_id=tenant.id,
            email=email,
            name=check_name(name, "user"),
            role=Role.parse(role).value,
        )
        agent = Agent(user_id=user_id, tenant_id=tenant.id, name=user.name)
        tenant.add_user(user.id)
        self.save_in_context(context, tenant, user, agent)
        return _user_view(user)

    def get_user(self, tenant_id: UUID, user_id: UUID) -> UserView:
        """One staff user of the tenant."""
        return _user_view(self.load(StaffUser, user_id, tenant_id, ResourceNotFound))

    def list_users(self, tenant_id: UUID) -> list[UserView]:
        """Every staff user of the tenant, oldest first."""
        tenant = self.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        return [self.get_user(tenant_id, user_id) for user_id in tenant.user_ids]


def _site_view(site: Site) -> SiteView:
    return SiteView(id=site.id, name=site.name, timezone=site.timezone)


def _service_view(service: Service) -> ServiceView:
    return ServiceView(
        id=service.id,
        name=service.name,
        code=service.code,
        target_wait_minutes=service.target_wait_minutes,
        expected_service_minutes=service.expected_service_minutes,
    )


def _user_view(user: StaffUser) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        active=user.active,
        tenant_id=user.tenant_id,
    )
