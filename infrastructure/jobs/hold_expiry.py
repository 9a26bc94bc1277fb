"""Hold expiry: a place held for an online booker (``Schedule.PlaceHeld``) that was neither
booked nor released by its ``expires_at`` is recorded as expired (``Schedule.HoldReleased``
with ``expired=True``) by the system, so the availability read model frees it.

The hold sends an ``expire_slot_hold`` message with a dramatiq delay ending just after the hold
does, **before** its transaction commits (as ``appointment_no_show.py`` does): a hold that
commits has its job in Redis, and a job whose hold never committed finds nothing. Capacity
decisions already ignore an expired hold, so a late job never refuses a booking; it only tidies
the record and the read model.

The job runs ``Appointments.expire_hold``, which re-checks the state: a hold booked, released or
expired already records nothing. dramatiq delivers at least once; two runs racing lose one save
on the schedule's version, and the retry finds the hold gone, so the expiry is recorded once. A
run that comes early (clocks apart) sends itself again for the time left.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import dramatiq
import structlog

from application.context import CommandContext
from domain.booking import HoldStillLive
from domain.errors import NotFound
from infrastructure.jobs.timed import TimedJob

log = structlog.get_logger(__name__)

ACTOR = "expire_slot_hold"
MARGIN_MS = 500
"""Half a second past the hold's end: the command refuses a hold that is still live."""


class ExpiresHolds(Protocol):
    """The command the job runs (``application.appointments.Appointments``)."""

    def expire_hold(self, context: CommandContext, schedule_id: UUID, hold_id: UUID) -> bool: ...


class HoldExpiryJobs(TimedJob):
    """The ``expire_slot_hold`` actor on ``broker`` (the ``timed`` queue the other timed jobs
    share): schedules and runs the expiry of holds (the application's ``HoldExpiryScheduler``)."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        appointments: Callable[[], ExpiresHolds] | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(broker, ACTOR, self.expire_hold, clock)
        self.appointments = appointments
        """Gives the command (built lazily: the appointments context schedules through this
        object); ``None`` in a process that only schedules."""

    def schedule_hold_expiry(
        self, tenant_id: UUID, schedule_id: UUID, hold_id: UUID, at: datetime
    ) -> None:
        """Record the hold's expiry just after ``at`` (at once when that has passed)."""
        self.send_at(at, str(tenant_id), str(schedule_id), str(hold_id), margin_ms=MARGIN_MS)

    def expire_hold(self, tenant_id: str, schedule_id: str, hold_id: str) -> None:
        """The job: record the hold's expiry unless it was booked, released or expired since; a
        run that came early sends itself again for the time left."""
        if self.appointments is None:
            raise RuntimeError("this process schedules hold expiries but does not run them")
        started = time.monotonic()
        context = CommandContext.system(UUID(tenant_id), "hold-expiry")
        with structlog.contextvars.bound_contextvars(job=ACTOR, hold_id=hold_id):
            try:
                expired = self.appointments().expire_hold(context, UUID(schedule_id), UUID(hold_id))
                outcome = "expired" if expired else "skipped: no live hold"
            except HoldStillLive as early:
                self.schedule_hold_expiry(
                    UUID(tenant_id), UUID(schedule_id), UUID(hold_id), early.expires_at
                )
                outcome = "rescheduled"
            except NotFound as missing:
                outcome = f"skipped: {missing}"
            self.outcomes.append(outcome)
            log.info(
                "hold_expiry.job",
                tenant_id=tenant_id,
                outcome=outcome,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
