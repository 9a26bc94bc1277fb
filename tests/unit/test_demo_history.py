"""The demo's past days: the settable clock, the plan of a day and the played week, in memory."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from types import SimpleNamespace
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from application.demo_history import (
    SettableClock,
    open_days,
    plan_day,
    seed_history,
)
from domain.agents import Agent
from domain.tickets import Ticket
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from projections.kpis import KpiFold
from tests.unit.world import TransactionSpy, World, make_world

PARIS = ZoneInfo("Europe/Paris")
A_MONDAY = date(2026, 12, 7)


def test_the_settable_clock_reads_the_real_time_until_set_and_again_once_released():
    clock = SettableClock()
    past = datetime(2026, 11, 30, 9, 15, tzinfo=UTC)

    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)
    clock.set(past)
    assert clock() == past == clock()
    clock.release()
    assert clock() > past + timedelta(days=1)
    with pytest.raises(ValueError, match="aware"):
        clock.set(datetime(2026, 11, 30, 9, 15))


def test_the_past_days_are_the_open_days_before_today_sunday_closed_saturday_a_morning():
    days = open_days(A_MONDAY, 7, PARIS)

    assert [day.isoformat() for day, _, _ in days] == [
        "2026-11-30",
        "2026-12-01",
        "2026-12-02",
        "2026-12-03",
        "2026-12-04",
        "2026-12-05",
    ]
    monday, *_, saturday = days
    assert (monday[1].astimezone(PARIS).time(), monday[2].astimezone(PARIS).time()) == (
        time(9, 0),
        time(17, 30),
    )
    assert saturday[2].astimezone(PARIS).time() == time(12, 30)
    assert open_days(A_MONDAY, 0, PARIS) == []


def test_a_days_plan_is_busier_late_morning_and_early_afternoon_with_a_channel_mix():
    _, opens, closes = open_days(A_MONDAY, 7, PARIS)[0]
    hours: Counter[int] = Counter()
    channels: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for seed in range(20):
        plan = plan_day(opens, closes, PARIS, random.Random(seed))
        assert [visit.arrives_at for visit in plan] == sorted(visit.arrives_at for visit in plan)
        assert all(opens <= visit.arrives_at < closes - timedelta(minutes=10) for visit in plan)
        assert 20 <= len(plan) <= 40
        assert sum(visit.outcome == "transferred" for visit in plan) in (1, 2)
        hours.update(visit.arrives_at.astimezone(PARIS).hour for visit in plan)
        channels.update(visit.channel for visit in plan)
        outcomes.update(visit.outcome for visit in plan)

    assert min(hours[11], hours[13]) > max(hours[9], hours[16])
    assert {"kiosk", "web", "counter"} <= set(channels)
    assert channels.most_common(1)[0][0] == "kiosk"
    assert outcomes["served"] > outcomes["cancelled"] + outcomes["no_show"] > 0


def _demo_floor(clock: SettableClock) -> tuple[World, tuple[UUID, UUID], list[UUID]]:
    app = TransactionSpy(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=clock)
    world = make_world(app=app)
    queues = (
        world.queue(world.service("A", 10)),
        world.queue(world.service("B", 20), algorithm="priority"),
    )
    agents = []
    for _ in range(2):
        user_id = uuid4()
        world.tenancy.register_user(world.context, user_id, f"{user_id}@x.test", "Ag", "agent")
        agent_id = Agent.create_id(user_id)
        world.staffing.assign_agent_queues(world.context, agent_id, list(queues))
        agents.append(agent_id)
    return world, queues, agents


def test_the_played_week_counts_every_open_day_and_leaves_nothing_open_for_today():
    clock = SettableClock()
    world, queues, agents = _demo_floor(clock)
    contexts = SimpleNamespace(tickets=world.tickets, staffing=world.staffing, feedback=None)

    summary = seed_history(contexts, world.context, clock, queues, agents, 7)

    today = datetime.now(UTC).astimezone(PARIS).date()
    assert summary.days == [day for day, _, _ in open_days(today, 7, PARIS)]
    assert abs(clock() - datetime.now(UTC)) < timedelta(seconds=5)  # released
    events = [
        world.app.mapper.to_domain_event(n)
        for n in world.app.recorder.select_notifications(start=1, limit=100_000)
    ]
    fold = KpiFold()
    fold.apply_all(events)
    per_day: dict[date, Counter[str]] = {}
    for bucket in fold.buckets():
        figures = per_day.setdefault(bucket.day, Counter())
        figures.update(
            arrivals=bucket.arrival_count, served=bucket.served, waits=bucket.waits_counted
        )
    assert sorted(per_day) == summary.days
    assert all(f["arrivals"] and f["served"] and f["waits"] for f in per_day.values())
    assert sum(f["served"] for f in per_day.values()) == summary.served
    # Numbers restart every day, and none was issued today: today's A-001 is still to come.
    issued = [event for event in events if isinstance(event, Ticket.Issued)]
    assert len(issued) == summary.visits
    numbers = {(e.issued_at.astimezone(PARIS).date(), e.number) for e in issued}
    assert all((day, "A-001") in numbers and (day, "B-001") in numbers for day in summary.days)
    assert all(e.issued_at.astimezone(PARIS).date() < today for e in issued)
    for queue_id in queues:
        assert world.tickets.get_next_waiting(world.tenant_id, queue_id, 5) == []
    # Each day: available at opening, a lunch break on a full day, offline after the last visit.
    one_day = {5: ["available", "offline"]}  # Saturday closes before lunch
    expected_statuses = [
        status
        for day in summary.days
        for status in one_day.get(day.weekday(), ["available", "paused", "available", "offline"])
    ]
    for agent_id in agents:
        statuses = [
            event.status
            for event in events
            if isinstance(event, Agent.StatusChanged) and event.originator_id == agent_id
        ]
        assert statuses == expected_statuses
        agent = world.staffing.get_agent(world.tenant_id, agent_id)
        assert (agent.status, agent.current_ticket_id) == ("offline", None)
