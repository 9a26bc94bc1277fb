"""The platform: the directory of tenants, administered by platform administrators.

Platform administrators are staff users whose tenant is the platform itself; they manage tenants and
nothing inside them.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

PLATFORM_ID = uuid5(NAMESPACE_URL, "smartqueue:platform")


class Platform(Aggregate):
    """The one directory of tenants, in the order they were created."""

    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        """There is one platform."""
        return PLATFORM_ID

    @event("Created")
    def __init__(self) -> None:
        self.tenant_ids: list[UUID] = []

    def add_tenant(self, tenant_id: UUID) -> None:
        """Record a new tenant in the directory."""
        self._tenant_added(tenant_id=tenant_id)

    @event("TenantAdded")
    def _tenant_added(self, tenant_id: UUID) -> None:
        self.tenant_ids.append(tenant_id)
