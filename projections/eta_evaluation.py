"""Judge ETA estimators on a recorded day: mean absolute error of the wait each one predicted.

Every visit is replayed at its issue time with only what was known then (the line ahead of it,
the agents on duty and busy, the holds and services already finished) and each estimator's
answer is compared with the wait that really followed (first call - issue).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import msgspec

from domain.eta import QueueState

Estimator = Callable[[QueueState], float | None]
RECENT = 20  # how many finished tickets count as "recent"


class RecordedVisit(msgspec.Struct, frozen=True, kw_only=True):
    """One ticket of a recorded day (seconds on the day's clock); ``started`` is ``None`` for a
    no-show. ``finished`` is when the agent let go of it (completion or no-show)."""

    issued: float
    called: float
    started: float | None
    finished: float
    agent: int


class RecordedDay(msgspec.Struct, frozen=True):
    """The visits of one queue on one day, in issue order (served first come, first served),
    and each agent's time on duty as ``(start, end)``."""

    visits: tuple[RecordedVisit, ...]
    shifts: tuple[tuple[float, float], ...]


def state_at(day: RecordedDay, index: int) -> QueueState:
    """What was known when ``day.visits[index]`` was issued."""
    visit = day.visits[index]
    now = visit.issued
    ahead = sum(1 for other in day.visits[:index] if other.called > now)
    released = sorted(
        (other for other in day.visits if other.finished <= now), key=lambda v: v.finished
    )[-RECENT:]
    completed = sorted(
        (v for v in day.visits if v.started is not None and v.finished <= now),
        key=lambda v: v.finished,
    )[-RECENT:]
    return QueueState(
        now=now,
        position=ahead + 1,
        active_agents=sum(1 for start, end in day.shifts if start <= now < end),
        busy_since=tuple(v.called for v in day.visits if v.called <= now < v.finished),
        recent_service_seconds=tuple(
            v.finished - v.started for v in completed if v.started is not None
        ),
        recent_occupancy_seconds=tuple(v.finished - v.called for v in released),
    )


def mean_absolute_errors(day: RecordedDay, estimators: Mapping[str, Estimator]) -> dict[str, float]:
    """Each estimator's mean absolute error in seconds over the visits it gave an answer for.

    A visit issued when no agent was on duty is skipped for every estimator alike.
    """
    errors: dict[str, list[float]] = {name: [] for name in estimators}
    for index, visit in enumerate(day.visits):
        state = state_at(day, index)
        if state.active_agents == 0:
            continue
        actual = visit.called - visit.issued
        for name, estimate in estimators.items():
            guess = estimate(state)
            if guess is not None:
                errors[name].append(abs(guess - actual))
    return {name: sum(found) / len(found) for name, found in errors.items() if found}
