"""The projections role: one follower thread per read model, each active in one process only.

A follower holds a session-level advisory lock on a dedicated connection and runs its batches on
that same connection: if the process dies, PostgreSQL ends the session, which releases the lock,
and a standby (polling ``pg_try_advisory_lock``) takes over within ``standby_interval`` seconds.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from infrastructure.projection_runner import ProjectionRunner, ReadModel, read_models
from infrastructure.projection_store import tracked_position
from projections.queue_day import SlaRule

LOCK_NAMESPACE = 7_301_002  # first key of every projection's advisory lock
POLL_SECONDS = 0.2
STANDBY_SECONDS = 1.0

log = structlog.get_logger(__name__)


def try_lock(connection: Connection, name: str) -> bool:
    """Take ``name``'s session-level lock if free; commits so no transaction stays open."""
    taken = connection.execute(
        text("SELECT pg_try_advisory_lock(:namespace, hashtext(:name))"),
        {"namespace": LOCK_NAMESPACE, "name": name},
    ).scalar()
    connection.commit()
    return bool(taken)


class Follower:
    """Keeps one read model up to date while it holds the model's lock; waits as standby else."""

    def __init__(
        self,
        runner: ProjectionRunner,
        engine: Engine,
        *,
        poll_interval: float = POLL_SECONDS,
        standby_interval: float = STANDBY_SECONDS,
    ) -> None:
        self.runner = runner
        self.engine = engine
        self.poll_interval = poll_interval
        self.standby_interval = standby_interval
        self.active = threading.Event()  # set while this follower holds the lock

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set. Database errors drop the connection (and so
        the lock) and the follower starts over as a standby."""
        name = self.runner.model.name
        while not stop.is_set():
            connection = self.engine.connect()
            try:
                if try_lock(connection, name):
                    self.active.set()
                    log.info("projection active", projection=name)
                    self._follow(connection, stop)
                else:
                    stop.wait(self.standby_interval)
            except DBAPIError as error:
                log.warning("projection connection lost", projection=name, error=str(error))
                stop.wait(self.standby_interval)
            finally:
                self.active.clear()
                # Closing the connection for real ends the session and releases the lock; a
                # pooled connection would keep it.
                connection.invalidate()
                connection.close()

    def _follow(self, connection: Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            with connection.begin():
                count = self.runner.apply_batch(connection)
            if count < self.runner.batch_size:
                stop.wait(self.poll_interval)


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
    stop: threading.Event,
    names: list[str] | None = None,
    sla: SlaRule | None = None,
) -> list[threading.Thread]:
    """A daemon thread per read model (all by default), following until ``stop`` is set."""
    threads = []
    for name, model in read_models(sla).items():
        if names and name not in names:
            continue
        follower = Follower(ProjectionRunner(model, recorder, mapper), engine)
        thread = threading.Thread(
            target=follower.run, args=(stop,), name=f"projection-{name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def model_named(name: str, sla: SlaRule | None = None) -> ReadModel:
    """The read model called ``name``, or ``KeyError`` listing the known ones."""
    models = read_models(sla)
    if name not in models:
        raise KeyError(f"no projection {name!r}; known: {', '.join(sorted(models))}")
    return models[name]
