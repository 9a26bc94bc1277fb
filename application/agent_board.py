"""The agent board: who is available, busy or paused, at which counter, serving which ticket.

A read model (written by the agent board projection), so it trails commands by the projection's
lag. It is a whole-tenant snapshot for managers and hall displays, not a paginated list: a branch
has tens of agents, not thousands.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

import msgspec

from domain.agents import AgentStatus


@dataclass(frozen=True)
class BoardFilter:
    """Which agents: those serving a queue of ``site_id``, serving ``queue_id`` (assigned to it
    or holding one of its tickets), in ``status``, the one agent ``agent_id``; all the given
    conditions hold."""

    site_id: UUID | None = None
    queue_id: UUID | None = None
    status: str | None = None
    agent_id: UUID | None = None

    def __post_init__(self) -> None:
        if self.status is not None:
            AgentStatus.parse(self.status)  # InvalidInput naming the known statuses


class BoardTicket(msgspec.Struct, kw_only=True):
    """The ticket an agent holds."""

    id: UUID
    number: str | None
    queue_id: UUID | None
    status: str | None
    """``called``, ``serving`` or ``paused``."""
    called_at: datetime | None
    """When the agent called it (a recall does not change it)."""


class BoardEntry(msgspec.Struct, kw_only=True):
    """One agent on the board."""

    agent_id: UUID
    user_id: UUID
    name: str
    status: str
    status_since: datetime
    counter: str | None
    queue_ids: list[UUID]
    ticket: BoardTicket | None
    served_today: int
    """Tickets this agent completed today (site-local day)."""


class AgentBoard(Protocol):
    """The board's query side (PostgreSQL, under the tenant's row-level security)."""

    def board(self, tenant_id: UUID, where: BoardFilter) -> list[BoardEntry]:
        """``tenant_id``'s agents matching ``where``, in :func:`board_order`."""


_NUMBER = re.compile(r"(\d+)")


def board_order(entry: BoardEntry) -> tuple:
    """Counters in natural order ("2" before "10"), agents without a counter last, then name."""
    counter = entry.counter
    parts = tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part.casefold())
        for part in _NUMBER.split(counter or "")
        if part
    )
    return (counter is None, parts, entry.name.casefold(), str(entry.agent_id))
