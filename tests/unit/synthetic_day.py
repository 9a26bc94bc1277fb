"""A synthetic branch day to evaluate ETA estimators on: a small first-come-first-served queue.

Arrivals are Poisson with a lunchtime peak; services are log-normal and get longer in the
afternoon; a called customer takes a while to walk up, and some never come (the agent waits
``no_show_after`` seconds, then marks the no-show). One agent works only over lunch.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from projections.eta_evaluation import RecordedDay, RecordedVisit

HOUR = 3600.0


@dataclass(frozen=True)
class DayPlan:
    """The knobs of a synthetic day (times in seconds since opening)."""

    open_seconds: float = 8 * HOUR
    last_arrival: float = 7.5 * HOUR
    arrivals_per_hour: tuple[float, ...] = (18, 24, 30, 34, 28, 24, 26, 20)
    morning_service: float = 300.0
    afternoon_service: float = 420.0
    service_spread: float = 0.5  # sigma of the log-normal
    walk_up: tuple[float, float] = (20.0, 90.0)
    no_show_share: float = 0.08
    no_show_after: float = 120.0
    shifts: tuple[tuple[float, float], ...] = ((0, 8 * HOUR), (0, 8 * HOUR), (0, 8 * HOUR))
    lunch_shift: tuple[float, float] = (2.5 * HOUR, 5 * HOUR)


def synthetic_day(seed: int, plan: DayPlan | None = None) -> RecordedDay:
    """Simulate one day: each agent on duty calls the oldest waiting ticket when free."""
    plan = plan or DayPlan()
    rng = random.Random(seed)
    arrivals = _arrivals(rng, plan)
    shifts = [*plan.shifts, plan.lunch_shift]
    free: list[tuple[float, int]] = [(start, agent) for agent, (start, _) in enumerate(shifts)]
    heapq.heapify(free)
    visits: list[RecordedVisit] = []
    ends = [end for _, end in shifts]
    for issued in arrivals:  # FIFO: each ticket goes to the agent free soonest after its issue
        while True:
            free_at, agent = heapq.heappop(free)
            called = max(free_at, issued)
            if called < shifts[agent][1] or called >= plan.open_seconds:
                break  # the lunch agent leaves; the others stay until the line is empty
        visit = _serve(rng, plan, issued, called, agent)
        ends[agent] = max(ends[agent], visit.finished)
        heapq.heappush(free, (visit.finished, agent))
        visits.append(visit)
    worked = tuple((start, ends[agent]) for agent, (start, _) in enumerate(shifts))
    return RecordedDay(visits=tuple(visits), shifts=worked)


def _arrivals(rng: random.Random, plan: DayPlan) -> list[float]:
    times, now = [], 0.0
    while True:
        rate = plan.arrivals_per_hour[min(int(now // HOUR), len(plan.arrivals_per_hour) - 1)]
        now += rng.expovariate(rate / HOUR)
        if now >= plan.last_arrival:
            return times
        times.append(now)


def _serve(
    rng: random.Random, plan: DayPlan, issued: float, called: float, agent: int
) -> RecordedVisit:
    if rng.random() < plan.no_show_share:
        finished = called + plan.no_show_after
        return RecordedVisit(
            issued=issued, called=called, started=None, finished=finished, agent=agent
        )
    mean = plan.morning_service if called < plan.open_seconds / 2 else plan.afternoon_service
    sigma = plan.service_spread
    service = rng.lognormvariate(math.log(mean) - sigma**2 / 2, sigma)
    started = called + rng.uniform(*plan.walk_up)
    return RecordedVisit(
        issued=issued, called=called, started=started, finished=started + service, agent=agent
    )
