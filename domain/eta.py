"""How long until a waiting ticket is called: the DESIGN.md §9 baseline and a better estimator.

Both are pure functions of a :class:`QueueState`, the facts a projection knows at one moment.
Times are seconds on one clock (epoch seconds, or seconds since the branch opened).

The *hand-over* estimator beats the baseline (lower mean absolute error over a recorded day, see
:mod:`projections.eta_evaluation`) when its reasons hold, as they do at most branches:

- agents are free, or some are about to be: the next ticket waits for the *first* agent to let
  go (the expected minimum of the holds under way), not for ``position x mean / agents``;
- an agent is held from the call to the release, not only from service start to completion:
  walking up to the counter and waiting out no-shows take agent time the baseline never counts.

On synthetic days (``tests/unit/synthetic_day.py``, 20 seeds) it measured ~46 s against ~97 s on
quiet days, ~99 s against ~116 s on busy days near capacity, and the same within 5 % on a line
that only grows with no walk-up and no no-shows: there the wait is ``position x hold / agents``
plus noise for both. Neither knows about agents coming on or off duty later (the main error left
on busy days), nor about priority tickets jumping the line (positions assume first come, first
served).
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Sequence

import msgspec

DEFAULT_SERVICE_SECONDS = 300.0  # before the day has any completed service to measure
DEFAULT_SERVING_WINDOW_SECONDS = 900.0  # longer than most services: see serves_queue
ALPHA = 0.05  # weight of the newest hold: small, as single service times vary a lot
OVERDUE_SHARE = 0.25  # a service already longer than every recent one: expect it to end soon


class QueueState(msgspec.Struct, frozen=True, kw_only=True):
    """What is known about a queue at ``now`` when a waiting ticket asks "how long?"."""

    now: float
    position: int
    """1 for the ticket called next."""
    active_agents: int
    """Agents on duty now, free or busy."""
    busy_since: tuple[float, ...] = ()
    """When each agent holding a ticket called it."""
    recent_service_seconds: tuple[float, ...] = ()
    """Service start to completion of the latest completed tickets, oldest first."""
    recent_occupancy_seconds: tuple[float, ...] = ()
    """Call to release (completion or no-show) of the latest released tickets, oldest first."""


def baseline_eta_seconds(
    position: int,
    recent_service_seconds: Sequence[float],
    active_agents: int,
    default_service_seconds: float = DEFAULT_SERVICE_SECONDS,
) -> float | None:
    """DESIGN.md §9: position x mean recent service time / active agents (``None``: no agent)."""
    if active_agents <= 0:
        return None
    samples = recent_service_seconds or (default_service_seconds,)
    return position * (sum(samples) / len(samples)) / active_agents


def baseline(state: QueueState) -> float | None:
    """:func:`baseline_eta_seconds` read from a :class:`QueueState`."""
    return baseline_eta_seconds(state.position, state.recent_service_seconds, state.active_agents)


def weighted_mean(samples: Sequence[float], alpha: float = ALPHA) -> float | None:
    """Exponentially weighted mean of ``samples`` (oldest first): the newest weighs most."""
    if not samples:
        return None
    weights = [(1 - alpha) ** age for age in range(len(samples) - 1, -1, -1)]
    return sum(w * s for w, s in zip(weights, samples, strict=True)) / sum(weights)


def first_release_seconds(elapsed: Sequence[float], holds: Sequence[float], hold: float) -> float:
    """Expected time until the *first* of several busy agents lets go of its ticket.

    Each agent's remaining hold follows the recent ``holds`` longer than what it has already
    held (an agent past all of them is expected to finish ``OVERDUE_SHARE x hold`` from now).
    The expectation of the minimum is the integral of the chance that all are still busy; the
    minimum of the expectations would be later, and too late by about a minute in practice.
    """
    rests = [sorted(h - e for h in holds if h > e) or [hold * OVERDUE_SHARE] for e in elapsed]
    points = sorted({0.0, *(rest for remaining in rests for rest in remaining)})
    expected = 0.0
    for start, end in itertools.pairwise(points):
        all_busy = math.prod(1 - bisect_right(rest, start) / len(rest) for rest in rests)
        if all_busy == 0:
            break
        expected += (end - start) * all_busy
    return expected


def handover_eta_seconds(state: QueueState, alpha: float = ALPHA) -> float | None:
    """Hand the tickets ahead to agents as they free up.

    Free agents take the first tickets at once; the next ticket goes to the first agent to let
    go (see :func:`first_release_seconds`), each later one ``hold / agents`` after that, where
    ``hold`` is the weighted mean time an agent keeps a ticket. ``None`` when nobody is on duty.
    """
    agents = state.active_agents
    if agents <= 0:
        return None
    busy = sorted(state.busy_since, reverse=True)[:agents]
    free = agents - len(busy)
    if state.position <= free:
        return 0.0
    holds = state.recent_occupancy_seconds or (DEFAULT_SERVICE_SECONDS,)
    hold = weighted_mean(holds, alpha) or DEFAULT_SERVICE_SECONDS
    # The free agents take the first tickets now and are busy from now on too.
    elapsed = [state.now - since for since in busy] + [0.0] * free
    later = state.position - free - 1
    return first_release_seconds(elapsed, holds, hold) + later * hold / agents


def handover(state: QueueState) -> float | None:
    """:func:`handover_eta_seconds` with its default weighting."""
    return handover_eta_seconds(state)


def eta_seconds(state: QueueState) -> int | None:
    """The ETA every answer shows for a waiting ticket (the ticket, lists, the issue response,
    live messages): the hand-over estimate in whole seconds, ``None`` when nobody is on duty."""
    eta = handover(state)
    return None if eta is None else round(eta)


def serves_queue(
    *,
    assigned: bool,
    holds_its_ticket: bool,
    last_worked_at: float | None,
    now: float,
    window_seconds: float = DEFAULT_SERVING_WINDOW_SECONDS,
) -> bool:
    """Whether an agent on duty (available or busy) counts among a queue's active agents.

    Assigned agents always do, and so does an agent holding one of the queue's tickets. Agents
    may also call from any queue by its id without being assigned to it: one who called, or
    finished, one of its tickets within the last ``window_seconds`` is serving it too. The
    window runs from the latest of those moments, so an agent finishing a long service is
    still counted while they take the next ticket; an agent who went elsewhere drops out.
    """
    if assigned or holds_its_ticket:
        return True
    return last_worked_at is not None and now - last_worked_at <= window_seconds
