"""The sink agrees with the API: a generated month of activity (two sites in two time zones,
four queues, five agents, a few thousand tickets called, served, no-shown, cancelled,
abandoned and transferred, agents' shifts with a break, feedback given on the day or later,
both sites' DST changes inside it) is relayed by ``smartqueue relay`` to a real broker and
copied by ``smartqueue analytics-sink``, SIGKILLed three times meanwhile. Then the headline KPI
query of docs/analytics-sink.md, run on the sink's DuckDB file, gives the figures ``GET
analytics/kpis/?group_by=queue,day`` gives for the same range, counted by a ``smartqueue
projections`` process: counts exactly, means to floating-point rounding, and percentiles within
the sketch's relative accuracy (see ``assert_same_percentile``). The page's feedback query gives
that response's feedback figures, and its time-on-duty query ``group_by=agent,day``'s time on
duty, served and utilisation. The file holds every event of the notification log once.

The month is played through the application layer with a controlled clock (as the KPI unit
tests do), straight into a database of the module's own, in simulated-time order: a heap of
arrivals, agents' next actions and customers leaving."""

from __future__ import annotations

import heapq
import itertools
import os
import random
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import duckdb
import httpx
import pytest

from application.analytics import RELATIVE_ACCURACY
from application.context import CommandContext
from domain.agents import Agent
from infrastructure.analytics.status import SinkStatus, read_status
from infrastructure.container import Container
from tests.e2e.conftest import running_api
from tests.e2e.support import (
    PASSWORD,
    ReadModels,
    Session,
    Tenant,
    login,
    process_env,
    smartqueue_executable,
)
from tests.e2e.test_analytics_sink_kills import Sink, eventually
from tests.integration.conftest import fresh_container, on_own_broker
from tests.integration.kafka_support import RelayProcess, wait_relayed
from tests.integration.test_analytics_sink import log_event_ids
from tests.unit.test_analytics_sink_kpis import kpis
from tests.unit.test_analytics_sink_more_kpis import run

pytestmark = pytest.mark.e2e

kafka_bootstrap = on_own_broker()

SEED = 1717
KILLS = 3
# Played: a day either side of the range asked for, so the range's edges are tested too.
PLAYED_FROM, PLAYED_TO = date(2026, 10, 4), date(2026, 11, 4)
RANGE_FROM, RANGE_TO = date(2026, 10, 5), date(2026, 11, 3)
ARRIVALS_PER_QUEUE_DAY = 5  # about 670 tickets, 6,300 events in all
COUNTS = ("served", "no_shows", "cancellations", "waits_counted", "services_counted")
PERCENTILES = ("p50", "p90", "p95")
FEEDBACK = (
    "csat_responses",
    "csat_mean",
    "csat_satisfied",
    "csat_satisfied_rate",
    "nps_responses",
    "nps_promoters",
    "nps_detractors",
    "nps",
)
DUTY = (
    "on_duty_seconds",
    "paused_seconds",
    "served",
    "services_counted",
    "utilisation",
    "served_per_agent_hour",
)


@pytest.fixture(scope="module")
def container(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """A database of the module's own: its log is exactly what the sink must hold, and the
    thousands of events the month writes stay out of the session's log."""
    yield from fresh_container(database_url, redis_url, tmp_path_factory)


class Clock:
    """The application's clock, moved by the simulation."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Floor:
    """The tenant as the month plays it: queues by site, each agent on one queue."""

    tenant: Tenant
    context: CommandContext
    queues: dict[UUID, ZoneInfo] = field(default_factory=dict)  # queue -> its site's zone
    site_queues: dict[UUID, list[UUID]] = field(default_factory=dict)
    agents: dict[UUID, UUID] = field(default_factory=dict)  # agent -> its queue


def set_up_floor(container: Container, clock: Clock) -> Floor:
    slug = f"agree-{uuid.uuid4().hex[:10]}"
    email = f"admin@{slug}.test"
    tenant_id, _ = container.identity.create_tenant(
        CommandContext.system(None), slug, "Agreeing tenant", email, PASSWORD
    )
    floor = Floor(Tenant(str(tenant_id), slug, email, PASSWORD), CommandContext.system(tenant_id))
    context, catalogue = floor.context, container.catalogue
    services = [
        catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10).id,
        catalogue.add_service(context, "Loans", "L", target_wait_minutes=20).id,
    ]
    for site_name, zone in (("Paris", "Europe/Paris"), ("Montreal", "America/Montreal")):
        site_id = catalogue.add_site(context, site_name, zone).id
        floor.site_queues[site_id] = []
        for service_id in services:
            queue_id = container.queues.open_queue(
                context, f"{site_name} {service_id.hex[:4]}", site_id, [service_id], "fifo"
            ).id
            floor.queues[queue_id] = ZoneInfo(zone)
            floor.site_queues[site_id].append(queue_id)
    # Five agents: two on the first Paris queue, one on each other queue.
    served = list(floor.queues)
    for number, queue_id in enumerate([served[0], *served]):
        user = container.identity.create_user(
            context, f"agent{number}@{slug}.test", PASSWORD, f"Agent {number}", "agent"
        )
        agent_id = Agent.create_id(user.id)
        container.staffing.set_agent_status(context, agent_id, "available")
        if number % 2 == 0:  # the others are placed by their calls' queue
            container.staffing.assign_agent_queues(context, agent_id, [queue_id])
        floor.agents[agent_id] = queue_id
    return floor


class Month:
    """The generated month, played in simulated-time order through the application."""

    def __init__(self, container: Container, floor: Floor, clock: Clock, seed: int) -> None:
        self.app, self.floor, self.clock = container, floor, clock
        self.rng = random.Random(seed)
        self.heap: list[tuple[datetime, int, Callable[[], None]]] = []
        self.sequence = itertools.count()
        self.waiting: dict[UUID, list[UUID]] = {queue_id: [] for queue_id in floor.queues}
        self.idle: set[UUID] = set(floor.agents)
        self.away: set[UUID] = set()  # paused or offline
        self.feedbacks = 0
        self.tickets = 0
        self.other_queue = {
            queue_id: next(other for other in queues if other != queue_id)
            for queues in floor.site_queues.values()
            for queue_id in queues
        }

    def later(self, moment: datetime, action: Callable[[], None]) -> None:
        heapq.heappush(self.heap, (moment, next(self.sequence), action))

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=round(self.rng.uniform(low, high) * 60))

    def plan_day(self, day: date) -> None:
        for queue_id, zone in self.floor.queues.items():
            opening = datetime(day.year, day.month, day.day, 8, tzinfo=zone).astimezone(UTC)
            count = self.rng.randint(ARRIVALS_PER_QUEUE_DAY // 2, ARRIVALS_PER_QUEUE_DAY * 3 // 2)
            for _ in range(count):  # 08:00-18:00 at the site, whatever the UTC offset that day
                arrival = opening + timedelta(seconds=self.rng.randrange(10 * 3600))
                self.later(arrival, lambda q=queue_id: self.arrive(q))

    def plan_shifts(self, day: date) -> None:
        """Each agent comes in at 07:45 at their site, takes a break around noon and goes home
        at 19:00 (each step waits until the agent holds no ticket)."""
        for agent_id, queue_id in self.floor.agents.items():
            zone = self.floor.queues[queue_id]
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=zone).astimezone(UTC)
            self.later(noon - timedelta(minutes=255), lambda a=agent_id: self.come_in(a))
            self.later(noon + self.minutes(0, 90), lambda a=agent_id, n=noon: self.pause(a, n))
            self.later(noon + timedelta(hours=7), lambda a=agent_id: self.go_home(a))

    def status(self, agent_id: UUID, status: str) -> None:
        self.app.staffing.set_agent_status(self.floor.context, agent_id, status)

    def come_in(self, agent_id: UUID) -> None:
        if agent_id in self.away:
            self.away.discard(agent_id)
            self.status(agent_id, "available")
            self.free(agent_id)

    def pause(self, agent_id: UUID, noon: datetime) -> None:
        if agent_id in self.away or self.clock.now > noon + timedelta(hours=3):
            return
        if agent_id not in self.idle:  # holding a ticket: a little later
            self.later(self.clock.now + timedelta(minutes=5), lambda: self.pause(agent_id, noon))
            return
        self.idle.discard(agent_id)
        self.away.add(agent_id)
        self.status(agent_id, "paused")
        self.later(self.clock.now + self.minutes(20, 45), lambda: self.come_in(agent_id))

    def go_home(self, agent_id: UUID) -> None:
        if agent_id in self.away:
            return
        if agent_id not in self.idle:
            self.later(self.clock.now + timedelta(minutes=15), lambda: self.go_home(agent_id))
            return
        self.idle.discard(agent_id)
        self.away.add(agent_id)
        self.status(agent_id, "offline")

    def play(self, until: datetime) -> None:
        while self.heap and self.heap[0][0] <= until:
            moment, _, action = heapq.heappop(self.heap)
            self.clock.now = moment
            action()

    def wake(self, queue_id: UUID) -> None:
        for agent_id in sorted(self.idle):
            if self.floor.agents[agent_id] == queue_id:
                self.idle.discard(agent_id)
                self.later(self.clock.now, lambda a=agent_id: self.free(a))
                return

    def arrive(self, queue_id: UUID) -> None:
        channel = self.rng.choice(("kiosk", "kiosk", "web", "phone", "counter"))
        ticket_id = self.app.tickets.issue_ticket(self.floor.context, queue_id, channel=channel).id
        self.tickets += 1
        self.waiting[queue_id].append(ticket_id)
        if self.rng.random() < 0.06:  # some leave if not called soon enough
            self.later(self.clock.now + self.minutes(2, 30), lambda: self.leave(ticket_id))
        self.wake(queue_id)

    def leave(self, ticket_id: UUID) -> None:
        for line in self.waiting.values():
            if ticket_id in line:
                line.remove(ticket_id)
                self.app.tickets.cancel_ticket(self.floor.context, ticket_id, "left")

    def free(self, agent_id: UUID) -> None:
        """The agent, free, calls the next ticket of its queue or goes idle."""
        queue_id = self.floor.agents[agent_id]
        if not self.waiting[queue_id]:
            self.idle.add(agent_id)
            return
        called = self.app.staffing.call_next(self.floor.context, agent_id, queue_id)
        assert called is not None and called.id == self.waiting[queue_id].pop(0)
        ticket_id, now, draw = called.id, self.clock.now, self.rng.random()
        if draw < 0.07:
            self.later(
                now + self.minutes(1, 3), lambda: self.end(agent_id, "mark_no_show", ticket_id)
            )
        elif draw < 0.10:
            self.later(
                now + self.minutes(0.5, 2), lambda: self.end(agent_id, "cancel_ticket", ticket_id)
            )
        else:
            started = now + self.minutes(0.2, 1.5)
            self.later(started, lambda: self.command("start_ticket", ticket_id))
            if draw > 0.95:  # sent on to the site's other queue
                moment = started + self.minutes(1, 4)
                self.later(moment, lambda: self.transfer(agent_id, ticket_id, queue_id))
            else:
                moment = started + self.minutes(2, 15)
                self.later(moment, lambda: self.end(agent_id, "close_ticket", ticket_id))

    def command(self, name: str, ticket_id: UUID) -> None:
        getattr(self.app.tickets, name)(self.floor.context, ticket_id)

    def end(self, agent_id: UUID, name: str, ticket_id: UUID) -> None:
        self.command(name, ticket_id)
        if name == "close_ticket" and self.rng.random() < 0.35:  # on the day, or the next
            self.later(self.clock.now + self.minutes(1, 600), lambda: self.answer(ticket_id))
        self.free(agent_id)

    def answer(self, ticket_id: UUID) -> None:
        """The customer gives CSAT only, NPS only or both."""
        feedback = self.app.feedback
        assert feedback is not None
        # The link's pass is checked against the wall clock: issue it now, for now.
        link = feedback.feedback_link(self.floor.context.tenant_id, ticket_id, datetime.now(UTC))
        kind = self.rng.randrange(3)
        feedback.submit_feedback(
            link.rsplit("/", 1)[-1],
            csat=self.rng.randint(1, 5) if kind != 1 else None,
            nps=self.rng.randint(0, 10) if kind != 0 else None,
        )
        self.feedbacks += 1

    def transfer(self, agent_id: UUID, ticket_id: UUID, queue_id: UUID) -> None:
        target = self.other_queue[queue_id]
        self.app.tickets.transfer_ticket(self.floor.context, ticket_id, target)
        self.waiting[target].append(ticket_id)
        self.wake(target)
        self.free(agent_id)


def api_kpis(session: Session, by: str = "queue") -> dict[tuple[str, date], dict[str, Any]]:
    """Every row of ``GET analytics/kpis/`` for the range by ``by`` (queue or agent) and day,
    page by page."""
    rows: dict[tuple[str, date], dict[str, Any]] = {}
    params: dict[str, str] = {
        "from": RANGE_FROM.isoformat(),
        "to": RANGE_TO.isoformat(),
        "group_by": f"{by},day",
        "limit": "200",
    }
    while True:
        response = session.get("analytics/kpis/", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["relative_accuracy"] == RELATIVE_ACCURACY
        for item in body["items"]:
            rows[(str(item[f"{by}_id"]), date.fromisoformat(item["day"]))] = item
        if body["next_cursor"] is None:
            return rows
        params["cursor"] = body["next_cursor"]


def assert_same_percentile(api: float | None, sink: float | None, what: str) -> None:
    """Both sides define a group's p-quantile as the value at rank ``floor(q * (n - 1))`` of its
    sorted durations (docs/analytics.md): the SQL picks that very value, the API returns
    DDSketch's estimate of it, whose relative accuracy (1 %) bounds the error by 1 % of the
    value. Interpolated percentiles (DuckDB's ``quantile_cont``) or DuckDB's ``quantile_disc``
    (which rounds ``q * (n - 1)`` to the nearest rank rather than down) would not be bounded so:
    two neighbouring waits of a queue-day are often minutes apart."""
    if sink is None or api is None:
        assert api is None and sink is None, what
        return
    assert abs(api - sink) <= RELATIVE_ACCURACY * sink + 1e-9, f"{what}: API {api}, sink {sink}"


def close_to(value: float | None) -> Any:
    """The API's figure to floating-point rounding (``None`` exactly: nothing to divide by)."""
    return None if value is None else pytest.approx(value, rel=1e-9)


def test_the_sinks_kpis_for_a_month_equal_the_apis_though_the_sink_was_killed_three_times(
    container: Container,
    kafka_bootstrap: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    rng = random.Random(SEED)
    clock = Clock(datetime(2026, 10, 2, tzinfo=UTC))
    real_clock = container.app.clock
    container.app.clock = clock
    feedbacks = container.feedback
    assert feedbacks is not None
    real_feedback_clock, feedbacks.clock = feedbacks.clock, clock
    database = tmp_path / "analytics" / "events.duckdb"
    sink_env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "SMARTQUEUE_HOME": str(tmp_path),
        "SMARTQUEUE_LOG_FORMAT": "json",
        "SMARTQUEUE_LOG_LEVEL": "INFO",
        "SMARTQUEUE_ANALYTICS_SINK_GROUP": f"agree-{uuid.uuid4().hex[:8]}",
        "SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS": "0.5",
        "SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE": "100",  # many transactions: kills land in them
    }
    projections: subprocess.Popen | None = None
    relay = RelayProcess(container.database_url, kafka_bootstrap, tmp_path)
    sinks = [Sink(sink_env, tmp_path)]

    def status() -> SinkStatus | None:
        try:
            return read_status(database)
        except (OSError, ValueError):  # replaced while read
            return None

    def storing(sink: Sink) -> bool:
        now = status()
        return now is not None and now.at.timestamp() > sink.started and now.written > 0

    try:
        floor = set_up_floor(container, clock)
        month = Month(container, floor, clock, SEED)
        assert relay.wait_active(60), relay.log.read_text(errors="replace")
        days = [PLAYED_FROM + timedelta(days=n) for n in range((PLAYED_TO - PLAYED_FROM).days + 1)]
        kill_after = set(rng.sample(range(4, len(days) - 2), KILLS))
        for index, day in enumerate(days):
            month.plan_day(day)
            month.plan_shifts(day)
            month.play(datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
            if index in kill_after:
                sink = sinks[-1]
                eventually(partial(storing, sink), 90, f"the sink stores ({sink.log})")
                sink.kill()
                sinks.append(Sink(sink_env, tmp_path))  # as a supervisor would
        month.play(datetime.max.replace(tzinfo=UTC))
        generated = time.monotonic() - began
        assert month.tickets > 500
        # The read models catch up once the month is played: in batches, the CPU the month's
        # commands, the relay and the sinks leave on a loaded machine is small.
        with (tmp_path / "projections.stderr").open("wb") as projections_log:
            projections = subprocess.Popen(
                [smartqueue_executable(), "projections"],
                env=process_env(container.database_url, tmp_path, redis_url),
                stdout=subprocess.DEVNULL,
                stderr=projections_log,
            )

        head = container.app.recorder.max_notification_id() or 0
        assert wait_relayed(container.read_engine, container, head, timeout=90)
        expected = log_event_ids(container)

        def caught_up() -> bool:
            now = status()
            return now is not None and now.events >= len(expected) and now.behind == 0

        eventually(caught_up, 120, f"the sink caught up ({sinks[-1].log})")
        sinks[-1].stop()  # DuckDB: no reader beside the writing process
        with (
            running_api(container.database_url, redis_url, tmp_path) as base_url,
            httpx.Client(base_url=base_url, timeout=60.0) as client,
        ):
            ReadModels(container.database_url).caught_up("kpis", timeout=120)
            admin = login(client, floor.tenant, floor.tenant.admin_email)
            from_api = api_kpis(admin)
            agents_from_api = api_kpis(admin, "agent")
    finally:
        container.app.clock = real_clock
        feedbacks.clock = real_feedback_clock
        for sink in sinks:
            sink.stop()
        relay.stop()
        if projections is not None:
            projections.terminate()
            projections.wait(15)

    assert [sink.process.returncode for sink in sinks[:-1]] == [-9] * KILLS
    connection = duckdb.connect(str(database), read_only=True)
    try:
        stored = [row[0] for row in connection.execute("SELECT event_id FROM events").fetchall()]
        from_sink = {
            key: row
            for key, row in kpis(connection, RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
        feedback_from_sink = {
            key: row
            for key, row in run(connection, "feedback-sql", RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
        duty_from_sink = {
            key: row
            for key, row in run(connection, "duty-sql", RANGE_FROM, RANGE_TO).items()
            if str(row["tenant_id"]) == floor.tenant.id
        }
    finally:
        connection.close()
    print(
        f"\nsink agrees with API: {month.tickets} tickets, {month.feedbacks} feedbacks,"
        f" {len(expected)} events, generated in"
        f" {generated:.1f} s; {len(from_api)} queue-days, {len(duty_from_sink)} agent-days;"
        f" whole test"
        f" {time.monotonic() - began:.1f} s"
    )
    # No event lost or doubled, through three kills.
    assert len(stored) == len(set(stored)), "an event stored twice"
    assert set(stored) == set(expected)

    assert set(from_sink) == set(from_api)
    assert len(from_api) == len(floor.queues) * ((RANGE_TO - RANGE_FROM).days + 1)
    transfers = 0
    for key, sink_row in sorted(from_sink.items()):
        api_row = from_api[key]
        what = f"queue {key[0]} on {key[1]}"
        # The API's arrivals are every visit begun, transfers in under the channel `transfer`;
        # the SQL counts those apart, as transferred_in.
        transferred_in = api_row["arrivals_by_channel"].get("transfer", 0)
        assert (api_row["arrivals"] - transferred_in, transferred_in) == (
            sink_row["arrivals"],
            sink_row["transferred_in"],
        ), what
        transfers += transferred_in
        assert {name: api_row[name] for name in COUNTS} == {
            name: sink_row[name] for name in COUNTS
        }, what
        for kind in ("wait", "service"):
            mean = f"{kind}_mean_seconds"
            assert api_row[mean] == pytest.approx(sink_row[mean], rel=1e-9), f"{what}: {mean}"
            for percentile in PERCENTILES:
                name = f"{kind}_{percentile}_seconds"
                assert_same_percentile(api_row[name], sink_row[name], f"{what}: {name}")
    # The month had every outcome, in the range asked for.
    totals = {name: sum(row[name] for row in from_sink.values()) for name in COUNTS}
    assert min(totals.values()) > 0 and transfers > 0, (totals, transfers)

    # Feedback: the queue-days some was given on, with the API's figures.
    rated = {key for key, row in from_api.items() if row["csat_responses"] or row["nps_responses"]}
    assert set(feedback_from_sink) == rated
    for key, sink_row in sorted(feedback_from_sink.items()):
        api_row = from_api[key]
        expected_figures = {name: close_to(api_row[name]) for name in FEEDBACK}
        assert {name: sink_row[name] for name in FEEDBACK} == expected_figures, key
    counted = (
        "csat_responses",
        "csat_satisfied",
        "nps_responses",
        "nps_promoters",
        "nps_detractors",
    )
    answered = {name: sum(row[name] for row in feedback_from_sink.values()) for name in counted}
    assert min(answered.values()) > 0, answered
    # Time on duty: every agent-day with duty or a visit called, with the API's figures (the
    # API's row of the visits no agent called has no counterpart).
    worked = {
        key
        for key, row in agents_from_api.items()
        if key[0] != "None" and (row["on_duty_seconds"] or row["arrivals"])
    }
    assert set(duty_from_sink) == worked
    assert len(worked) >= len(floor.agents) * ((RANGE_TO - RANGE_FROM).days + 1)
    for key, sink_row in sorted(duty_from_sink.items()):
        api_row = agents_from_api[key]
        expected_figures = {name: close_to(api_row[name]) for name in DUTY}
        assert {name: sink_row[name] for name in DUTY} == expected_figures, key
    paused = sum(row["paused_seconds"] for row in duty_from_sink.values())
    assert paused > 0
