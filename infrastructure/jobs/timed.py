"""What the timed jobs share: a dramatiq actor on the ``timed`` queue that runs one system
command at a moment, and treats the command's refusal as the normal end of a job whose work
was done or became moot meanwhile.

A timed job is sent with a dramatiq delay ending at its moment; the delayed message lives in
Redis until then, so it survives worker restarts (a worker gives an unacknowledged delayed
message back when it stops; when it dies, the broker's heartbeat maintenance hands it on).
dramatiq delivers at least once, so each command must be its own guard: it refuses (a
``Conflict`` or ``NotFound``, swallowed here) what already happened, and two runs racing lose
one save on the aggregate's version.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import dramatiq
import structlog

from domain.errors import Conflict, NotFound

log = structlog.get_logger(__name__)

QUEUE = "timed"
MAX_RETRIES = 3


class TimedJob:
    """A dramatiq actor named ``actor_name`` on ``broker``, running ``run`` (the subclass's
    job method) with its message's arguments."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        actor_name: str,
        run: Callable[..., None],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.actor_name = actor_name
        self.clock = clock
        self.outcomes: list[str] = []  # what each run did, for tests and logs
        self.actor = dramatiq.Actor(
            run,
            broker=broker,
            actor_name=actor_name,
            queue_name=QUEUE,
            priority=0,
            options={"max_retries": MAX_RETRIES},
        )

    def send_at(self, at: datetime, *args: str, margin_ms: int = 0) -> None:
        """Run the job with ``args`` at ``at`` plus ``margin_ms`` (at once when that passed)."""
        remaining = at - self.clock()
        milliseconds = max(0, int(remaining.total_seconds() * 1000) + margin_ms)
        self.actor.send_with_options(args=args, delay=milliseconds)

    def run_command(
        self, event: str, tenant_id: str, command: Callable[[], Any], **bound: str
    ) -> None:
        """Run ``command`` as one job: its outcome (``no_show``, or ``skipped: why`` when the
        command refused) is kept in ``outcomes`` and logged as ``event`` in one summary line."""
        started = time.monotonic()
        with structlog.contextvars.bound_contextvars(job=self.actor_name, **bound):
            try:
                command()
                outcome = "no_show"
            except (Conflict, NotFound) as refused:
                outcome = f"skipped: {refused}"
            self.outcomes.append(outcome)
            log.info(
                event,
                tenant_id=tenant_id,
                outcome=outcome,
                duration_ms=round((time.monotonic() - started) * 1000, 1),
            )
