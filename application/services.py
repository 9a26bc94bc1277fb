"""Service commands and queries: what customers come for, and how long it should take."""

from __future__ import annotations

from uuid import UUID

from application.base import ContextualApplication, retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, map_page, paginate
from application.views import ServiceView
from domain.errors import ResourceNotFound
from domain.tenancy import Service, Tenant, check_name


class ServiceCommands(ContextualApplication):
    """The tenant's services; the Tenant aggregate keeps their codes unique."""

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
        Service.check_minutes(target_wait_minutes, "target_wait_minutes")
        Service.check_minutes(expected_service_minutes, "expected_service_minutes")
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
        return service_view(service)

    @retry_on_conflict
    def change_service(
        self,
        context: CommandContext,
        service_id: UUID,
        *,
        name: str | None = None,
        code: str | None = None,
        target_wait_minutes: int | None = None,
        expected_service_minutes: int | None = None,
    ) -> ServiceView:
        """Rename a service or change its targets (``None`` keeps a value).

        The code cannot change: it is printed on the tickets already issued and keys analytics.
        Naming the current code is accepted, so a client may send back what it read.
        """
        service = self.load(Service, service_id, context.tenant_id, ResourceNotFound)
        if code is not None:
            service.check_code_unchanged(code)
        if name is not None:
            service.rename(name)
        service.change_targets(
            service.target_wait_minutes if target_wait_minutes is None else target_wait_minutes,
            service.expected_service_minutes
            if expected_service_minutes is None
            else expected_service_minutes,
        )
        self.save_in_context(context, service)
        return service_view(service)

    def get_service(self, tenant_id: UUID, service_id: UUID) -> ServiceView:
        """One service of the tenant."""
        return service_view(self.load(Service, service_id, tenant_id, ResourceNotFound))

    def list_services(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[ServiceView]:
        """A page of the tenant's services, oldest first."""
        tenant = self.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        ids = paginate(tenant.service_ids, str, page or PageRequest())
        return map_page(ids, lambda service_id: self.get_service(tenant_id, service_id))


def service_view(service: Service) -> ServiceView:
    """What clients see of a service."""
    return ServiceView(
        id=service.id,
        name=service.name,
        code=service.code,
        target_wait_minutes=service.target_wait_minutes,
        expected_service_minutes=service.expected_service_minutes,
    )
