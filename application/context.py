"""Who asked for a command, from where, and why: stamped on every event it produces."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from uuid import UUID, uuid4

import msgspec

from domain.access import check_can_grant

# Correlation and causation ids end up in immutable event metadata, the audit log and Kafka
# headers: only short opaque tokens may, so a client cannot make megabytes (or personal data in a
# long free text) permanent and un-erasable.
MAX_TOKEN_LENGTH = 64
_TOKEN = re.compile(rf"[A-Za-z0-9._-]{{1,{MAX_TOKEN_LENGTH}}}")


def is_safe_token(value: str | None) -> bool:
    """True for 1 to 64 characters of ``[A-Za-z0-9._-]``: what an id from a client may be."""
    return value is not None and _TOKEN.fullmatch(value) is not None


def new_correlation_id() -> str:
    """A fresh correlation id (32 hex digits)."""
    return uuid4().hex


def _ip_or_none(value: str | None) -> str | None:
    # The address may come from a forwarding header: keep it only if it is an address at all.
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class CommandContext(msgspec.Struct, frozen=True, kw_only=True):
    """The metadata every event carries; the audit log is a projection of it."""

    tenant_id: UUID | None
    actor_id: UUID | None = None
    actor_role: str = "system"
    client_ip: str | None = None
    correlation_id: str = msgspec.field(default_factory=new_correlation_id)
    causation_id: str | None = None
    actor_scopes: frozenset[str] | None = None
    """What the actor may do; commands that give or touch rights check it. ``None`` is the
    system (the operator's command line, a tenant's first admin), which may grant anything.
    Not part of the events' metadata."""
    side_writes: tuple[Any, ...] = ()
    """Side writes (``application.ports.SideWrite``) saved with every save of the command, in
    the events' transaction: the HTTP layer marks the request's Idempotency-Key applied so."""

    def __post_init__(self) -> None:
        # The last gate before values become immutable metadata: whatever a caller passed, only
        # short tokens and real addresses are stamped (a bad correlation id gets a new one).
        if not is_safe_token(self.correlation_id):
            msgspec.structs.force_setattr(self, "correlation_id", new_correlation_id())
        if self.causation_id is not None and not is_safe_token(self.causation_id):
            msgspec.structs.force_setattr(self, "causation_id", None)
        if self.client_ip is not None:
            msgspec.structs.force_setattr(self, "client_ip", _ip_or_none(self.client_ip))

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

    def check_can_grant(self, *scope_sets: frozenset[str]) -> None:
        """Raise ``NotPermitted`` unless the actor holds every scope in ``scope_sets``."""
        if self.actor_scopes is not None:
            check_can_grant(self.actor_scopes, *scope_sets)

    @classmethod
    def system(cls, tenant_id: UUID | None, reason: str = "cli") -> CommandContext:
        """Context of a command issued by the operator's command line or a timed job."""
        return cls(tenant_id=tenant_id, actor_role="system", causation_id=reason)


def metadata_of(domain_event: object) -> dict[str, str | None]:
    """The metadata stamped on a stored event (empty for events recorded without a context)."""
    return dict(getattr(domain_event, "metadata", None) or {})
