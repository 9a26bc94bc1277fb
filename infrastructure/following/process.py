"""The projections role: one follower thread per read model, each active in one process only.

Each follower is a :class:`~infrastructure.postgres.single_active.SingleActive` role: it holds a
session-level advisory lock on a dedicated connection and runs its batches on that same
connection, and a standby takes over within seconds when the holder dies.

Waking up: a :class:`~infrastructure.postgres.doorbell.Doorbell` wakes the followers whose
position is below the id a committed write announced. They still poll every ``poll_interval``
whatever happens, so a notification lost (the listening connection dropped, a writer that does
not notify) only delays them; a notification never replaces reading the log.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine

from infrastructure.following.dead_letters import DeadLetter
from infrastructure.following.runner import (
    EventFailed,
    ProjectionRunner,
    ReadModel,
    read_models,
)
from infrastructure.following.shared_log import SharedLog
from infrastructure.postgres.doorbell import Doorbell, doorbell_for
from infrastructure.postgres.single_active import STANDBY_SECONDS, SingleActive
from infrastructure.postgres.tracking import record_position, tracked_position
from infrastructure.roles.supervisor import Supervisor
from projections.queue_day import SlaRule

POLL_SECONDS = 0.2
CHECK_IN_SECONDS = 5.0  # an idle follower touches its tracking row this often: "alive"
MAX_ATTEMPTS = 3
RETRY_SECONDS = 0.2  # first pause after a failed batch; doubles with each attempt

log = structlog.get_logger(__name__)


class Follower:
    """Keeps one read model up to date while it holds the model's lock; waits as standby else.

    With a ``doorbell`` it wakes as soon as newer events are announced, and polls every
    ``poll_interval`` all the same; without one it polls only. While idle it touches its
    tracking row every few seconds, so a follower that died shows as silent.

    An event the projection fails on is tried again (the whole batch, after a short pause);
    after ``max_attempts`` failures in a row it becomes a dead letter and is skipped (see
    :mod:`infrastructure.following.dead_letters`).
    """

    def __init__(
        self,
        runner: ProjectionRunner,
        engine: Engine,
        *,
        poll_interval: float = POLL_SECONDS,
        standby_interval: float = STANDBY_SECONDS,
        doorbell: Doorbell | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        retry_interval: float = RETRY_SECONDS,
    ) -> None:
        self.runner = runner
        self.engine = engine
        self.poll_interval = poll_interval
        self.doorbell = doorbell
        self.max_attempts = max_attempts
        self.retry_interval = retry_interval
        self.failing: dict[int, DeadLetter] = {}  # by position: failures not yet given up on
        self.role = SingleActive(
            runner.model.name, engine, self._follow, standby_interval=standby_interval
        )
        self.active = self.role.active  # set while this follower holds the lock

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set (see :class:`SingleActive`)."""
        self.role.run(stop)

    def _follow(self, connection: Connection, stop: threading.Event) -> None:
        name = self.runner.tracking_name
        checked_in = 0.0  # check in at once: a follower that just took over is alive
        while not stop.is_set():
            poison = {at: letter for at, letter in self.failing.items() if self._given_up(letter)}
            try:
                with connection.begin():
                    count = self.runner.apply_batch(connection, poison)
                    position = self.runner.position  # read and locked by the batch itself
                    if count == 0 and time.monotonic() - checked_in >= CHECK_IN_SECONDS:
                        record_position(connection, name, position)  # only its updated_at moves
                        checked_in = time.monotonic()
            except EventFailed as failure:
                attempts = self._count(failure)
                log.warning("projection failed on an event", error=str(failure), attempt=attempts)
                stop.wait(self.retry_interval * 2 ** (attempts - 1))
                continue
            if count:
                checked_in = time.monotonic()  # moving the position checked in
                self.failing = {at: f for at, f in self.failing.items() if at > position}
            if count < self.runner.batch_size:
                if self.doorbell is None:
                    stop.wait(self.poll_interval)
                else:
                    self.doorbell.wait(position, self.poll_interval)

    def _given_up(self, letter: DeadLetter) -> bool:
        return letter.attempts >= self.max_attempts

    def _count(self, failure: EventFailed) -> int:
        """Count one more failure on ``failure``'s event; the attempts so far."""
        now = datetime.now(UTC)
        known = self.failing.get(failure.position)
        if known is None:
            known = DeadLetter(
                failure.projection,
                failure.position,
                failure.event_id,
                failure.topic,
                failure.error,
                now,
                now,
                0,
            )
        letter = replace(
            known, error=failure.error, last_failed_at=now, attempts=known.attempts + 1
        )
        self.failing[failure.position] = letter
        return letter.attempts


@dataclass(frozen=True)
class Lag:
    """How far a projection is behind the log (``head - position`` counts gaps too, so it is an
    upper bound of the events still to apply)."""

    projection: str
    position: int
    head: int

    @property
    def behind(self) -> int:
        return max(0, self.head - self.position)


def lag(engine: Engine, recorder: ApplicationRecorder) -> list[Lag]:
    """Every projection's tracking position against the log's head."""
    head = recorder.max_notification_id() or 0
    with engine.connect() as connection:
        return [
            Lag(name, tracked_position(connection, name), head) for name in sorted(read_models())
        ]


def start_followers(
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    supervisor: Supervisor,
    names: list[str] | None = None,
    sla: SlaRule | None = None,
    *,
    listen: bool = True,
    max_attempts: int = MAX_ATTEMPTS,
) -> list[Follower]:
    """A supervised thread per read model (all by default), following until the supervisor's
    stop is set, and one doorbell thread that wakes them on new events (unless ``listen`` is
    false); the followers. They share one read of the log (:class:`SharedLog`)."""
    doorbell = doorbell_for(recorder) if listen else None
    if doorbell is not None:
        supervisor.add("projection-doorbell", doorbell.run)
    followers = []
    shared = SharedLog(recorder, mapper)  # woken together, they read the log once
    for name, model in read_models(sla).items():
        if names and name not in names:
            continue
        follower = Follower(
            ProjectionRunner(model, recorder, mapper, shared=shared),
            engine,
            doorbell=doorbell,
            max_attempts=max_attempts,
        )
        supervisor.add(f"projection-{name}", follower.run)
        followers.append(follower)
    return followers


def model_named(name: str, sla: SlaRule | None = None) -> ReadModel:
    """The read model called ``name``, or ``KeyError`` listing the known ones."""
    models = read_models(sla)
    if name not in models:
        raise KeyError(f"no projection {name!r}; known: {', '.join(sorted(models))}")
    return models[name]
