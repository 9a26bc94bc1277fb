"""The audit log: every event, with who caused it, from where and why.

It is a projection of the metadata that ``save_in_context`` stamps on each event, not a second
write: an audit row cannot exist for a change that did not happen, nor be missing for one that
did.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, ClassVar, Protocol
from uuid import UUID

from domain.audit import AuditRecord
from domain.ownership import tenant_of
from projections.base import Handler, Projection

# Attributes every stored event has; the row keeps them in their own columns, not in ``data``.
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "metadata"})


class AuditEntry(AuditRecord, frozen=True, kw_only=True):
    """One row of the audit log: the recorded fields and the tenant the row belongs to."""

    tenant_id: UUID | None


class AuditLogView(Protocol):
    """Where audit entries go (PostgreSQL in production, a list in unit tests)."""

    def append(self, entry: AuditEntry) -> None:
        """Add ``entry``; called once per event, in log order."""


# Exact types that are JSON already, or nearly: most event attributes. Checked first because a
# rebuild calls ``jsonable`` on every attribute of every event (subclasses, such as enums, still
# take the general path below).
PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types, so the event's data can be stored and compared."""
    kind = type(value)
    if kind in PLAIN_TYPES:
        return value
    if kind is UUID:
        return str(value)
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(item) for item in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, UUID | datetime | date | Decimal):
        return value.isoformat() if isinstance(value, datetime | date) else str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if hasattr(value, "__dict__"):
        return jsonable(vars(value))
    if hasattr(value, "__struct_fields__"):
        return {name: jsonable(getattr(value, name)) for name in value.__struct_fields__}
    return str(value)


def _uuid(value: str | None) -> UUID | None:
    return UUID(value) if value else None


def _record(projection: AuditLogProjection, event: Any, position: int, view: AuditLogView) -> None:
    metadata = dict(getattr(event, "metadata", None) or {})
    aggregate_type, _, event_type = type(event).__qualname__.rpartition(".")
    data = {key: value for key, value in vars(event).items() if key not in ENVELOPE}
    view.append(
        AuditEntry(
            position=position,
            tenant_id=tenant_of(event, metadata),
            # Aggregate id and version identify an event uniquely and stably across rebuilds.
            event_id=f"{event.originator_id}:{event.originator_version}",
            event_type=type(event).__qualname__,
            aggregate_type=aggregate_type or event_type,
            aggregate_id=event.originator_id,
            aggregate_version=event.originator_version,
            actor_id=_uuid(metadata.get("actor_id")),
            actor_role=metadata.get("actor_role"),
            client_ip=metadata.get("client_ip"),
            correlation_id=metadata.get("correlation_id"),
            causation_id=metadata.get("causation_id"),
            recorded_at=event.timestamp,
            data=jsonable(data),
        )
    )


class AuditLogProjection(Projection[AuditLogView]):
    """Records every event: the audit log has no event it ignores."""

    name: ClassVar[str] = "audit_log"

    def fallback(self) -> Handler:
        return _record

    def tables(self) -> tuple[str, ...]:
        return ("audit_log",)
