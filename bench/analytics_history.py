"""A tenant's year of visits, made by the real application in memory and copied into PostgreSQL.

The tenant (``--sites`` sites, four services, a queue or two and two agents per site) and every
visit are made by the application's own commands (``Tickets.issue_ticket``,
``Staffing.call_next``, ``start_ticket``, ``close_ticket``, ``mark_no_show``,
``cancel_ticket``) on a :class:`~application.app.SmartQueue` with in-memory persistence and a
clock the simulation sets to each instant, so every stored event (tickets, queues, agents, the
daily counters, their metadata and snapshots) is the one a real day would store, with the real
mapper, at a past time. Each day's new events are then copied into the PostgreSQL event store
with ``COPY``, in log order: about 20,000 events/s instead of the few hundred a second that
commands against PostgreSQL reach on this machine.

A day of a site: arrivals between 08:00 and 18:00 site-local time (busier around lunch), Monday
to Saturday; each agent calls the next ticket of their queue when free; some customers never
come (no-show), a few cancel after the call and some give up waiting (abandoned). Service times
are log-normal, sized so the agents are busy about 80% of the day, so lines and waits form.
Most sites are in Europe/Paris, every tenth in America/New_York.

Every visit is also kept as a :class:`VisitFact` (one row per visit: its keys, outcome, wait,
service time, SLA outcome), the input of the flat-table baseline.
"""

from __future__ import annotations

import contextlib
import heapq
import math
import random
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
from eventsourcing.domain import CanCreateTimestamp
from psycopg import sql

from application.app import SmartQueue
from application.catalogue import Catalogue
from application.context import CommandContext
from application.queues import Queues
from application.staffing import Staffing
from application.tenancy import Tenancy
from application.tickets import Tickets
from bench.environment import warn
from domain.agents import Agent
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from projections.queue_day import SlaRule

MAIN_TIMEZONE = "Europe/Paris"
OTHER_TIMEZONE = "America/New_York"
OPENS_HOUR, CLOSES_HOUR = 8, 18
OPEN_SECONDS = (CLOSES_HOUR - OPENS_HOUR) * 3600
DESK_MARGIN = timedelta(minutes=10)
"""Agents come on duty this long before opening and leave this long after the last visit."""
LUNCH_SHARE = 0.35  # of arrivals, around 12:30 (sd one hour); the rest spread evenly
UTILISATION = 0.8
SERVICE_SPREAD = 0.5  # sigma of the log-normal service time
NO_SHOW_SHARE = 0.06
CANCEL_AFTER_CALL_SHARE = 0.02
IMPATIENT_SHARE = 0.15  # customers who give up after 5 to 30 minutes still waiting
CHANNELS = {"kiosk": 50, "web": 20, "mobile": 20, "phone": 5, "counter": 5}
SERVICES = (("General", "A", 10), ("Payments", "B", 15), ("Accounts", "C", 20), ("Advice", "D", 30))
EVENTS_TABLE = "smartqueue_events"
SNAPSHOTS_TABLE = "smartqueue_snapshots"
COPY_COLUMNS = ("originator_id", "originator_version", "topic", "state")


@dataclass(frozen=True)
class HistoryPlan:
    """What to make: ``sites`` sites, ``visits_per_day`` visits per site and open day, over the
    ``days`` days up to ``last_day``."""

    sites: int
    days: int
    visits_per_day: int
    last_day: date
    seed: int = 7

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)


@dataclass(frozen=True)
class VisitFact:
    """One visit as a flat row: what the KPI read model folds, computed by the simulation."""

    ticket_id: uuid.UUID
    site_id: uuid.UUID
    service_id: uuid.UUID
    queue_id: uuid.UUID
    agent_id: uuid.UUID | None
    day: date
    """Site-local day and hour the visit started."""
    hour: int
    channel: str
    outcome: str
    """``served``, ``no_show``, ``cancelled`` (after the call) or ``abandoned`` (waiting)."""
    wait_seconds: float | None
    """Joining to the call; ``None`` for an abandoned visit."""
    service_seconds: float | None
    sla_met: bool | None
    """``None`` when the SLA rule does not count the visit."""


@dataclass
class Desk:
    """An agent at a counter, and whether a call of theirs is under way."""

    agent_id: uuid.UUID
    context: CommandContext
    busy: bool = False


@dataclass
class Line:
    """One queue of a site, its services and its agents."""

    site_id: uuid.UUID
    timezone: str
    queue_id: uuid.UUID
    service_ids: list[uuid.UUID]
    desks: list[Desk]
    visits_per_day: int
    waiting: int = 0


@dataclass
class Visit:
    """A visit under way in the simulation."""

    ticket_id: uuid.UUID
    line: Line
    service_id: uuid.UUID
    channel: str
    joined_at: datetime
    target_seconds: int
    status: str = "waiting"
    agent_id: uuid.UUID | None = None
    called_at: datetime | None = None
    started_at: datetime | None = None


@dataclass
class History:
    """What was made: the tenant, its sites' lines, every visit and the events copied."""

    plan: HistoryPlan
    tenant_id: uuid.UUID
    site_ids: list[uuid.UUID]
    lines: list[Line]
    facts: list[VisitFact] = field(default_factory=list)
    events: int = 0
    snapshots: int = 0
    seconds: float = 0.0


class Clock:
    """The application's clock, set by the simulation to the instant it plays."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Simulation:
    """Plays the plan's days through the application, one day of every site at a time."""

    def __init__(self, plan: HistoryPlan, sla: SlaRule) -> None:
        self.plan = plan
        self.sla = sla
        self.random = random.Random(plan.seed)
        start = datetime.combine(plan.first_day, datetime.min.time(), UTC) - timedelta(hours=12)
        self.clock = Clock(start)
        env = {"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC, "AGGREGATE_CACHE_MAXSIZE": "5000"}
        self.app = SmartQueue(env=env, clock=self.clock)
        self.tenancy = Tenancy(self.app)
        self.catalogue = Catalogue(self.app)
        self.queues = Queues(self.app)
        self.tickets = Tickets(self.app)
        self.staffing = Staffing(self.app)
        self.visits: dict[uuid.UUID, Visit] = {}
        self.facts: list[VisitFact] = []
        self.targets: dict[uuid.UUID, int] = {}
        self.sequence = 0

    # -- the tenant ---------------------------------------------------------------------------

    def set_up(self) -> History:
        """The tenant, its services, and per site its queues and agents."""
        slug = f"bench-analytics-{uuid.uuid4().hex[:8]}"
        tenant_id = self.tenancy.create_tenant(CommandContext.system(None), slug, "Bench Analytics")
        admin = CommandContext(tenant_id=tenant_id, actor_role="admin")
        services = []
        for name, code, minutes in SERVICES:
            service_id = self.catalogue.add_service(admin, name, code, minutes).id
            self.targets[service_id] = minutes * 60
            services.append(service_id)
        self.kiosk = CommandContext(tenant_id=tenant_id, actor_role="kiosk")
        site_ids, lines = [], []
        for index in range(self.plan.sites):
            zone = OTHER_TIMEZONE if index % 10 == 9 else MAIN_TIMEZONE
            site_id = self.catalogue.add_site(admin, f"Site {index + 1:02d}", zone).id
            site_ids.append(site_id)
            offered = [services[index % 4], services[(index + 1) % 4]]
            desks = [self._agent(admin, tenant_id, f"{index + 1}-{n}") for n in (1, 2)]
            if index % 4 == 3:  # two queues, one service and one agent each
                groups = [([offered[0]], desks[:1]), ([offered[1]], desks[1:])]
            else:
                groups = [(offered, desks)]
            for number, (served, staff) in enumerate(groups, start=1):
                queue_id = self.queues.open_queue(
                    admin, f"Line {number}", site_id, served, "fifo"
                ).id
                share = self.plan.visits_per_day // len(groups)
                if number == 1:
                    share += self.plan.visits_per_day % len(groups)
                lines.append(Line(site_id, zone, queue_id, served, staff, share))
                for desk in staff:  # their site, for the KPIs' time on duty
                    self.staffing.assign_agent_queues(admin, desk.agent_id, [queue_id])
        return History(self.plan, tenant_id, site_ids, lines)

    def _agent(self, admin: CommandContext, tenant_id: uuid.UUID, counter: str) -> Desk:
        user_id = uuid.uuid4()
        email = f"agent-{user_id.hex[:10]}@bench.test"
        self.tenancy.register_user(admin, user_id, email, f"Agent {counter}", "agent")
        agent_id = Agent.create_id(user_id)
        self.staffing.set_agent_status(admin, agent_id, "offline", counter)
        context = CommandContext(tenant_id=tenant_id, actor_id=user_id, actor_role="agent")
        return Desk(agent_id, context)

    # -- a day ----------------------------------------------------------------------------------

    def play_day(self, day: date, lines: Sequence[Line]) -> None:
        """Every site's visits of ``day`` (site-local), in time order across sites."""
        if day.weekday() == 6:
            return  # closed on Sundays
        agenda: list[tuple[datetime, int, str, object]] = []
        for line in lines:
            opening = datetime.combine(day, datetime.min.time(), ZoneInfo(line.timezone))
            opening += timedelta(hours=OPENS_HOUR)
            self._push(agenda, (opening - DESK_MARGIN).astimezone(UTC), "open", line)
            closing = opening + timedelta(seconds=OPEN_SECONDS) + DESK_MARGIN
            self._push(agenda, closing.astimezone(UTC), "close", line)
            for offset in self._arrivals(line.visits_per_day):
                arrival = (opening + timedelta(seconds=offset)).astimezone(UTC)
                self._push(agenda, arrival, "arrive", line)
        while agenda:
            at, _, action, subject = heapq.heappop(agenda)
            self.clock.now = at
            getattr(self, f"_{action}")(agenda, at, subject)

    def _arrivals(self, count: int) -> list[float]:
        offsets = []
        for _ in range(count):
            if self.random.random() < LUNCH_SHARE:
                offset = self.random.gauss(4.5 * 3600, 3600)
            else:
                offset = self.random.uniform(0, OPEN_SECONDS)
            offsets.append(min(max(offset, 0.0), OPEN_SECONDS - 60.0))
        return sorted(offsets)

    def _push(self, agenda: list, at: datetime, action: str, subject: object) -> None:
        self.sequence += 1
        heapq.heappush(agenda, (at, self.sequence, action, subject))

    def _later(self, at: datetime, low: float, high: float) -> datetime:
        return at + timedelta(seconds=self.random.uniform(low, high))

    def _service_seconds(self, line: Line) -> float:
        mean = UTILISATION * OPEN_SECONDS * len(line.desks) / max(line.visits_per_day, 1)
        mean = min(max(mean, 180.0), 1200.0)
        mu = math.log(mean) - SERVICE_SPREAD**2 / 2
        return self.random.lognormvariate(mu, SERVICE_SPREAD)

    def _open(self, agenda: list, at: datetime, line: Line) -> None:
        for desk in line.desks:
            self.staffing.set_agent_status(desk.context, desk.agent_id, "available")

    def _close(self, agenda: list, at: datetime, line: Line) -> None:
        """The agents go home once their line is empty and their last visit done."""
        if line.waiting or any(desk.busy for desk in line.desks):
            self._push(agenda, at + DESK_MARGIN, "close", line)
            return
        for desk in line.desks:
            self.staffing.set_agent_status(desk.context, desk.agent_id, "offline")

    def _arrive(self, agenda: list, at: datetime, line: Line) -> None:
        service_id = self.random.choice(line.service_ids)
        channel = self.random.choices(list(CHANNELS), weights=list(CHANNELS.values()))[0]
        ticket = self.tickets.issue_ticket(
            self.kiosk, line.queue_id, service_id=service_id, channel=channel
        )
        visit = Visit(ticket.id, line, service_id, channel, at, self.targets[service_id])
        self.visits[ticket.id] = visit
        line.waiting += 1
        if self.random.random() < IMPATIENT_SHARE:
            self._push(agenda, self._later(at, 300, 1800), "abandon", visit)
        for desk in line.desks:
            if not desk.busy:
                desk.busy = True
                self._push(agenda, self._later(at, 5, 40), "call", (line, desk))
                break

    def _call(self, agenda: list, at: datetime, subject: tuple[Line, Desk]) -> None:
        line, desk = subject
        called = self.staffing.call_next(desk.context, desk.agent_id, line.queue_id)
        if called is None:
            desk.busy = False
            return
        visit = self.visits[called.id]
        visit.status, visit.agent_id, visit.called_at = "called", desk.agent_id, at
        line.waiting -= 1
        fate = self.random.random()
        if fate < NO_SHOW_SHARE:
            self._push(agenda, self._later(at, 120, 180), "no_show", (visit, desk))
        elif fate < NO_SHOW_SHARE + CANCEL_AFTER_CALL_SHARE:
            self._push(agenda, self._later(at, 30, 90), "cancel", (visit, desk))
        else:
            self._push(agenda, self._later(at, 20, 90), "start", (visit, desk))

    def _start(self, agenda: list, at: datetime, subject: tuple[Visit, Desk]) -> None:
        visit, desk = subject
        self.tickets.start_ticket(desk.context, visit.ticket_id)
        visit.started_at = at
        finish = at + timedelta(seconds=self._service_seconds(visit.line))
        self._push(agenda, finish, "complete", subject)

    def _complete(self, agenda: list, at: datetime, subject: tuple[Visit, Desk]) -> None:
        visit, desk = subject
        self.tickets.close_ticket(desk.context, visit.ticket_id)
        self._finish(agenda, at, visit, desk, "served")

    def _no_show(self, agenda: list, at: datetime, subject: tuple[Visit, Desk]) -> None:
        visit, desk = subject
        self.tickets.mark_no_show(desk.context, visit.ticket_id)
        self._finish(agenda, at, visit, desk, "no_show")

    def _cancel(self, agenda: list, at: datetime, subject: tuple[Visit, Desk]) -> None:
        visit, desk = subject
        self.tickets.cancel_ticket(desk.context, visit.ticket_id, "changed their mind")
        self._finish(agenda, at, visit, desk, "cancelled")

    def _abandon(self, agenda: list, at: datetime, visit: Visit) -> None:
        if visit.status != "waiting":
            return
        self.tickets.cancel_ticket(self.kiosk, visit.ticket_id, "left", only_waiting=True)
        visit.line.waiting -= 1
        self._record(visit, at, "abandoned")

    def _finish(self, agenda: list, at: datetime, visit: Visit, desk: Desk, outcome: str) -> None:
        self._record(visit, at, outcome)
        if visit.line.waiting:
            self._push(agenda, self._later(at, 5, 30), "call", (visit.line, desk))
        else:
            desk.busy = False

    def _record(self, visit: Visit, at: datetime, outcome: str) -> None:
        del self.visits[visit.ticket_id]
        local = visit.joined_at.astimezone(ZoneInfo(visit.line.timezone))
        wait = service = None
        sla_met: bool | None = None
        if visit.called_at is not None:
            wait = (visit.called_at - visit.joined_at).total_seconds()
            if outcome != "no_show" or self.sla.count_no_show:
                sla_met = wait <= visit.target_seconds
        elif self.sla.count_abandoned:
            waited = (at - visit.joined_at).total_seconds()
            sla_met = False if waited > visit.target_seconds else None
        if visit.started_at is not None and outcome == "served":
            service = (at - visit.started_at).total_seconds()
        self.facts.append(
            VisitFact(
                visit.ticket_id,
                visit.line.site_id,
                visit.service_id,
                visit.line.queue_id,
                visit.agent_id,
                local.date(),
                local.hour,
                visit.channel,
                outcome,
                wait,
                service,
                sla_met,
            )
        )

    def snapshot_rows(self, ids: Sequence[uuid.UUID]) -> list[tuple]:
        """The newest snapshot of each of ``ids`` that has one, as rows to copy."""
        snapshots = self.app.snapshots
        rows = []
        if snapshots is None:
            return rows
        for originator_id in ids:
            found = snapshots.recorder.select_events(originator_id, desc=True, limit=1)
            rows += [(s.originator_id, s.originator_version, s.topic, s.state) for s in found]
        return rows


def notifications_after(app: SmartQueue, position: int) -> Iterator[tuple]:
    """The stored events after ``position``, as rows to copy, in log order."""
    while True:
        batch = app.recorder.select_notifications(position, 10_000, inclusive_of_start=False)
        for notification in batch:
            yield (
                notification.originator_id,
                notification.originator_version,
                notification.topic,
                notification.state,
            )
        if len(batch) < 10_000:
            return
        position = batch[-1].id


def copy_rows(connection: psycopg.Connection, table: str, rows: Iterator[tuple] | list) -> int:
    """``COPY`` rows of stored events into ``table``; how many."""
    columns = sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
    count = 0
    with connection.cursor().copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


@contextlib.contextmanager
def events_stamped_by(clock: Clock) -> Iterator[None]:
    """Every domain event created meanwhile is stamped with ``clock``'s time, not the wall
    clock's, through the library's ``create_timestamp()`` (the hook every event class inherits):
    the published ``occurred_at`` of a past visit is then its own time, as in a real log."""
    original = CanCreateTimestamp.__dict__["create_timestamp"]
    CanCreateTimestamp.create_timestamp = staticmethod(clock)  # type: ignore[method-assign]
    try:
        yield
    finally:
        CanCreateTimestamp.create_timestamp = original  # type: ignore[method-assign]


def make_history(database_url: str, plan: HistoryPlan, sla: SlaRule) -> History:
    """Play ``plan`` and copy its events, day by day, into the store at ``database_url``."""
    simulation = Simulation(plan, sla)
    with events_stamped_by(simulation.clock):
        return _make_history(database_url, simulation)


def _make_history(database_url: str, simulation: Simulation) -> History:
    started = time.perf_counter()
    plan = simulation.plan
    history = simulation.set_up()
    position = 0
    with psycopg.connect(database_url) as connection:
        for number in range(plan.days):
            day = plan.first_day + timedelta(days=number)
            simulation.play_day(day, history.lines)
            head = simulation.app.recorder.max_notification_id() or 0
            history.events += copy_rows(
                connection, EVENTS_TABLE, notifications_after(simulation.app, position)
            )
            position = head
            connection.commit()
            if (number + 1) % 30 == 0 or number + 1 == plan.days:
                elapsed = time.perf_counter() - started
                warn(
                    f"  history: {number + 1} of {plan.days} days, {history.events:,} events,"
                    f" {len(simulation.facts):,} visits in {elapsed:.0f} s"
                )
        long_lived = [history.tenant_id, *(line.queue_id for line in history.lines)]
        long_lived += [desk.agent_id for line in history.lines for desk in line.desks]
        history.snapshots = copy_rows(
            connection, SNAPSHOTS_TABLE, simulation.snapshot_rows(long_lived)
        )
        connection.commit()
    if simulation.visits:
        raise RuntimeError(f"{len(simulation.visits)} visits were left open at the end of a day")
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    history.facts = simulation.facts
    history.seconds = time.perf_counter() - started
    return history
