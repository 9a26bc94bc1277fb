"""Appointment no-show: a booked appointment nobody checked in by the end of its window (its
start plus the service's ``late_minutes``) is marked no-show by the system.

The booking and each move send a ``mark_appointment_no_show`` message with a dramatiq delay
ending when the window closes, **before** their transaction commits: a booking that commits has
its job in Redis (if Redis cannot take it, the booking fails with 503 and nothing is saved),
and a job whose booking never committed finds no appointment and does nothing. The delayed
message lives in Redis until its time comes, so it survives worker restarts (see
``timed.py``, the actor both timed jobs share). A job lost anyway (Redis flushed, retries
spent) is caught by the worker's sweep (``application.appointment_sweep``).

The job runs ``CheckIns.mark_no_show``, which re-checks the state: an appointment checked in,
cancelled, already marked, or moved to a later window (its move sent its own job) is refused
with a conflict, swallowed here. dramatiq delivers at least once and a retried booking sends a
job per attempt; two runs racing lose one save on the appointment's version, so it is marked
once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import dramatiq

from application.appointment_views import AppointmentView
from application.context import CommandContext
from infrastructure.jobs.timed import TimedJob

ACTOR = "mark_appointment_no_show"
MARGIN_MS = 1000
"""A second past the end of the window: the command refuses while it is still open."""


class MarksNoShows(Protocol):
    """The command the job runs (``application.check_in.CheckIns``)."""

    def mark_no_show(self, context: CommandContext, appointment_id: UUID) -> AppointmentView: ...


class AppointmentNoShowJobs(TimedJob):
    """The ``mark_appointment_no_show`` actor on ``broker``: schedules and runs the no-show of
    appointments (the application's ``NoShowScheduler``)."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        check_ins: MarksNoShows | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(broker, ACTOR, self.mark_no_show, clock)
        self.check_ins = check_ins
        """None in a process that only schedules."""

    def schedule_no_show(self, tenant_id: UUID, appointment_id: UUID, at: datetime) -> None:
        """Mark the appointment no-show just after ``at`` (at once when that has passed)."""
        self.send_at(at, str(tenant_id), str(appointment_id), margin_ms=MARGIN_MS)

    def mark_no_show(self, tenant_id: str, appointment_id: str) -> None:
        """The job: mark the appointment no-show unless it was checked in, cancelled, marked
        or moved since."""
        check_ins = self.check_ins
        if check_ins is None:
            raise RuntimeError("this process schedules appointment no-shows but does not run them")
        context = CommandContext.system(UUID(tenant_id), "appointment-no-show")
        self.run_command(
            "appointment_no_show.job",
            tenant_id,
            lambda: check_ins.mark_no_show(context, UUID(appointment_id)),
            appointment_id=appointment_id,
        )
