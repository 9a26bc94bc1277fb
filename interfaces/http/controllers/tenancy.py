"""Where and what the tenant serves: sites and services.

Queues and users have their own modules (``queues``, ``users``).
"""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from application.catalogue import Catalogue
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.views import ServiceView, SiteView
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import (
    ServiceCreate,
    ServicePatch,
    SiteCreate,
    SitePatch,
    given,
    plain_hours,
)
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404)
LIST_ERRORS = problems(400, 401, 403, 404, 422)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422)


class SiteController(Controller):
    """Physical locations, their time zones and opening hours."""

    path = f"{TENANT_PATH}/sites"
    tags = ["sites"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listSites",
        sync_to_thread=True,
        responses=LIST_ERRORS,
        **scoped("sites:read"),
    )
    def list_sites(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[SiteView]:
        """A page of the tenant's sites, oldest first."""
        page = catalogue.list_sites(member.tenant_id, page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createSite",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("sites:manage"),
    )
    def create_site(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[SiteCreate],
    ) -> SiteView:
        """Register a site with its IANA time zone and, optionally, its opening hours."""
        return catalogue.add_site(
            command_context(request, member),
            data.name,
            data.timezone,
            opening_hours=plain_hours(data.opening_hours),
            closed_dates=data.closed_dates,
        )

    @get(
        "/{site_id:uuid}",
        operation_id="getSite",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("sites:read"),
    )
    def get_site(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        site_id: FromPath[UUID],
    ) -> SiteView:
        """One site."""
        return catalogue.get_site(member.tenant_id, site_id)

    @patch(
        "/{site_id:uuid}",
        operation_id="updateSite",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("sites:manage"),
    )
    def update_site(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        site_id: FromPath[UUID],
        data: JSONBody[SitePatch],
    ) -> SiteView:
        """Change a site's name, time zone, opening hours or closed dates; ``{}`` changes
        nothing. A new time zone moves the site's queues (and their daily numbering) with it."""
        return catalogue.change_site(
            command_context(request, member),
            site_id,
            name=given(data.name),
            timezone=given(data.timezone),
            opening_hours=plain_hours(data.opening_hours),
            closed_dates=given(data.closed_dates),
        )


class ServiceController(Controller):
    """What customers come for; the code prefixes ticket numbers."""

    path = f"{TENANT_PATH}/queues/services"
    tags = ["services"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listServices",
        sync_to_thread=True,
        responses=LIST_ERRORS,
        **scoped("queues:read"),
    )
    def list_services(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[ServiceView]:
        """A page of the tenant's services, oldest first."""
        page = catalogue.list_services(member.tenant_id, page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createService",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("services:manage"),
    )
    def create_service(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[ServiceCreate],
    ) -> ServiceView:
        """Register a service; its code is unique in the tenant."""
        return catalogue.add_service(
            command_context(request, member),
            data.name,
            data.code,
            data.target_wait_minutes,
            data.expected_service_minutes,
        )

    @get(
        "/{service_id:uuid}",
        operation_id="getService",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("queues:read"),
    )
    def get_service(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        service_id: FromPath[UUID],
    ) -> ServiceView:
        """One service."""
        return catalogue.get_service(member.tenant_id, service_id)

    @patch(
        "/{service_id:uuid}",
        operation_id="updateService",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("services:manage"),
    )
    def update_service(
        self,
        catalogue: UseCase[Catalogue],
        request: Request,
        member: NamedDependency[Principal],
        service_id: FromPath[UUID],
        data: JSONBody[ServicePatch],
    ) -> ServiceView:
        """Rename a service or change its target wait, expected service time or booking rules
        (``booking``: slot length, places per slot, lead time, horizon, check-in window,
        cancellation cut-off, limit per customer and day; only the rules sent change); ``{}``
        changes nothing. The code is immutable: a different one is refused with 422."""
        return catalogue.change_service(
            command_context(request, member),
            service_id,
            name=given(data.name),
            code=given(data.code),
            target_wait_minutes=given(data.target_wait_minutes),
            expected_service_minutes=given(data.expected_service_minutes),
            booking=None if data.booking is UNSET else data.booking.sent(),
        )
