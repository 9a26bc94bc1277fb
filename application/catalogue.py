"""The tenant's catalogue: its sites (where, in which time zone, when open) and its services
(what customers come for, and how long it should take)."""

from __future__ import annotations

from uuid import UUID

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, map_page, paginate
from application.views import BookingRulesView, OpeningInterval, ServiceView, SiteView
from domain.errors import ResourceNotFound
from domain.hours import WeeklyHours, check_closed_dates, check_opening_hours
from domain.queues import Queue
from domain.tenancy import Service, Site, Tenant, check_name, check_timezone


class Catalogue:
    """The tenant's sites and services. Their ids are listed in the Tenant aggregate, oldest
    first; the Tenant also keeps service codes unique."""

    def __init__(self, store: SmartQueue) -> None:
        self.store = store

    # -- sites ------------------------------------------------------------------------------------

    @retry_on_conflict
    def add_site(
        self,
        context: CommandContext,
        name: str,
        timezone: str,
        opening_hours: WeeklyHours | None = None,
        closed_dates: list[str] | None = None,
    ) -> SiteView:
        """Register a site with its IANA time zone and, optionally, its opening hours (none
        given: open at all times until they are set)."""
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = Site(
            tenant_id=tenant.id,
            name=check_name(name, "site"),
            timezone=check_timezone(timezone),
            opening_hours=None if opening_hours is None else check_opening_hours(opening_hours),
            closed_dates=check_closed_dates(closed_dates or []),
        )
        tenant.add_site(site.id)
        self.store.save_in_context(context, tenant, site)
        return site_view(site)

    @retry_on_conflict
    def change_site(
        self,
        context: CommandContext,
        site_id: UUID,
        *,
        name: str | None = None,
        timezone: str | None = None,
        opening_hours: WeeklyHours | None = None,
        closed_dates: list[str] | None = None,
    ) -> SiteView:
        """Change what is given (``None`` keeps a value); nothing given changes nothing.

        A new time zone moves the site's queues with it, in the same transaction, so their
        ticket numbers restart at the site's local midnight.
        """
        site = self.store.load(Site, site_id, context.tenant_id, ResourceNotFound)
        changed: list = [site]
        if name is not None:
            site.rename(name)
        if timezone is not None and site.change_timezone(timezone):
            changed.extend(self._queues_following(site))
        site.change_hours(opening_hours, closed_dates)
        self.store.save_in_context(context, *changed)
        return site_view(site)

    def _queues_following(self, site: Site) -> list[Queue]:
        tenant = self.store.load(Tenant, site.tenant_id, site.tenant_id, ResourceNotFound)
        moved = []
        for queue_id in tenant.queue_ids:
            queue = self.store.load(Queue, queue_id, site.tenant_id, ResourceNotFound)
            if queue.site_id == site.id:
                queue.follow_timezone(site.timezone)
                moved.append(queue)
        return moved

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        """One site of the tenant."""
        return site_view(self.store.load(Site, site_id, tenant_id, ResourceNotFound))

    def list_sites(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[SiteView]:
        """A page of the tenant's sites, oldest first."""
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        ids = paginate(tenant.site_ids, str, page or PageRequest())
        return map_page(ids, lambda site_id: self.get_site(tenant_id, site_id))

    # -- services ----------------------------------------------------------------------------------

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
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        service = Service(
            tenant_id=tenant.id,
            name=check_name(name, "service"),
            code=Service.check_code(code),
            target_wait_minutes=target_wait_minutes,
            expected_service_minutes=expected_service_minutes,
        )
        tenant.add_service(service.id, service.code)
        self.store.save_in_context(context, tenant, service)
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
        booking: dict[str, int | None] | None = None,
    ) -> ServiceView:
        """Rename a service, change its targets or its booking rules (``None`` keeps a value;
        ``booking`` names only the rules it changes).

        The code cannot change: it is printed on the tickets already issued and keys analytics.
        Naming the current code is accepted, so a client may send back what it read.
        """
        service = self.store.load(Service, service_id, context.tenant_id, ResourceNotFound)
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
        if booking is not None:
            service.set_booking_rules(service.booking_rules.changed(**booking))
        self.store.save_in_context(context, service)
        return service_view(service)

    def get_service(self, tenant_id: UUID, service_id: UUID) -> ServiceView:
        """One service of the tenant."""
        return service_view(self.store.load(Service, service_id, tenant_id, ResourceNotFound))

    def list_services(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[ServiceView]:
        """A page of the tenant's services, oldest first."""
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        ids = paginate(tenant.service_ids, str, page or PageRequest())
        return map_page(ids, lambda service_id: self.get_service(tenant_id, service_id))


def site_view(site: Site) -> SiteView:
    """What clients see of a site."""
    return SiteView(
        id=site.id,
        name=site.name,
        timezone=site.timezone,
        opening_hours=None
        if site.opening_hours is None
        else {
            day: [OpeningInterval(**interval) for interval in intervals]
            for day, intervals in site.opening_hours.items()
        },
        closed_dates=list(site.closed_dates),
    )


def service_view(service: Service) -> ServiceView:
    """What clients see of a service."""
    return ServiceView(
        id=service.id,
        name=service.name,
        code=service.code,
        target_wait_minutes=service.target_wait_minutes,
        expected_service_minutes=service.expected_service_minutes,
        booking=BookingRulesView(**service.booking_rules.as_dict()),
    )
