"""What the audit log records about one event: the one declaration of an audit entry's fields.

The audit projection writes these fields (plus the tenant, which the row-level security of the
store needs) and the audit query returns them; both derive from ``AuditRecord`` so the row and
the view cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec


class AuditRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One event with who caused it, from where and why, as the audit log keeps it."""

    position: int
    event_id: str
    event_type: str
    aggregate_type: str
    aggregate_id: UUID
    aggregate_version: int
    actor_id: UUID | None
    actor_role: str | None
    client_ip: str | None
    correlation_id: str | None
    causation_id: str | None
    recorded_at: datetime
    data: dict[str, Any]
