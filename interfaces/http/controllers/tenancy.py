"""The tenant's resources: sites, services, queues and staff users."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post

from application.identity import Principal
from application.views import QueueView, ServiceView, SiteView, UserView
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, problems
from interfaces.http.schemas import QueueCreate, ServiceCreate, SiteCreate, UserCreate
from interfaces.http.security import command_context, container_of, scoped

READ_ERRORS = problems(400, 401, 403, 404)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422)


class SiteController(Controller):
    """Physical locations."""

    path = f"{TENANT_PATH}/sites"
    tags = ["sites"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listSites",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("sites:read"),
    )
    def list_sites(self, request: Request, member: Principal) -> list[SiteView]:
        """Every site of the tenant."""
        return container_of(request).app.list_sites(member.tenant_id)

    @post(
        "/",
        operation_id="createSite",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("sites:manage"),
    )
    def create_site(self, request: Request, member: Principal, data: SiteCreate) -> SiteView:
        """Register a site with its IANA time zone."""
        return container_of(request).app.add_site(
            command_context(request, member), data.name, data.timezone
        )

    @get(
        "/{site_id:uuid}",
        operation_id="getSite",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("sites:read"),
    )
    def get_site(self, request: Request, member: Principal, site_id: UUID) -> SiteView:
        """One site."""
        return container_of(request).app.get_site(member.tenant_id, site_id)


class ServiceController(Controller):
    """What customers come for; the code prefixes ticket numbers."""

    path = f"{TENANT_PATH}/queues/services"
    tags = ["services"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listServices",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("queues:read"),
    )
    def list_services(self, request: Request, member: Principal) -> list[ServiceView]:
        """Every service of the tenant."""
        return container_of(request).app.list_services(member.tenant_id)

    @post(
        "/",
        operation_id="createService",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("services:manage"),
    )
    def create_service(
        self, request: Request, member: Principal, data: ServiceCreate
    ) -> ServiceView:
        """Register a service; its code is unique in the tenant."""
        return container_of(request).app.add_service(
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
    def get_service(self, request: Request, member: Principal, service_id: UUID) -> ServiceView:
        """One service."""
        return container_of(request).app.get_service(member.tenant_id, service_id)


class QueueController(Controller):
    """Waiting lines."""

    path = f"{TENANT_PATH}/queues"
    tags = ["queues"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listQueues",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("queues:read"),
    )
    def list_queues(self, request: Request, member: Principal) -> list[QueueView]:
        """Every queue of the tenant with its waiting count."""
        return container_of(request).app.list_queues(member.tenant_id)

    @post(
        "/",
        operation_id="createQueue",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("queues:manage"),
    )
    def create_queue(self, request: Request, member: Principal, data: QueueCreate) -> QueueView:
        """Open a queue at a site for some services, with a selection algorithm."""
        return container_of(request).app.open_queue(
            command_context(request, member),
            data.name,
            data.site_id,
            data.service_ids,
            data.algorithm,
        )

    @get(
        "/{queue_id:uuid}",
        operation_id="getQueue",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("queues:read"),
    )
    def get_queue(self, request: Request, member: Principal, queue_id: UUID) -> QueueView:
        """One queue."""
        return container_of(request).app.get_queue(member.tenant_id, queue_id)


class UserController(Controller):
    """Staff users: admins, managers and agents."""

    path = f"{TENANT_PATH}/users"
    tags = ["users"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listUsers",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("users:read"),
    )
    def list_users(self, request: Request, member: Principal) -> list[UserView]:
        """Every staff user of the tenant."""
        return container_of(request).app.list_users(member.tenant_id)

    @post(
        "/",
        operation_id="createUser",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("users:manage"),
    )
    def create_user(self, request: Request, member: Principal, data: UserCreate) -> UserView:
        """Create a staff user with a password; agents may get their queues at once."""
        return container_of(request).identity.create_user(
            command_context(request, member),
            data.email,
            data.password,
            data.name,
            data.role,
            queue_ids=data.queue_ids,
        )

    @get(
        "/{user_id:uuid}",
        operation_id="getUser",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("users:read"),
    )
    def get_user(self, request: Request, member: Principal, user_id: UUID) -> UserView:
        """One staff user."""
        return container_of(request).app.get_user(member.tenant_id, user_id)
