"""Who did what: querying the audit log (a read model written by the audit projection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from domain.audit import AuditRecord
from domain.errors import InvalidInput


@dataclass(frozen=True)
class AuditFilter:
    """Which entries: all the given conditions hold (``since`` inclusive, ``until`` exclusive)."""

    actor_id: UUID | None = None
    event_type: str | None = None
    aggregate_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("since must be earlier than until")


class AuditEntryView(AuditRecord, kw_only=True):
    """One event as the audit log shows it."""


class AuditLog(Protocol):
    """The audit log's query side (PostgreSQL, under the tenant's row-level security)."""

    def search(
        self, tenant_id: UUID, where: AuditFilter, page: PageRequest
    ) -> Page[AuditEntryView]:
        """A page of ``tenant_id``'s entries matching ``where``, newest first."""


def position_after(page: PageRequest) -> int | None:
    """The log position a cursor stands at (entries before it come next), if any."""
    if page.cursor is None:
        return None
    key = decode_cursor(page.cursor)
    if not key.isdigit():
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page")
    return int(key)


def position_cursor(position: int) -> str:
    """The cursor of the page after the entry at ``position``."""
    return encode_cursor(str(position))
