"""The demo tenant's past days: a week of visits played through the real commands at past times.

Each open day of the last ``days`` (Monday to Friday 09:00-17:30, Saturday morning, in the
site's zone) gets a plan (:func:`plan_day`: arrivals through the day, busier late morning and
early afternoon, by channel, with their outcome), then a small simulation plays it: the two demo
agents go available at opening, call, start and close tickets, mark no-shows, transfer one or two
to the other queue, take turns at lunch and go offline once the last customer has left; some
customers leave before being called; a few answer the feedback request. Every step is the
application's own command, run with the :class:`SettableClock` the contexts were built with set
to the step's instant, so the events carry past times (``issued_at``, ``at``, ``submitted_at``,
an agent's status change's timestamp) and every read model (the KPIs with the agents' time on
duty, the feedback figures, the ticket lists) sees an ordinary past week. The other events'
envelope timestamps stay the real time of recording (the audit log's "recorded at"): that is
when they were written.

Ticket numbers restart every site-local day (a daily counter per service and day), so the past
days' A-001, B-001... never meet today's.
"""

from __future__ import annotations

import heapq
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application.base import utc_now
from application.context import CommandContext
from application.feedback import FEEDBACK_LINK, Feedbacks
from application.staffing import Staffing
from application.tickets import Tickets
from domain.hours import WEEKDAYS, WeeklyHours, open_intervals

DEMO_HOURS: WeeklyHours = {
    **{day: [{"open": "09:00", "close": "17:30"}] for day in WEEKDAYS[:5]},
    "saturday": [{"open": "09:00", "close": "12:30"}],
    "sunday": [],
}
"""When the demo branch was open on the past days. The site itself has no hours (it is open at
all times, so the README's walk-through works at any hour of the day)."""

VISITS_PER_HOUR = 3.4
"""Visits a weekday's average opening hour brings (about 29 a weekday, 12 a Saturday)."""
ARRIVALS_BY_HOUR = {9: 0.7, 10: 1.1, 11: 1.6, 12: 1.3, 13: 1.4, 14: 1.3, 15: 0.9, 16: 0.7, 17: 0.5}
"""Relative arrival rate per site-local hour: a busier late morning and early afternoon."""
CHANNELS = (("kiosk", 45), ("web", 20), ("mobile", 10), ("counter", 15), ("phone", 10))
OUTCOMES = (("served", 86), ("cancelled", 8), ("no_show", 6))
LAST_ARRIVAL = timedelta(minutes=10)
"""Nobody takes a ticket in the last minutes before closing."""
LUNCH = (time(12, 0), time(13, 0))
"""When each demo agent (in order) pauses for lunch, once free; back 45 minutes later."""
LUNCH_BREAK = timedelta(minutes=45)
FEEDBACK_SHARE = 0.35
COMMENTS = (
    (5, "Very kind staff, thank you."),
    (4, "Clear explanations."),
    (2, "The wait was long today."),
)


class SettableClock:
    """The application's clock for seeding: the real time until :meth:`set` pins it to an
    instant, and again after :meth:`release`. Built into the seeding process's contexts
    (``build_container(settings, clock=...)``); every serving process keeps the real clock."""

    def __init__(self) -> None:
        self._pinned: datetime | None = None

    def __call__(self) -> datetime:
        return self._pinned or utc_now()

    def set(self, instant: datetime) -> None:
        """Read ``instant`` (aware) from now on."""
        if instant.tzinfo is None:
            raise ValueError("the clock reads aware instants only")
        self._pinned = instant

    def release(self) -> None:
        """Read the real time again."""
        self._pinned = None


class HistoryContexts(Protocol):
    """The contexts the past days are played through."""

    tickets: Tickets
    staffing: Staffing
    feedback: Feedbacks | None


@dataclass(frozen=True)
class PlannedVisit:
    """One customer of a past day, as planned before the day is played."""

    arrives_at: datetime
    queue: int
    """0 for the first demo queue (Accounts, FIFO), 1 for the second (Advice, priority)."""
    channel: str
    priority: int
    outcome: str
    """``served``, ``no_show``, ``cancelled`` (leaves if not called within ``patience``) or
    ``transferred`` (served a little, then sent to the other queue and served there)."""
    service: timedelta
    patience: timedelta | None = None
    feedback: tuple[int, int] | None = None
    """(CSAT, NPS) given after the visit, if it is served."""


@dataclass
class HistorySummary:
    """What the past days hold."""

    days: list[date] = field(default_factory=list)
    """The site-local days with activity, oldest first (closed days are left out)."""
    visits: int = 0
    served: int = 0
    feedback: int = 0


def open_days(today: date, days: int, tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The demo branch's open days among the ``days`` before ``today``, oldest first, with
    their opening and closing instants (UTC)."""
    found = []
    for back in range(days, 0, -1):
        day = today - timedelta(days=back)
        intervals = open_intervals(DEMO_HOURS, [], day, tz)
        if intervals:
            found.append((day, intervals[0][0], intervals[-1][1]))
    return found


def plan_day(
    opens: datetime, closes: datetime, tz: ZoneInfo, rng: random.Random
) -> list[PlannedVisit]:
    """The visits of a day open from ``opens`` to ``closes``, by arrival time."""
    slots = []  # (start, end, weight) per site-local hour, up to the last arrival
    start = opens
    while start < closes - LAST_ARRIVAL:
        local = start.astimezone(tz)
        end = min(closes - LAST_ARRIVAL, start + timedelta(minutes=60 - local.minute))
        minutes = (end - start).total_seconds() / 60
        slots.append((start, end, ARRIVALS_BY_HOUR.get(local.hour, 0.5) * minutes))
        start = end
    hours = (closes - opens).total_seconds() / 3600
    count = max(4, round(VISITS_PER_HOUR * hours * rng.uniform(0.85, 1.15)))
    arrivals = []
    for chosen in rng.choices(slots, weights=[slot[2] for slot in slots], k=count):
        seconds = rng.uniform(0, (chosen[1] - chosen[0]).total_seconds())
        arrivals.append((chosen[0] + timedelta(seconds=seconds)).replace(microsecond=0))
    arrivals.sort()
    # A transfer or two a day (none on a day too quiet to spare one).
    transfers = (
        {rng.randrange(3, count // 2), rng.randrange(count // 2, count - 1)}
        if count >= 10
        else set()
    )
    return [_visit(at, rng, index in transfers) for index, at in enumerate(arrivals)]


def _visit(at: datetime, rng: random.Random, transferred: bool) -> PlannedVisit:
    queue = 0 if rng.random() < 0.6 else 1
    minutes = rng.triangular(4, 12, 7) if queue == 0 else rng.triangular(10, 25, 15)
    outcome = "transferred" if transferred else _pick(OUTCOMES, rng)
    feedback = None
    if outcome in ("served", "transferred") and rng.random() < FEEDBACK_SHARE:
        csat = rng.choices((5, 4, 3, 2, 1), weights=(45, 30, 12, 8, 5))[0]
        feedback = (csat, max(0, min(10, 2 * csat + rng.choice((-1, 0, 0, 1)))))
    return PlannedVisit(
        arrives_at=at,
        queue=queue,
        channel=_pick(CHANNELS, rng),
        priority=3 if queue == 1 and rng.random() < 0.1 else 0,
        outcome=outcome,
        service=timedelta(minutes=round(minutes, 1)),
        patience=timedelta(minutes=rng.uniform(4, 15)) if outcome == "cancelled" else None,
        feedback=feedback,
    )


def _pick(weighted: tuple[tuple[str, int], ...], rng: random.Random) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights=weights)[0]


def seed_history(
    contexts: HistoryContexts,
    context: CommandContext,
    clock: SettableClock,
    queue_ids: tuple[UUID, UUID],
    agent_ids: list[UUID],
    days: int,
    timezone: str = "Europe/Paris",
) -> HistorySummary:
    """Play the open days among the last ``days`` (today excluded) through the commands, each
    at its own instant; the clock reads the real time again afterwards. The agents end every
    day offline and no ticket is left open, so today starts as if nothing happened before."""
    tz = ZoneInfo(timezone)
    now = clock()
    summary = HistorySummary()
    try:
        for day, opens, closes in open_days(now.astimezone(tz).date(), days, tz):
            agents = []
            for index, agent_id in enumerate(agent_ids):
                lunch = datetime.combine(day, LUNCH[index % len(LUNCH)], tzinfo=tz)
                lunch_at = lunch.astimezone(UTC) if lunch + LUNCH_BREAK < closes else None
                agents.append(_Agent(agent_id, str(index + 1), lunch_at))
            rng = random.Random(day.toordinal())
            played = _Day(contexts, context, clock, queue_ids, agents, closes, now, summary, rng)
            played.play(plan_day(opens, closes, tz, rng), opens)
            summary.days.append(day)
    finally:
        clock.release()
    return summary


@dataclass
class _Agent:
    agent_id: UUID
    counter: str
    lunch_at: datetime | None
    state: str = "offline"  # offline, idle, busy, lunch


@dataclass
class _Day:
    """One day's simulation: a heap of (instant, order, step); each step runs at its instant,
    on the clock set to it."""

    contexts: HistoryContexts
    context: CommandContext
    clock: SettableClock
    queue_ids: tuple[UUID, UUID]
    agents: list[_Agent]
    closes: datetime
    now: datetime
    """The real time the history began (feedback links older than their life are not answered)."""
    summary: HistorySummary
    rng: random.Random
    steps: list[tuple[datetime, int, Callable[[], None]]] = field(default_factory=list)
    order: itertools.count = field(default_factory=itertools.count)
    waiting: set[UUID] = field(default_factory=set)
    plans: dict[UUID, PlannedVisit] = field(default_factory=dict)

    def play(self, plan: list[PlannedVisit], opens: datetime) -> None:
        for index, agent in enumerate(self.agents):
            self.at(opens - timedelta(minutes=5 - index), lambda a=agent: self._start(a))
            if agent.lunch_at is not None:
                self.at(agent.lunch_at, lambda a=agent: self._next(a))
            self.at(self.closes + timedelta(minutes=1), lambda a=agent: self._next(a))
        for visit in plan:
            self.at(visit.arrives_at, lambda v=visit: self._arrive(v))
        while self.steps:
            instant, _, step = heapq.heappop(self.steps)
            self.clock.set(instant)
            step()

    def at(self, instant: datetime, step: Callable[[], None]) -> None:
        heapq.heappush(self.steps, (instant, next(self.order), step))

    def later(self, low: float, high: float, step: Callable[[], None]) -> None:
        """Run ``step`` between ``low`` and ``high`` seconds after the current step."""
        self.at(self.clock() + timedelta(seconds=self.rng.uniform(low, high)), step)

    # -- customers ------------------------------------------------------------------------------

    def _arrive(self, visit: PlannedVisit) -> None:
        queue_id = self.queue_ids[visit.queue]
        ticket = self.contexts.tickets.issue_ticket(
            self.context, queue_id, priority=visit.priority, channel=visit.channel
        )
        self.summary.visits += 1
        self.waiting.add(ticket.id)
        self.plans[ticket.id] = visit
        if visit.patience is not None:
            self.at(visit.arrives_at + visit.patience, lambda: self._give_up(ticket.id))
        self._wake()

    def _give_up(self, ticket_id: UUID) -> None:
        if ticket_id in self.waiting:  # called meanwhile: then they stayed
            self.waiting.discard(ticket_id)
            self.contexts.tickets.cancel_ticket(self.context, ticket_id, "left before the call")

    def _wake(self) -> None:
        """Idle agents notice a new ticket within a minute."""
        for agent in self.agents:
            if agent.state == "idle":
                self.later(15, 60, lambda a=agent: self._next(a))

    def _answer(self, ticket_id: UUID, finished_at: datetime, scores: tuple[int, int]) -> None:
        feedback = self.contexts.feedback
        if feedback is None or finished_at + timedelta(days=feedback.pass_days) <= self.now:
            return  # no feedback here, or the link has expired by now: its page would refuse it
        link = feedback.feedback_link(self.context.tenant_id, ticket_id, finished_at)
        csat, nps = scores
        comment = next((words for score, words in COMMENTS if score == csat), None)
        feedback.submit_feedback(
            link.removeprefix(FEEDBACK_LINK.format(token="")),
            csat=csat,
            nps=nps,
            comment=comment if self.rng.random() < 0.3 else None,
            tags=["staff" if csat >= 4 else "waiting_time"],
        )
        self.summary.feedback += 1

    # -- agents ---------------------------------------------------------------------------------

    def _start(self, agent: _Agent) -> None:
        self._set(agent, "available", "idle")
        self._next(agent)

    def _set(self, agent: _Agent, status: str, state: str) -> None:
        staffing = self.contexts.staffing
        staffing.set_agent_status(self.context, agent.agent_id, status, agent.counter)
        agent.state = state

    def _next(self, agent: _Agent) -> None:
        """A free agent's next move: lunch when due, else the next ticket, else (after closing,
        with nobody left) offline."""
        if agent.state != "idle":
            return
        now = self.clock()
        if agent.lunch_at is not None and now >= agent.lunch_at:
            agent.lunch_at = None
            self._set(agent, "paused", "lunch")
            self.at(now + LUNCH_BREAK, lambda: self._start(agent))
            return
        called = self.contexts.staffing.call_next(self.context, agent.agent_id)
        if called is None:
            if now >= self.closes:
                self._set(agent, "offline", "offline")
            return
        self.waiting.discard(called.id)
        agent.state = "busy"
        visit = self.plans[called.id]
        if visit.outcome == "no_show":
            self.later(120, 240, lambda: self._no_show(agent, called.id))
        else:
            self.later(30, 90, lambda: self._serve(agent, called.id, visit))

    def _no_show(self, agent: _Agent, ticket_id: UUID) -> None:
        self.contexts.tickets.mark_no_show(self.context, ticket_id)
        self._free(agent, 20, 90)

    def _serve(self, agent: _Agent, ticket_id: UUID, visit: PlannedVisit) -> None:
        self.contexts.tickets.start_ticket(self.context, ticket_id)
        if visit.outcome == "transferred":
            self.later(120, 240, lambda: self._transfer(agent, ticket_id, visit))
        else:
            self.at(self.clock() + visit.service, lambda: self._close(agent, ticket_id, visit))

    def _transfer(self, agent: _Agent, ticket_id: UUID, visit: PlannedVisit) -> None:
        other = 1 - visit.queue
        self.contexts.tickets.transfer_ticket(
            self.context, ticket_id, self.queue_ids[other], placement="first"
        )
        self.plans[ticket_id] = replace(visit, queue=other, outcome="served")
        self.waiting.add(ticket_id)
        self._wake()  # the other desk is told at once; this agent wraps up a little first
        self._free(agent, 120, 240)

    def _close(self, agent: _Agent, ticket_id: UUID, visit: PlannedVisit) -> None:
        closed = self.contexts.tickets.close_ticket(self.context, ticket_id)
        self.summary.served += 1
        if visit.feedback is not None and closed.finished_at is not None:
            finished, scores = closed.finished_at, visit.feedback
            self.later(300, 3600, lambda: self._answer(ticket_id, finished, scores))
        self._free(agent, 20, 90)

    def _free(self, agent: _Agent, low: float, high: float) -> None:
        """The agent takes the next ticket between ``low`` and ``high`` seconds from now."""
        agent.state = "idle"
        self.later(low, high, lambda: self._next(agent))
