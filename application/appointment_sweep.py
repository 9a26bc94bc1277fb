"""The appointment no-show's safety net: live appointments whose check-in window has closed,
found on the read side and marked no-show by the system.

Each booking and move sends a delayed job that marks its appointment no-show when its window
closes (``infrastructure/jobs/appointment_no_show.py``), but a job can be lost: Redis flushed,
its retries spent. The worker's sweep lists the live appointments (booked or rescheduled) whose
start has passed, from the appointments read model, and runs the same command,
``CheckIns.mark_no_show``, which is its own guard: it refuses an appointment whose window is
still open (its service's ``late_minutes`` are the write model's), one checked in, cancelled or
marked since the read model saw it; two runs racing (the sweep and a delayed job) lose one save
on the appointment's version. So an appointment is marked once, at most one sweep interval (plus
the projection's lag) after its window closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import structlog

from application.appointment_views import AppointmentView
from application.context import CommandContext
from domain.errors import Conflict, NotFound

log = structlog.get_logger(__name__)

SWEEP_BATCH = 200
"""The most appointments one round looks at, earliest start first; the next round takes the
rest."""


@dataclass(frozen=True)
class PastAppointment:
    """A live appointment whose start has passed, as the read side shows it."""

    tenant_id: UUID
    appointment_id: UUID


class PastAppointments(Protocol):
    """Every tenant's live appointments whose start is at or before ``now``, earliest first
    (the appointments read model)."""

    def past_start(self, now: datetime, limit: int) -> list[PastAppointment]: ...


class MarksNoShows(Protocol):
    """The command the sweep runs (``application.check_in.CheckIns``)."""

    def mark_no_show(self, context: CommandContext, appointment_id: UUID) -> AppointmentView: ...


class AppointmentNoShowSweep:
    """Marks no-show every appointment the read side shows live past its window."""

    def __init__(
        self,
        appointments: PastAppointments,
        check_ins: MarksNoShows,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        batch: int = SWEEP_BATCH,
    ) -> None:
        self.appointments = appointments
        self.check_ins = check_ins
        self.clock = clock
        self.batch = batch

    def sweep(self) -> int:
        """One round, with the system as actor; how many appointments it marked no-show (one
        whose window is still open, or that moved on since the read side saw it, is left)."""
        marked = 0
        for past in self.appointments.past_start(self.clock(), self.batch):
            context = CommandContext.system(past.tenant_id, "appointment-no-show-sweep")
            appointment_id = str(past.appointment_id)
            try:
                self.check_ins.mark_no_show(context, past.appointment_id)
            except (Conflict, NotFound) as refused:  # window open, checked in, or marked
                log.debug(
                    "appointment_no_show.sweep", appointment_id=appointment_id, outcome=str(refused)
                )
                continue
            marked += 1
            log.info("appointment_no_show.sweep", appointment_id=appointment_id, outcome="no_show")
        return marked
