"""Staff users: invite them, change their name, role or extra scopes, deactivate them."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.identity import Identity, Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.tenancy import Tenancy
from application.views import UserView
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import UserCreate, UserPatch, given
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404)
WRITE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)


class UserController(Controller):
    """Admins, managers and agents of the tenant.

    Whoever creates or changes a user must hold every scope that user has and will have (403
    ``not_permitted`` otherwise), and the tenant always keeps an active admin (409
    ``last_admin``).
    """

    path = f"{TENANT_PATH}/users"
    tags = ["users"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listUsers",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422),
        **scoped("users:read"),
    )
    def list_users(
        self,
        tenancy: UseCase[Tenancy],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[UserView]:
        """A page of the tenant's staff users, oldest first."""
        page = tenancy.list_users(member.tenant_id, page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createUser",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("users:manage"),
    )
    def create_user(
        self,
        identity: UseCase[Identity],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[UserCreate],
    ) -> UserView:
        """Create a staff user with a password; agents may get their queues at once."""
        return identity.create_user(
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
    def get_user(
        self,
        tenancy: UseCase[Tenancy],
        request: Request,
        member: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> UserView:
        """One staff user."""
        return tenancy.get_user(member.tenant_id, user_id)

    @patch(
        "/{user_id:uuid}",
        operation_id="updateUser",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("users:manage"),
    )
    def update_user(
        self,
        identity: UseCase[Identity],
        request: Request,
        member: NamedDependency[Principal],
        user_id: FromPath[UUID],
        data: JSONBody[UserPatch],
    ) -> UserView:
        """Change a user's name, role or extra scopes (``scopes`` replaces the list); ``{}``
        changes nothing."""
        return identity.change_user(
            command_context(request, member),
            user_id,
            name=given(data.name),
            role=given(data.role),
            scopes=given(data.scopes),
        )

    @post(
        "/{user_id:uuid}/deactivate",
        operation_id="deactivateUser",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("users:manage"),
    )
    def deactivate(
        self,
        identity: UseCase[Identity],
        request: Request,
        member: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> UserView:
        """The user can no longer sign in or act; refused while they hold a ticket, and for the
        tenant's last active admin."""
        return identity.deactivate_user(command_context(request, member), user_id)

    @post(
        "/{user_id:uuid}/reactivate",
        operation_id="reactivateUser",
        status_code=200,
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("users:manage"),
    )
    def reactivate(
        self,
        identity: UseCase[Identity],
        request: Request,
        member: NamedDependency[Principal],
        user_id: FromPath[UUID],
    ) -> UserView:
        """The user may sign in again, with the role and scopes they had."""
        return identity.reactivate_user(command_context(request, member), user_id)
