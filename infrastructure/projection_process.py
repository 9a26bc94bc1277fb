"""The projections role: one follower thread per read model, each active in one process only
(a :class:`~infrastructure.single_active.SingleActive` role per read model, its batches run on
the connection that holds the lock)."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine

from infrastructure.projection_runner import ProjectionRunner, ReadModel, read_models
from infrastructure.projection_store import tracked_position
from infrastructure.single_active import STANDBY_SECONDS, SingleActive

POLL_SECONDS = 0.2


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
        self.role = SingleActive(
            runner.model.name, engine, self._follow, standby_interval=standby_interval
        )
        self.active = self.role.active  # set while this follower holds the lock

    def run(self, stop: threading.Event) -> None:
        """Follow the log until ``stop`` is set (see :class:`SingleActive`)."""
        self.role.run(stop)

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
) -> list[threading.Thread]:
    """A daemon thread per read model (all by default), following until ``stop`` is set."""
    threads = []
    for name, model in read_models().items():
        if names and name not in names:
            continue
        follower = Follower(ProjectionRunner(model, recorder, mapper), engine)
        thread = threading.Thread(
            target=follower.run, args=(stop,), name=f"projection-{name}", daemon=True
        )
        thread.start()
        threads.append(thread)
    return threads


def model_named(name: str) -> ReadModel:
    """The read model called ``name``, or ``KeyError`` listing the known ones."""
    models = read_models()
    if name not in models:
        raise KeyError(f"no projection {name!r}; known: {', '.join(sorted(models))}")
    return models[name]
