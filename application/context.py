"""Who asked for a command, from where, and why: stamped on every event it produces."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import msgspec


class CommandContext(msgspec.Struct, frozen=True, kw_only=True):
    """The metadata every event carries; the audit log is a projection of it."""

    tenant_id: UUID | None
    actor_id: UUID | None = None
    actor_role: str = "system"
    client_ip: str | None = None
    correlation_id: str = msgspec.field(default_factory=lambda: uuid4().hex)
    causation_id: str | None = None
    side_writes: tuple[Any, ...] = ()
    """Side writes (``application.ports.SideWrite``) saved with every save of the command, in
    the events' transaction: the HTTP layer marks the request's Idempotency-Key applied so."""

    def as_metadata(self) -> dict[str, str | None]:
        """Plain strings, so the metadata survives any transcoder unchanged."""
        return {
            "tenant_id": str(self.tenant_id) if self.tenant_id else None,
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "actor_role": self.actor_role,
            "client_ip": self.client_ip,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }

    @classmethod
    def system(cls, tenant_id: UUID | None, reason: str = "cli") -> CommandContext:
        """Context of a command issued by the operator's command line or a timed job."""
        return cls(tenant_id=tenant_id, actor_role="system", causation_id=reason)


def metadata_of(domain_event: object) -> dict[str, str | None]:
    """The metadata stamped on a stored event (empty for events recorded without a context)."""
    return dict(getattr(domain_event, "metadata", None) or {})
