"""Tenancy: the platform's tenants and each tenant's staff users.

Sites and services, the tenant's catalogue, are in ``application.catalogue``.
"""

from __future__ import annotations

from uuid import UUID

import msgspec
from eventsourcing.domain import Aggregate

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, map_page, paginate
from application.views import TenantView, UserView
from domain.agents import Agent
from domain.errors import AgentBusy, DuplicateResource, ResourceNotFound
from domain.platform import PLATFORM_ID, Platform
from domain.tenancy import Role, StaffUser, Tenant, check_name


class Tenancy:
    """Tenants and their staff. The Tenant aggregate doubles as their directory and counts the
    active admins, so "never leave a tenant without an admin" holds under concurrent changes:
    two admins demoting each other both save the tenant, and the second one retries and loses.

    Whoever creates or changes a user must hold every scope that user has and will have
    (``CommandContext.check_can_grant``); the system context (operators, the command line) may
    grant anything.
    """

    def __init__(self, store: SmartQueue) -> None:
        self.store = store

    # -- tenants ----------------------------------------------------------------------------------

    @retry_on_conflict
    def create_tenant(
        self, context: CommandContext, slug: str, name: str, *, listed: bool = True
    ) -> UUID:
        """Create a tenant; its slug is unique across the platform. ``listed=False`` leaves it
        out of this store's platform directory: a tenant of a shard other than the directory's,
        which the shard router lists there (:meth:`list_on_platform`, docs/sharding.md), so the
        one platform aggregate's events are never written by two shards."""
        tenant = Tenant(slug=Tenant.check_slug(slug), name=check_name(name, "tenant"))
        if self.store.find(Tenant, tenant.id) is not None:
            raise DuplicateResource(f"tenant slug {slug!r} is already taken")
        changed: list[Aggregate] = [tenant]
        if listed:
            platform = self.store.find(Platform, PLATFORM_ID) or Platform()
            platform.add_tenant(tenant.id)
            changed.append(platform)
        # The tenant and its directory entry commit together; a second creation of the same slug
        # loses the race on the tenant's version and is retried, then refused as a duplicate.
        self.store.save_in_context(msgspec.structs.replace(context, tenant_id=tenant.id), *changed)
        return tenant.id

    @retry_on_conflict
    def list_on_platform(self, context: CommandContext, tenant_id: UUID) -> None:
        """Add a tenant created in another store (shard) to this store's platform directory;
        nothing if it is listed already."""
        platform = self.store.find(Platform, PLATFORM_ID) or Platform()
        if tenant_id not in platform.tenant_ids:
            platform.add_tenant(tenant_id)
            self.store.save_in_context(context, platform)

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
        self.store.save_in_context(context, user)
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
        tenant = self.store.find(Tenant, tenant_id)
        if tenant is None:
            raise ResourceNotFound(f"no tenant with id {tenant_id}")
        return TenantView(id=tenant.id, slug=tenant.slug, name=tenant.name)

    def list_tenants(self, page: PageRequest) -> Page[TenantView]:
        """Tenants in the order they were created."""
        platform = self.store.find(Platform, PLATFORM_ID)
        ids = platform.tenant_ids if platform is not None else []
        chosen = paginate(ids, str, page)
        return Page([self.get_tenant(tenant_id) for tenant_id in chosen.items], chosen.next_cursor)

    # -- staff users ------------------------------------------------------------------------------

    @retry_on_conflict
    def register_user(
        self, context: CommandContext, user_id: UUID, email: str, name: str, role: str
    ) -> UserView:
        """Record a staff user and the agent profile that lets them serve tickets.

        The caller (identity) has already reserved the email and stored the password hash.
        """
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        user = StaffUser(
            id=user_id,
            tenant_id=tenant.id,
            email=email,
            name=check_name(name, "user"),
            role=Role.parse(role).value,
        )
        context.check_can_grant(user.all_scopes)
        agent = Agent(user_id=user_id, tenant_id=tenant.id, name=user.name)
        tenant.add_user(user.id)
        _count_admin(tenant, user)
        self.store.save_in_context(context, tenant, user, agent)
        return user_view(user)

    @retry_on_conflict
    def change_user(
        self,
        context: CommandContext,
        user_id: UUID,
        *,
        name: str | None = None,
        role: str | None = None,
        scopes: list[str] | None = None,
    ) -> UserView:
        """Rename a user, change their role or replace their extra scopes (``None`` keeps one).

        Refused with ``LastAdmin`` if it would demote the tenant's last active admin.
        """
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        user = self.store.load(StaffUser, user_id, tenant.id, ResourceNotFound)
        before = user.all_scopes
        changed: list = [tenant, user]
        if name is not None:
            user.rename(name)
            agent = self.store.find(Agent, Agent.create_id(user.id))
            if agent is not None:
                agent.rename(user.name)
                changed.append(agent)
        if role is not None:
            user.change_role(role)
        if scopes is not None:
            user.grant_scopes(scopes)
        context.check_can_grant(before, user.all_scopes)
        _count_admin(tenant, user)
        self.store.save_in_context(context, *changed)
        return user_view(user)

    @retry_on_conflict
    def deactivate_user(self, context: CommandContext, user_id: UUID) -> UserView:
        """The user can no longer act; their agent profile goes offline.

        Refused while they hold a ticket (it would be stranded) and for the last active admin.
        """
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        user = self.store.load(StaffUser, user_id, tenant.id, ResourceNotFound)
        context.check_can_grant(user.all_scopes)
        user.deactivate()
        changed: list = [tenant, user]
        agent = self.store.find(Agent, Agent.create_id(user.id))
        if agent is not None:
            if agent.current_ticket_id is not None:
                raise AgentBusy(
                    f"{user.name} holds ticket {agent.current_ticket_id}; "
                    "close or transfer it before deactivating the user"
                )
            agent.set_status("offline", self.store.clock())
            changed.append(agent)
        _count_admin(tenant, user)
        self.store.save_in_context(context, *changed)
        return user_view(user)

    @retry_on_conflict
    def reactivate_user(self, context: CommandContext, user_id: UUID) -> UserView:
        """The user may act again, with the role and scopes they had; their agent stays offline
        until they set a status."""
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        user = self.store.load(StaffUser, user_id, tenant.id, ResourceNotFound)
        context.check_can_grant(user.all_scopes)
        user.reactivate()
        _count_admin(tenant, user)
        self.store.save_in_context(context, tenant, user)
        return user_view(user)

    def get_user(self, tenant_id: UUID, user_id: UUID) -> UserView:
        """One staff user of the tenant."""
        return user_view(self.store.load(StaffUser, user_id, tenant_id, ResourceNotFound))

    def list_users(self, tenant_id: UUID, page: PageRequest | None = None) -> Page[UserView]:
        """A page of the tenant's staff users, oldest first."""
        tenant = self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        ids = paginate(tenant.user_ids, str, page or PageRequest())
        return map_page(ids, lambda user_id: self.get_user(tenant_id, user_id))


def _count_admin(tenant: Tenant, user: StaffUser) -> None:
    """Keep the tenant's set of active admins in step with the user (may raise LastAdmin)."""
    if user.is_active_admin:
        tenant.add_admin(user.id)
    else:
        tenant.remove_admin(user.id)


def user_view(user: StaffUser) -> UserView:
    """What clients see of a staff user: no secret, ever."""
    return UserView(
        id=user.id,
        email=user.email,
        name=user.name,
        role=user.role,
        scopes=list(user.scopes),
        active=user.active,
        tenant_id=user.tenant_id,
    )
