"""The auto no-show's safety net: calls that outlived their queue's delay, found on the read
side and expired by the system.

The notifier schedules each call's delayed ``expire_call`` when it reads ``Ticket.Called``, but
a call it never read (made while no notifier ran, or before a new consumer group's start time)
is never scheduled. The worker's sweep finds every called ticket whose ``called_at`` plus its
queue's ``auto_no_show_minutes`` has passed and runs the same command. ``expire_call`` is its
own guard: a ticket started, finished or called again since is refused (and left alone), and
two runs racing (the sweep and a delayed job) lose one save on the ticket's version, so a
ticket is marked once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import structlog

from application.context import CommandContext
from application.views import TicketView
from domain.errors import Conflict, NotFound

log = structlog.get_logger(__name__)

SWEEP_BATCH = 200
"""The most overdue calls one round expires; the next round takes the rest."""


@dataclass(frozen=True)
class OverdueCall:
    """A ticket still called after its queue's auto no-show delay, as the read side shows it."""

    tenant_id: UUID
    ticket_id: UUID
    called_at: datetime


class OverdueCalls(Protocol):
    """Every tenant's called tickets past their delay, oldest call first (the tickets and
    directory read models, in ``infrastructure/read_models``)."""

    def overdue(self, now: datetime, limit: int) -> list[OverdueCall]: ...


class ExpiresCalls(Protocol):
    """The command the sweep runs (``application.tickets.Tickets``)."""

    def expire_call(
        self, context: CommandContext, ticket_id: UUID, called_at: datetime
    ) -> TicketView: ...


class CallExpiry:
    """Marks no-show every overdue call the read side shows; see the module docstring."""

    def __init__(
        self,
        calls: OverdueCalls,
        tickets: ExpiresCalls,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = SWEEP_BATCH,
    ) -> None:
        self.calls = calls
        self.tickets = tickets
        self.clock = clock
        self.batch = batch

    def sweep(self) -> int:
        """One round: expire each overdue call, with the system as actor; how many tickets
        it marked no-show (a call moved on since the read side saw it is left alone)."""
        marked = 0
        for call in self.calls.overdue(self.clock(), self.batch):
            context = CommandContext.system(call.tenant_id, "auto-no-show-sweep")
            try:
                self.tickets.expire_call(context, call.ticket_id, call.called_at)
            except (Conflict, NotFound) as refused:  # started, recalled, or marked already
                log.info("auto_no_show.sweep", ticket_id=str(call.ticket_id), outcome=str(refused))
                continue
            marked += 1
            log.info("auto_no_show.sweep", ticket_id=str(call.ticket_id), outcome="no_show")
        return marked
