"""Auto no-show: a called ticket nobody started within its queue's delay becomes a no-show.

When the notifier reads ``Ticket.Called`` (or ``Ticket.Recalled``, which restarts the delay)
for a ticket whose queue has ``auto_no_show_minutes``, it sends an ``expire_call`` message
with a dramatiq delay ending that many minutes after the call. The delayed message lives in
Redis until its time comes, so it survives worker restarts: a worker holds a delayed message
unacknowledged and gives it back when it stops (or, when it dies, the broker's heartbeat
maintenance hands it to another worker).

The job runs the application's ``expire_call`` with the system as actor (the actor, its delay
and its summary line are ``timed.TimedJob``'s). dramatiq delivers at least once, and a called
ticket may be called again by several events, so the command is the guard: it refuses (409,
swallowed) a ticket no longer called, or called again since this call; two runs racing lose one
save on the ticket's version and the retry sees a no-show.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import dramatiq

from application.context import CommandContext
from application.views import TicketView
from infrastructure.jobs.timed import TimedJob

ACTOR = "expire_call"
SCHEDULED_EVENTS = frozenset({"Ticket.Called", "Ticket.Recalled"})
"""The ticket events that start an auto no-show delay."""


class ExpiresCalls(Protocol):
    """The command the job runs (``application.tickets.Tickets``)."""

    def expire_call(
        self, context: CommandContext, ticket_id: UUID, called_at: datetime
    ) -> TicketView: ...


class AutoNoShowJobs(TimedJob):
    """The ``expire_call`` actor on ``broker``: schedules and runs automatic no-shows."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        tickets: ExpiresCalls | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(broker, ACTOR, self.expire_call, clock)
        self.tickets = tickets
        """None in a process that only schedules (the notifier)."""

    def schedule(
        self, tenant_id: UUID, ticket_id: UUID, called_at: datetime, delay: timedelta
    ) -> None:
        """Expire the call of ``called_at`` once ``delay`` has passed since it (at once when it
        already has)."""
        self.send_at(called_at + delay, str(tenant_id), str(ticket_id), called_at.isoformat())

    def expire_call(self, tenant_id: str, ticket_id: str, called_at: str) -> None:
        """The job: mark the ticket no-show unless it moved on since the call (started,
        finished, recalled, or gone)."""
        tickets = self.tickets
        if tickets is None:
            raise RuntimeError("this process schedules auto no-shows but does not run them")
        context = CommandContext(tenant_id=UUID(tenant_id), actor_role="system")
        self.run_command(
            "auto_no_show.job",
            tenant_id,
            lambda: tickets.expire_call(
                context, UUID(ticket_id), datetime.fromisoformat(called_at)
            ),
            ticket_id=ticket_id,
        )
