"""Auto no-show: a called ticket nobody started within its queue's delay becomes a no-show.

When the notifier reads ``Ticket.Called`` (or ``Ticket.Recalled``, which restarts the delay)
for a ticket whose queue has ``auto_no_show_minutes``, it sends an ``expire_call`` message
with a dramatiq delay ending that many minutes after the call. The delayed message lives in
Redis until its time comes, so it survives worker restarts: a worker holds a delayed message
unacknowledged and gives it back when it stops (or, when it dies, the broker's heartbeat
maintenance hands it to another worker).

The job runs the application's ``expire_call`` with the system as actor. dramatiq delivers at
least once, and a called ticket may be called again by several events, so the command is the
guard: it refuses (409, swallowed here) a ticket no longer called, or called again since this
call; two runs racing lose one save on the ticket's version and the retry sees a no-show.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import dramatiq
import structlog

from application.context import CommandContext
from application.views import TicketView
from domain.errors import Conflict, NotFound

log = structlog.get_logger(__name__)

QUEUE = "timed"
ACTOR = "expire_call"
SCHEDULED_EVENTS = frozenset({"Ticket.Called", "Ticket.Recalled"})
"""The ticket events that start an auto no-show delay."""


class ExpiresCalls(Protocol):
    """The command the job runs (``application.tickets.Tickets``)."""

    def expire_call(
        self, context: CommandContext, ticket_id: UUID, called_at: datetime
    ) -> TicketView: ...


class AutoNoShowJobs:
    """The ``expire_call`` actor on ``broker``: schedules and runs automatic no-shows."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        tickets: ExpiresCalls | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.tickets = tickets
        """None in a process that only schedules (the notifier)."""
        self.clock = clock
        self.outcomes: list[str] = []  # what each run did, for tests and logs
        self.actor = dramatiq.Actor(
            self.expire_call,
            broker=broker,
            actor_name=ACTOR,
            queue_name=QUEUE,
            priority=0,
            options={"max_retries": 3},
        )

    def schedule(
        self, tenant_id: UUID, ticket_id: UUID, called_at: datetime, delay: timedelta
    ) -> None:
        """Expire the call of ``called_at`` once ``delay`` has passed since it (at once when it
        already has)."""
        remaining = called_at + delay - self.clock()
        milliseconds = max(0, int(remaining.total_seconds() * 1000))
        self.actor.send_with_options(
            args=(str(tenant_id), str(ticket_id), called_at.isoformat()), delay=milliseconds
        )

    def expire_call(self, tenant_id: str, ticket_id: str, called_at: str) -> None:
        """The job: mark the ticket no-show unless it moved on since the call."""
        if self.tickets is None:
            raise RuntimeError("this process schedules auto no-shows but does not run them")
        started = time.monotonic()
        context = CommandContext(tenant_id=UUID(tenant_id), actor_role="system")
        with structlog.contextvars.bound_contextvars(job=ACTOR, ticket_id=ticket_id):
            try:
                self.tickets.expire_call(
                    context, UUID(ticket_id), datetime.fromisoformat(called_at)
                )
                outcome = "no_show"
            except (Conflict, NotFound) as refused:  # started, finished, recalled, or gone
                outcome = f"skipped: {refused}"
            self.outcomes.append(outcome)
            log.info(
                "auto_no_show.job",
                tenant_id=tenant_id,
                outcome=outcome,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
