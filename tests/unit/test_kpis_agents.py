"""KPIs of agents and feedback, worked out by hand from a scripted day in Paris (CET, UTC+1):
time on duty and paused, utilisation, served per agent-hour, handle time, CSAT and NPS."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.analytics import DutyFigures, KpiRow, merge_kpis
from application.feedback import Feedbacks
from infrastructure.identity.ticket_passes import HmacTicketPasses
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from projections.kpis import DutyBucket, KpiFold
from tests.unit.event_log import logged_events
from tests.unit.test_feedback import MemoryComments
from tests.unit.test_kpis_scripted_week import figures
from tests.unit.world import Clock, TransactionSpy, make_world

MONDAY = date(2026, 11, 16)


def utc(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 16, hour, minute, tzinfo=UTC)


def duty_figures(hour: DutyBucket) -> DutyFigures:
    return DutyFigures(**{name: getattr(hour, name) for name in DutyFigures.__struct_fields__})


def in_memory(start: datetime) -> TransactionSpy:
    return TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(start)
    )


def scripted_day():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(utc(7))
    )
    world = make_world(app=app)
    passes = HmacTicketPasses(b"f" * 32, clock=lambda: world.clock().timestamp())
    feedbacks = Feedbacks(app, passes, MemoryComments(), clock=world.clock)
    queue = world.queue(world.service("A", 10))
    ctx = world.context

    def at(hour: int, minute: int = 0) -> None:
        world.clock.now = utc(hour, minute)

    def serve(issued: tuple[int, int], called: tuple[int, int], started, ended, outcome="close"):
        at(*issued)
        ticket = world.tickets.issue_ticket(ctx, queue, channel="kiosk")
        at(*called)
        assert world.staffing.call_next(ctx, agent, queue).id == ticket.id
        if started:
            at(*started)
            world.tickets.start_ticket(ctx, ticket.id)
        at(*ended)
        if outcome == "close":
            return world.tickets.close_ticket(ctx, ticket.id)
        return world.tickets.mark_no_show(ctx, ticket.id)

    def feedback(ticket, hour: int, minute: int, csat: int, nps: int) -> None:
        at(hour, minute)
        token = feedbacks.feedback_link(world.tenant_id, ticket.id, world.clock()).split("/")[-1]
        feedbacks.submit_feedback(token, csat=csat, nps=nps)

    at(8)  # 09:00 in Paris: on duty
    agent = world.agent("1")
    world.staffing.assign_agent_queues(ctx, agent, [queue])
    first = serve((8, 10), (8, 20), (8, 22), (8, 32))  # waited 600, served 600, handled 720
    serve((8, 40), (8, 45), None, (8, 50), outcome="no-show")  # handled 300
    feedback(first, 9, 5, csat=5, nps=10)  # given at 10:05 Paris
    at(11)  # 12:00 Paris: lunch
    world.staffing.set_agent_status(ctx, agent, "paused")
    at(12)
    world.staffing.set_agent_status(ctx, agent, "available")
    third = serve((12, 30), (12, 31), (12, 32), (12, 52))  # served 1200, handled 1260
    feedback(third, 13, 10, csat=2, nps=3)
    at(16)  # 17:00 Paris: off duty
    world.staffing.set_agent_status(ctx, agent, "offline")
    fold = KpiFold()
    fold.apply_all(logged_events(app))
    return world, agent, queue, fold


@pytest.fixture(scope="module")
def day():
    return scripted_day()


def kpi_rows(fold: KpiFold, groups: tuple[str, ...]) -> list[KpiRow]:
    buckets = [figures(bucket) for bucket in fold.buckets()]
    return merge_kpis(buckets, groups, [duty_figures(hour) for hour in fold.duty()])


def test_time_on_duty_is_counted_per_site_local_hour_with_the_paused_part(day):
    world, agent, _, fold = day
    hours = {(h.agent_id, h.site_id, h.day, h.hour): h for h in fold.duty()}
    assert set(hours) == {(agent, world.site_id, MONDAY, hour) for hour in range(9, 17)}
    assert all(h.on_duty_seconds == 3600 for h in hours.values())
    assert [h.paused_seconds for _, h in sorted(hours.items(), key=lambda kv: kv[0][3])] == [
        0,
        0,
        0,
        3600,  # 12:00 to 13:00 Paris
        0,
        0,
        0,
        0,
    ]


def test_an_agents_utilisation_handle_time_and_feedback_over_the_day(day):
    _, agent, _, fold = day
    (row,) = [row for row in kpi_rows(fold, ("agent",)) if row.agent_id == agent]
    assert (row.arrivals, row.served, row.no_shows) == (3, 2, 1)
    assert row.on_duty_seconds == 8 * 3600
    assert row.paused_seconds == 3600
    assert row.utilisation == pytest.approx((600 + 1200) / (8 * 3600))
    assert row.served_per_agent_hour == pytest.approx(2 / 8)
    assert row.handles_counted == 3
    assert row.handle_mean_seconds == pytest.approx((720 + 300 + 1260) / 3)
    assert (row.csat_responses, row.csat_satisfied) == (2, 1)
    assert row.csat_mean == pytest.approx(3.5)
    assert row.csat_satisfied_rate == pytest.approx(0.5)
    assert (row.nps_responses, row.nps_promoters, row.nps_detractors) == (2, 1, 1)
    assert row.nps == 0


def test_feedback_counts_in_the_hour_it_was_given(day):
    _, _, _, fold = day
    by_hour = {row.hour: row for row in kpi_rows(fold, ("hour",))}
    assert by_hour[10].csat_responses == 1 and by_hour[10].arrivals == 0
    assert by_hour[10].nps == 100
    assert by_hour[14].csat_mean == 2 and by_hour[14].nps == -100
    # an hour on duty with no visit is a row too: 11:00 Paris, nothing but time on duty
    assert by_hour[11].arrivals == 0 and by_hour[11].on_duty_seconds == 3600
    assert by_hour[11].utilisation == 0


def test_the_heat_map_groups_by_weekday_and_hour(day):
    _, _, _, fold = day
    cells = {(row.weekday, row.hour): row for row in kpi_rows(fold, ("weekday", "hour"))}
    assert {weekday for weekday, _ in cells} == {1}  # a Monday
    assert cells[(1, 9)].arrivals == 2 and cells[(1, 13)].arrivals == 1
    assert cells[(1, 9)].wait_mean_seconds == pytest.approx((600 + 300) / 2)


def test_time_on_duty_belongs_to_no_service_or_queue(day):
    _, _, _, fold = day
    (row,) = kpi_rows(fold, ("service",))
    assert row.on_duty_seconds is None and row.utilisation is None
    assert row.served_per_agent_hour is None
    (whole,) = kpi_rows(fold, ())
    assert whole.on_duty_seconds == 8 * 3600


def test_an_agent_without_a_queue_is_on_duty_under_no_site_in_utc():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(utc(8))
    )
    world = make_world(app=app)
    agent = world.agent("1")
    world.clock.now = utc(9, 30)
    world.staffing.set_agent_status(world.context, agent, "offline")
    fold = KpiFold()
    fold.apply_all(logged_events(app))
    assert [(h.site_id, h.hour, h.on_duty_seconds) for h in fold.duty()] == [
        (None, 8, 3600),
        (None, 9, 1800),
    ]


def test_the_fold_state_keeps_agents_on_duty_across_a_restore():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(utc(8))
    )
    other = make_world(app=app)
    someone = other.agent(str(uuid4())[:4])
    events = logged_events(app)
    fold = KpiFold()
    fold.apply_all(events)
    restored = KpiFold.restore(fold.dump())
    other.clock.now = utc(10)
    other.staffing.set_agent_status(other.context, someone, "offline")
    restored.apply_all(logged_events(app)[len(events) :])
    assert sum(h.on_duty_seconds for h in restored.duty()) == 2 * 3600


GROUPINGS = [(), ("site",), ("agent",), ("day",), ("weekday", "hour"), ("site", "agent", "month")]


@given(
    hours=st.lists(
        st.tuples(
            st.sampled_from([uuid4(), uuid4(), uuid4()]),
            st.sampled_from([uuid4(), None]),
            st.dates(date(2026, 1, 1), date(2026, 12, 31)),
            st.integers(0, 23),
            st.integers(0, 3600),
            st.integers(0, 3600),
        ),
        max_size=40,
    ),
    groups=st.sampled_from(GROUPINGS),
)
def test_time_on_duty_merged_per_group_adds_up_to_the_whole(hours, groups):
    duty = [
        DutyFigures(
            agent_id=agent,
            site_id=site,
            day=day,
            hour=hour,
            on_duty_seconds=float(on),
            paused_seconds=float(min(on, paused)),
        )
        for agent, site, day, hour, on, paused in hours
    ]
    rows = merge_kpis([], groups, duty)
    (whole,) = merge_kpis([], (), duty) or [None]
    assert sum(row.on_duty_seconds for row in rows) == (whole.on_duty_seconds if whole else 0)
    assert all(row.arrivals == 0 and row.utilisation in (0, None) for row in rows)
    assert all(row.paused_seconds <= row.on_duty_seconds for row in rows)


def test_duty_drained_after_every_event_and_restored_adds_up_to_the_whole(day):
    """What the store does: add each drain's increments to the rows; the fold forgets them and
    is dumped and restored between batches (a period on duty spans many batches)."""
    world, _, _, whole = day
    stored: dict[tuple, list[float]] = {}
    fold = KpiFold()
    for event in logged_events(world.app):
        fold.apply(event)
        for hour in fold.drain_duty():
            totals = stored.setdefault(hour.key, [0.0, 0.0])
            totals[0] += hour.on_duty_seconds
            totals[1] += hour.paused_seconds
        fold.prune()
        fold = KpiFold.restore(fold.dump())
    assert stored == {h.key: [h.on_duty_seconds, h.paused_seconds] for h in whole.duty()}


def test_a_period_on_duty_past_midnight_is_split_at_the_site_local_midnight():
    app = in_memory(utc(20))
    world = make_world(app=app)  # Paris: 22:30 UTC is 23:30, 23:45 UTC is 00:45 the next day
    queue = world.queue(world.service("A"))
    agent = world.agent("1")
    world.staffing.assign_agent_queues(world.context, agent, [queue])
    world.staffing.set_agent_status(world.context, agent, "offline")  # on duty at 20:00 no more
    world.clock.now = utc(22, 30)
    world.staffing.set_agent_status(world.context, agent, "available")
    world.clock.now = utc(23, 45)
    world.staffing.set_agent_status(world.context, agent, "offline")
    fold = KpiFold()
    fold.apply_all(logged_events(app))
    hours = [(h.day, h.hour, h.on_duty_seconds) for h in fold.duty()]
    assert hours == [(MONDAY, 23, 1800), (date(2026, 11, 17), 0, 2700)]
