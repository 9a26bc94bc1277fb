"""Applying dead letters again once their cause is fixed (``smartqueue projections retry``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Engine

from infrastructure.following.dead_letters import (
    DeadLetter,
    dead_letters,
    note_failed_retry,
    remove_dead_letter,
)
from infrastructure.following.runner import (
    EventFailed,
    ProjectionRunner,
    ReadModel,
    StatefulView,
    act_as_projector,
)
from infrastructure.postgres.tracking import tracked_position


@dataclass(frozen=True)
class RetryOutcome:
    """What became of one dead letter."""

    letter: DeadLetter
    error: str | None
    """None: applied and removed; else why it failed again (it stays, attempts + 1)."""


def retry_dead_letters(
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    models: dict[str, ReadModel],
    *,
    projection: str | None = None,
    position: int | None = None,
    on_outcome: Callable[[RetryOutcome], None] | None = None,
) -> list[RetryOutcome]:
    """Apply the dead letters (of ``projection``, at ``position`` when given) in log order, each
    in one transaction with removing it. The projection's tracking row is locked meanwhile, so
    its follower waits rather than interleaving. Stops at the first one that fails again: the
    ones after it may depend on it."""
    with engine.connect() as connection:
        letters = dead_letters(connection, projection, position)
    outcomes = []
    for letter in letters:
        outcome = _retry_one(engine, recorder, mapper, models, letter)
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
        if outcome.error is not None:
            break
    return outcomes


def _retry_one(
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    models: dict[str, ReadModel],
    letter: DeadLetter,
) -> RetryOutcome:
    model = models.get(letter.projection)
    if model is None:
        return _failed(engine, letter, f"no projection {letter.projection!r} any more")
    runner = ProjectionRunner(model, recorder, mapper)
    try:
        with engine.begin() as connection:
            act_as_projector(connection)  # it writes read-model rows, as a batch does
            tracked_position(connection, runner.tracking_name, lock=True)
            [notification] = _at(
                recorder.select_notifications(
                    start=letter.position, limit=1, inclusive_of_start=True
                ),
                letter.position,
            )
            view = model.make_view(model.tables)
            if isinstance(view, StatefulView):
                view.load(connection, runner.tracking_name)
            runner.apply_one(notification, view)
            view.flush(connection)
            remove_dead_letter(connection, letter.projection, letter.position)
    except (EventFailed, LookupError) as error:
        reason = error.error if isinstance(error, EventFailed) else str(error)
        return _failed(engine, letter, reason)
    return RetryOutcome(letter, None)


def _at(notifications: Iterable[Any], position: int) -> list[Any]:
    found = [notification for notification in notifications if notification.id == position]
    if not found:
        raise LookupError(f"no event at position {position} in the log")
    return found


def _failed(engine: Engine, letter: DeadLetter, error: str) -> RetryOutcome:
    with engine.begin() as connection:
        note_failed_retry(connection, letter.projection, letter.position, error, datetime.now(UTC))
    return RetryOutcome(letter, error)
