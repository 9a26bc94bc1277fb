"""Ticket queries served by the tickets read model: one ticket with its position, and lists.

Commands keep answering with their write-side view (the ticket as the command left it); these
queries read the projection and so trail commands by its lag.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from application.ports import WaitEstimator
from application.views import TicketView
from domain.errors import InvalidInput, TicketNotFound
from domain.tickets import TicketStatus

INVALID_CURSOR = "cursor is not valid; pass the cursor of the previous page"
STATUSES = tuple(status.value for status in TicketStatus)


def parse_statuses(values: Iterable[str]) -> frozenset[str]:
    """The statuses named by repeated and/or comma-separated values; :class:`InvalidInput` names
    any that is not one of the seven."""
    statuses = {part.strip() for value in values for part in value.split(",") if part.strip()}
    unknown = sorted(statuses - set(STATUSES))
    if unknown:
        raise InvalidInput(
            f"unknown status {', '.join(map(repr, unknown))}; expected any of {', '.join(STATUSES)}"
        )
    return frozenset(statuses)


@dataclass(frozen=True)
class TicketFilter:
    """Which tickets: every given condition holds (``since`` inclusive, ``until`` exclusive, both
    on the issue time). An empty ``statuses`` means any status."""

    statuses: frozenset[str] = field(default_factory=frozenset)
    queue_id: UUID | None = None
    service_id: UUID | None = None
    agent_id: UUID | None = None
    customer_id: UUID | None = None
    site_id: UUID | None = None
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        parse_statuses(self.statuses)
        if self.since and self.until and self.since >= self.until:
            raise InvalidInput("since must be earlier than until")


@dataclass(frozen=True)
class ListKey:
    """Where a ticket stands in lists (newest first): its issue time, then its id."""

    issued_at: datetime
    ticket_id: UUID

    def cursor(self) -> str:
        """The cursor of the page after this ticket."""
        return encode_cursor(msgspec.json.encode(self).decode())

    @classmethod
    def after(cls, page: PageRequest) -> ListKey | None:
        """The key a page's cursor stands at (tickets sorting after it come next), if any."""
        if page.cursor is None:
            return None
        try:
            return msgspec.json.decode(decode_cursor(page.cursor), type=cls)
        except msgspec.DecodeError:
            raise InvalidInput(INVALID_CURSOR) from None


class TicketRecords(Protocol):
    """The tickets read model's query side (PostgreSQL, under the tenant's row-level security).

    Views carry ``position`` (computed under the queue's current policy) and no ETA: the
    queries add it."""

    def find(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        """``tenant_id``'s ticket, or ``None`` (also for another tenant's)."""

    def search(self, tenant_id: UUID, where: TicketFilter, page: PageRequest) -> Page[TicketView]:
        """A page of ``tenant_id``'s tickets matching ``where``, newest first."""


class TicketQueries:
    """``GET tickets/`` and ``GET tickets/{id}/``: the read model, plus an ETA for one ticket."""

    def __init__(self, records: TicketRecords, estimator: WaitEstimator) -> None:
        self.records = records
        self.estimator = estimator

    def get_ticket(self, tenant_id: UUID, ticket_id: UUID) -> TicketView:
        """A ticket with its status, its position and ETA when waiting."""
        ticket = self.records.find(tenant_id, ticket_id)
        if ticket is None:
            raise TicketNotFound(f"no ticket with id {ticket_id}")
        return self.with_eta(tenant_id, ticket)

    def with_eta(self, tenant_id: UUID, ticket: TicketView) -> TicketView:
        """``ticket`` with the estimator's ETA when it waits (also used on the write side's
        answers to issue and transfer, so a ticket's ETA has one source)."""
        return self.with_etas(tenant_id, [ticket])[0]

    def with_etas(self, tenant_id: UUID, tickets: Sequence[TicketView]) -> list[TicketView]:
        """``tickets`` with their ETAs, the waiting ones estimated together: from the same
        facts, so a ticket shows the same number here as alone in :meth:`with_eta`."""
        waiting = [ticket for ticket in tickets if ticket.position is not None]
        etas = self.estimator.estimate_all(
            tenant_id, [(ticket.queue_id, ticket.position) for ticket in waiting]
        )
        by_id = {ticket.id: eta for ticket, eta in zip(waiting, etas, strict=True)}
        return [
            msgspec.structs.replace(ticket, eta_seconds=by_id[ticket.id])
            if ticket.id in by_id
            else ticket
            for ticket in tickets
        ]

    def list_tickets(
        self, tenant_id: UUID, where: TicketFilter, page: PageRequest | None = None
    ) -> Page[TicketView]:
        """A page of tickets matching ``where``, newest first: waiting ones with their
        position and ETA (one read of the estimator's facts for the whole page)."""
        found = self.records.search(tenant_id, where, page or PageRequest())
        return Page(self.with_etas(tenant_id, found.items), found.next_cursor)
