"""Tenants spread over event-store shards (docs/sharding.md): the shard map and the router.

Each shard is a whole SmartQueue database (events, write-side tables, read models) with its own
:class:`~infrastructure.container.Container`. The map, in the *directory* shard's database, says
which shard holds a tenant; it is written once, when the tenant is created, and cached after its
first read. A command touches one tenant, so one shard and one transaction: use cases run
unchanged on the container the router hands out. Followers (projections, relay) run per shard,
each over its own database's log, exactly as over a single database.

What is built: the map, placing a tenant on the least-loaded shard (or a named one) with its slug
unique across all shards, and routing by tenant id or slug. What is not: the HTTP layer and the
background roles still build one container from ``DATABASE_URL``; wiring the router into them
is the next step (see the document).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from application.context import CommandContext
from domain.errors import DuplicateResource, ResourceNotFound
from domain.tenancy import Tenant
from infrastructure.container import Container
from infrastructure.postgres.tables import tenant_shards


class ShardMap:
    """Tenant → shard name, in the directory database; each answer is cached (a tenant never
    changes shard while the system runs: a move is offline)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: dict[UUID, str] = {}
        self._lock = threading.Lock()

    def place(self, tenant_id: UUID, slug: str, shard: str) -> None:
        """Record that ``shard`` holds the tenant; ``DuplicateResource`` if its slug (or id) is
        already placed, on whatever shard."""
        row = {"tenant": tenant_id, "slug": slug, "shard": shard, "placed_at": datetime.now(UTC)}
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(tenant_shards).values(**row))
        except IntegrityError as error:
            raise DuplicateResource(f"tenant slug {slug!r} is already taken") from error
        with self._lock:
            self._cache[tenant_id] = shard

    def forget(self, tenant_id: UUID) -> None:
        """Remove a placement whose tenant was never created (its creation failed)."""
        with self.engine.begin() as connection:
            connection.execute(delete(tenant_shards).where(tenant_shards.c.tenant == tenant_id))
        with self._lock:
            self._cache.pop(tenant_id, None)

    def shard_of(self, tenant_id: UUID) -> str | None:
        """The tenant's shard, or None for a tenant placed nowhere."""
        with self._lock:
            cached = self._cache.get(tenant_id)
        if cached is not None:
            return cached
        with self.engine.connect() as connection:
            shard = connection.execute(
                select(tenant_shards.c.shard).where(tenant_shards.c.tenant == tenant_id)
            ).scalar_one_or_none()
        if shard is not None:
            with self._lock:
                self._cache[tenant_id] = shard
        return shard

    def tenants_by_shard(self) -> dict[str, int]:
        """How many tenants each shard holds (shards holding none are absent)."""
        query = select(tenant_shards.c.shard, func.count()).group_by(tenant_shards.c.shard)
        with self.engine.connect() as connection:
            return {shard: count for shard, count in connection.execute(query).all()}


class ShardRouter:
    """Hands out the container of a tenant's shard; creates tenants on the least-loaded one.

    Platform-level aggregates (the platform's directory of tenants) live on the directory shard
    only: each shard writing its own copy of the one platform aggregate would publish two events
    with one event id (the two-shard test found it)."""

    def __init__(
        self, shards: Mapping[str, Container], shard_map: ShardMap, directory: str | None = None
    ) -> None:
        if not shards:
            raise ValueError("a router needs at least one shard")
        self.shards = dict(shards)
        self.map = shard_map
        self.directory = directory or next(iter(self.shards))
        """The shard holding the map and the platform directory (the first, unless named)."""

    def create_tenant(
        self, context: CommandContext, slug: str, name: str, shard: str | None = None
    ) -> UUID:
        """Place the tenant (on ``shard``, else the shard holding the fewest tenants), then
        create it there. The placement comes first, so two creations of one slug on two shards
        cannot both succeed; a creation that fails takes its placement back."""
        tenant_id = Tenant.create_id(Tenant.check_slug(slug))
        if shard is None:
            counts = self.map.tenants_by_shard()
            shard = min(self.shards, key=lambda name: (counts.get(name, 0), name))
        elif shard not in self.shards:
            raise ValueError(f"no shard named {shard!r}; shards: {sorted(self.shards)}")
        self.map.place(tenant_id, slug, shard)
        try:
            self.shards[shard].tenancy.create_tenant(context, slug, name, listed=False)
        except Exception:
            self.map.forget(tenant_id)
            raise
        # The one platform directory lives on the directory shard: listing it there (once, and
        # again harmlessly after a crash between the two) keeps its events in one log.
        self.shards[self.directory].tenancy.list_on_platform(context, tenant_id)
        return tenant_id

    def shard_of(self, tenant_id: UUID) -> str:
        """The name of the tenant's shard (``ResourceNotFound`` for an unknown tenant)."""
        shard = self.map.shard_of(tenant_id)
        if shard is None or shard not in self.shards:
            raise ResourceNotFound(f"no tenant {tenant_id} on any shard")
        return shard

    def for_tenant(self, tenant_id: UUID) -> Container:
        """The container of the tenant's shard: every use case of the tenant runs on it."""
        return self.shards[self.shard_of(tenant_id)]

    def for_slug(self, slug: str) -> Container:
        """The same, from the slug in a URL (the tenant id derives from it)."""
        return self.for_tenant(Tenant.create_id(slug))
