"""The projections role: one follower thread applying every read model, active in one process
only.

The :class:`FollowerGroup` is a :class:`~infrastructure.postgres.single_active.SingleActive`
role over the locks of all its read models: it holds them on a dedicated connection and runs its
rounds on that same connection, and a standby takes over within seconds when the holder dies.
Each round is one transaction for every read model (docs/performance.md, "One transaction per
wake-up").

Waking up: a :class:`~infrastructure.postgres.doorbell.Doorbell` wakes the group when a committed
write announces an id above its lowest position. It still polls every ``poll_interval`` whatever
happens, so a notification lost (the listening connection dropped, a writer that does not
notify) only delays it; a notification never replaces reading the log.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine, text

from infrastructure.following.dead_letters import DeadLetter
from infrastructure.following.runner import (
    EventFailed,
    ProjectionRunner,
    ReadModel,
    act_as_projector,
    read_models,
)
from infrastructure.following.shared_log import SharedLog
from infrastructure.postgres.doorbell import Doorbell, doorbell_for
from infrastructure.postgres.single_active import STANDBY_SECONDS, SingleActive
from infrastructure.postgres.tracking import locked_positions, record_positions, tracked_position
from infrastructure.roles.supervisor import Supervisor
from projections.queue_day import SlaRule

POLL_SECONDS = 0.2
CHECK_IN_SECONDS = 5.0  # an idle follower touches its tracking row this often: "alive"
MAX_ATTEMPTS = 3
RETRY_SECONDS = 0.2  # first pause after a failed batch; doubles with each attempt

log = structlog.get_logger(__name__)


class FollowerGroup:
    """Keeps several read models up to date, all in one transaction per wake-up, while it holds
    every one's lock; waits as standby else (another process runs one of them).

    A round locks the tracking rows of the group's read models (one statement), hands each its
    next events from the process's shared read of the log, writes every model's rows and every
    moved position (one statement), and commits once: eight read models used to cost eight
    transactions per command, each with its own lock, position and commit.

    With a ``doorbell`` it wakes as soon as newer events are announced, and polls every
    ``poll_interval`` all the same; without one it polls only. While idle it touches its
    tracking rows every few seconds, so a follower that died shows as silent.

    An event a projection fails on rolls the round back. That read model then rests for a short
    pause (doubling with each attempt) while the others go on without it, and is tried again;
    after ``max_attempts`` failures in a row the event becomes a dead letter and is skipped (see
    :mod:`infrastructure.following.dead_letters`).
    """

    def __init__(
        self,
        runners: Sequence[ProjectionRunner],
        engine: Engine,
        *,
        poll_interval: float = POLL_SECONDS,
        standby_interval: float = STANDBY_SECONDS,
        doorbell: Doorbell | None = None,
        max_attempts: int = MAX_ATTEMPTS,
        retry_interval: float = RETRY_SECONDS,
    ) -> None:
        self.runners = {runner.model.name: runner for runner in runners}
        self.engine = engine
        self.poll_interval = poll_interval
        self.doorbell = doorbell
        self.max_attempts = max_attempts
        self.retry_interval = retry_interval
        # By read model, then by position: failures not yet given up on.
        self.failing: dict[str, dict[int, DeadLetter]] = {name: {} for name in self.runners}
        self.resting: dict[str, float] = {}  # a failing read model's next try (monotonic)
        self.checked_in: dict[str, float] = {}  # when each tracking row was last touched
        names = sorted(self.runners)
        self.role = SingleActive(
            names[0] if len(names) == 1 else "projections",
            engine,
            self._follow,
            standby_interval=standby_interval,
            locks=names,
        )
        self.active = self.role.active  # set while this group holds every lock

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set (see :class:`SingleActive`)."""
        self.role.run(stop)

    def _follow(self, connection: Connection, stop: threading.Event) -> None:
        self.checked_in = {}  # check in at once: a group that just took over is alive
        while not stop.is_set():
            now = time.monotonic()
            self.resting = {name: at for name, at in self.resting.items() if at > now}
            ready = [r for name, r in self.runners.items() if name not in self.resting]
            try:
                with connection.begin():
                    full, touched = self.apply_round(connection, ready, now)
            except EventFailed as failure:
                self._rest(failure)
                continue
            for name in touched:
                self.checked_in[name] = now
                position = self.runners[name].position
                self.failing[name] = {
                    at: letter for at, letter in self.failing[name].items() if at > position
                }
            if not full:
                self._wait(stop)

    def apply_round(
        self,
        connection: Connection,
        ready: list[ProjectionRunner] | None = None,
        now: float | None = None,
    ) -> tuple[bool, list[str]]:
        """One round in the caller's transaction, for the ``ready`` read models (all by
        default): whether one read a full batch (more is waiting), and the read models whose
        tracking rows it wrote (moved, or checked in)."""
        ready = list(self.runners.values()) if ready is None else ready
        now = time.monotonic() if now is None else now
        if not ready:
            return False, []
        act_as_projector(connection)
        positions = locked_positions(connection, [r.tracking_name for r in ready])
        moved: dict[str, int] = {}
        touched: list[str] = []
        full = False
        with ExitStack() as rounds:
            for shared in {id(r.shared): r.shared for r in ready if r.shared}.values():
                rounds.enter_context(shared.round())  # one read of the log's end per round
            for runner in ready:
                name = runner.model.name
                position = positions[runner.tracking_name]
                count = runner.apply_after(connection, position, self._given_up(name))
                full = full or count >= runner.batch_size
                idle_since = now - self.checked_in.get(name, -CHECK_IN_SECONDS)
                if runner.position != position or idle_since >= CHECK_IN_SECONDS:
                    moved[runner.tracking_name] = runner.position  # also moves updated_at
                    touched.append(name)
        record_positions(connection, moved)
        connection.execute(text("SET LOCAL ROLE NONE"))
        return full, touched

    def _wait(self, stop: threading.Event) -> None:
        """Until newer events may be there, or a resting read model is due."""
        if self.resting:
            stop.wait(max(0.0, min(self.resting.values()) - time.monotonic()))
        elif self.doorbell is None:
            stop.wait(self.poll_interval)
        else:
            lowest = min(runner.position for runner in self.runners.values())
            self.doorbell.wait(lowest, self.poll_interval)

    def _given_up(self, name: str) -> dict[int, DeadLetter]:
        """``name``'s events to set aside rather than apply (by position)."""
        return {
            at: letter
            for at, letter in self.failing[name].items()
            if letter.attempts >= self.max_attempts
        }

    def _rest(self, failure: EventFailed) -> None:
        """Count one more failure on ``failure``'s event and rest its read model meanwhile."""
        now = datetime.now(UTC)
        failing = self.failing[failure.projection]
        known = failing.get(failure.position)
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
        failing[failure.position] = letter
        log.warning("projection failed on an event", error=str(failure), attempt=letter.attempts)
        pause = self.retry_interval * 2 ** (letter.attempts - 1)
        self.resting[failure.projection] = time.monotonic() + pause


class Follower(FollowerGroup):
    """A group of one read model (tests, and a process told to follow one)."""

    def __init__(self, runner: ProjectionRunner, engine: Engine, **options: Any) -> None:
        super().__init__([runner], engine, **options)
        self.runner = runner


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
) -> FollowerGroup:
    """One supervised thread following the read models (all by default) in one transaction per
    wake-up until the supervisor's stop is set, and one doorbell thread that wakes it on new
    events (unless ``listen`` is false); the group."""
    doorbell = doorbell_for(recorder) if listen else None
    if doorbell is not None:
        supervisor.add("projection-doorbell", doorbell.run)
    shared = SharedLog(recorder, mapper)  # woken together, they read the log once
    runners = [
        ProjectionRunner(model, recorder, mapper, shared=shared)
        for name, model in read_models(sla).items()
        if not names or name in names
    ]
    group = FollowerGroup(runners, engine, doorbell=doorbell, max_attempts=max_attempts)
    supervisor.add("projections", group.run)
    return group


def model_named(name: str, sla: SlaRule | None = None) -> ReadModel:
    """The read model called ``name``, or ``KeyError`` listing the known ones."""
    models = read_models(sla)
    if name not in models:
        raise KeyError(f"no projection {name!r}; known: {', '.join(sorted(models))}")
    return models[name]
