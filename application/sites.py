"""Site commands and queries: where the tenant serves, in which time zone, and when."""

from __future__ import annotations

from uuid import UUID

from application.base import ContextualApplication, retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, map_page, paginate
from application.views import OpeningInterval, SiteView
from domain.errors import ResourceNotFound
from domain.hours import WeeklyHours, check_closed_dates, check_opening_hours
from domain.queues import Queue
from domain.tenancy import Site, Tenant, check_name, check_timezone


class SiteCommands(ContextualApplication):
    """The tenant's sites. Their ids are listed in the Tenant aggregate, oldest first."""

    @retry_on_conflict
    def add_site(
        self,
        context: CommandContext,
        name: str,
        timezone: str,
        opening_hours: WeeklyHours | None = None,
        closed_dates: list[str] | None = None,
    ) -> SiteView:
        """Register a site with its IANA time zone and, optionally, its opening hours."""
        tenant = self.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        site = Site(
            tenant_id=tenant.id,
            name=check_name(name, "site"),
            timezone=check_timezone(timezone),
            opening_hours=check_opening_hours(opening_hours or {}),
            closed_dates=check_closed_dates(closed_dates or []),
        )
        tenant.add_site(site.id)
        self.save_in_context(context, tenant, site)
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
        site = self.load(Site, site_id, context.tenant_id, ResourceNotFound)
        changed: list = [site]
        if name is not None:
            site.rename(name)
        if timezone is not None and site.change_timezone(timezone):
            changed.extend(self._queues_following(site))
        site.change_hours(opening_hours, closed_dates)
        self.save_in_context(context, *changed)
        return site_view(site)

    def _queues_following(self, site: Site) -> list[Queue]:
        tenant = self.load(Tenant, site.tenant_id, site.tenant_id, ResourceNotFound)
        moved = []
        for queue_id in tenant.queue_ids:
            queue = self.load(Queue, queue_id, site.tenant_id, ResourceNotFound)
            if queue.site_id == site.id:
                queue.follow_timezone(site.timezone)
                moved.append(queue)
        return moved

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        """One site of the tenant."""
        return site_view(self.load(Site, site_id, tenant_id, ResourceNotFound))

    def list_sites(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[SiteView]:
        """A page of the tenant's sites, oldest first."""
        tenant = self.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        ids = paginate(tenant.site_ids, str, page or PageRequest())
        return map_page(ids, lambda site_id: self.get_site(tenant_id, site_id))


def site_view(site: Site) -> SiteView:
    """What clients see of a site."""
    return SiteView(
        id=site.id,
        name=site.name,
        timezone=site.timezone,
        opening_hours={
            day: [OpeningInterval(**interval) for interval in intervals]
            for day, intervals in site.opening_hours.items()
        },
        closed_dates=list(site.closed_dates),
    )
