"""Which tenant an event belongs to: one rule for every reader of the log.

The audit log, the tickets read model and the Kafka event contract all file an event under a
tenant; they share this rule so that a tenant's events land in the same place everywhere.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol


def tenant_of(event: DomainEventProtocol[Any], metadata: dict[str, Any]) -> UUID | None:
    """The tenant an event belongs to: from its metadata, else from the event itself (a tenant
    is created before any context names it, and a tenant owns itself)."""
    if metadata.get("tenant_id"):
        return UUID(metadata["tenant_id"])
    explicit = getattr(event, "tenant_id", None)
    if isinstance(explicit, UUID):
        return explicit
    if type(event).__qualname__.startswith("Tenant."):
        return event.originator_id
    return None
