"""A scripted day at one branch: every statistic below was worked out by hand from the script."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from projections.queue_day import SlaRule
from projections.queue_stats import QueueStatistics
from tests.unit.event_log import logged_events
from tests.unit.world import MORNING, World, make_world

DAY = date(2024, 1, 15)  # 09:00 UTC is 10:00 in Paris, the same day
NEXT_DAY = date(2024, 1, 16)


class Script:
    """Drives the application through the day; ``at(m)`` sets the clock to 09:00 UTC + m min."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.app = world.app
        self.context = world.context

    def at(self, minutes: float) -> Script:
        self.world.clock.now = MORNING + timedelta(minutes=minutes)
        return self

    def issue(self, queue_id: UUID) -> UUID:
        return self.world.tickets.issue_ticket(self.context, queue_id).id

    def call(self, agent_id: UUID, queue_id: UUID) -> UUID:
        return self.world.staffing.call_next(self.context, agent_id, queue_id).id

    def do(self, command: str, ticket_id: UUID, *args) -> None:
        getattr(self.world.tickets, command)(self.context, ticket_id, *args)


@pytest.fixture(scope="module")
def day():
    """Run the script once; return the events and the two queue ids."""
    world = make_world(timezone="Europe/Paris")
    ten_minutes, five_minutes = world.service("A", 10), world.service("B", 5)
    q1, q2 = world.queue(ten_minutes), world.queue(five_minutes)
    a1, a2, a3 = world.agent("1"), world.agent("2"), world.agent("3")
    s = Script(world)
    t1, t2, t3 = s.at(0).issue(q1), s.issue(q1), s.issue(q1)
    assert s.at(2).call(a1, q1) == t1  # waited 120 s
    s.at(3).do("start_ticket", t1)
    assert s.at(5).call(a2, q1) == t2  # waited 300 s
    s.at(7).do("mark_no_show", t2)
    s.at(8).do("close_ticket", t1)  # served 300 s
    assert s.at(9).call(a1, q1) == t3  # waited 540 s
    s.do("start_ticket", t3)
    s.at(10).do("pause_ticket", t3)
    t4 = s.issue(q1)
    s.at(11).do("resume_ticket", t3)
    t5 = s.at(12).issue(q1)
    t6 = s.at(13).issue(q1)
    assert s.at(14).call(a2, q1) == t4  # waited 240 s, still called at the end of the day
    s.at(15).do("close_ticket", t3)  # served 360 s, pause included
    s.do("cancel_ticket", t5, "left")  # abandoned after 180 s: within target, not counted
    assert s.at(16).call(a1, q1) == t6  # waited 180 s
    s.at(17).do("start_ticket", t6)  # still serving at the end of the day
    t7, t8 = s.issue(q1), s.issue(q1)
    assert s.at(30).call(a3, q1) == t7  # waited 780 s: past the 600 s target
    s.at(31).do("start_ticket", t7)
    s.at(32).do("transfer_ticket", t7, q2)  # into q2 at minute 32
    s.at(35).do("cancel_ticket", t8)  # abandoned after 1080 s: past target, a miss
    s.at(36).issue(q1)  # t9 still waits at the end
    assert s.at(40).call(a3, q2) == t7  # waited 480 s in q2: past its 300 s target
    s.at(41).do("start_ticket", t7)
    s.at(45).do("close_ticket", t7)  # served 240 s in q2
    s.at(14 * 60 + 30).issue(q1)  # 23:30 UTC is 00:30 in Paris: the next site-local day
    return logged_events(world.app), q1, q2


def stats_of(day, rule: SlaRule | None = None) -> QueueStatistics:
    events, _, _ = day
    stats = QueueStatistics(rule)
    stats.apply_all(events)
    return stats


def test_the_first_queue_counts_every_ticket_of_the_day_by_where_it_ended(day):
    row = stats_of(day).row(day[1], DAY)
    assert (row.issued, row.transferred_in) == (9, 0)
    assert (row.waiting, row.called, row.serving, row.paused) == (1, 1, 1, 0)
    assert (row.completed, row.no_show, row.cancelled, row.abandoned) == (2, 1, 2, 2)
    assert row.transferred_out == 1


def test_waits_run_from_issue_to_first_call(day):
    row = stats_of(day).row(day[1], DAY)
    # t1 120, t2 300, t3 540, t4 240, t6 180, t7 780
    assert row.waits_counted == 6
    assert row.wait_total_seconds == 2160
    assert row.average_wait_seconds == 360
    assert (row.shortest_wait_seconds, row.longest_wait_seconds) == (120, 780)


def test_service_time_runs_from_start_to_completion_pauses_included(day):
    row = stats_of(day).row(day[1], DAY)
    assert (row.services_counted, row.service_total_seconds) == (2, 660)
    assert (row.average_service_seconds, row.longest_service_seconds) == (330, 360)


def test_the_oldest_waiting_ticket_is_the_one_issued_at_minute_36(day):
    row = stats_of(day).row(day[1], DAY)
    assert row.oldest_waiting_since == MORNING + timedelta(minutes=36)


@pytest.mark.parametrize(
    ("rule", "met", "counted"),
    [
        # met: t1 t2 t3 t4 t6; missed: t7 (called late) and t8 (abandoned after its target)
        (SlaRule(), 5, 7),
        (SlaRule(count_no_show=False), 4, 6),  # t2 leaves both sides
        (SlaRule(count_abandoned=False), 5, 6),  # t8 is not counted
        (SlaRule(count_abandoned=False, count_no_show=False), 4, 5),
    ],
)
def test_sla_compliance_follows_the_rule_for_no_shows_and_abandoned_tickets(
    day, rule, met, counted
):
    row = stats_of(day, rule).row(day[1], DAY)
    assert (row.sla_met, row.sla_counted) == (met, counted)
    assert row.sla_compliance == pytest.approx(met / counted)


def test_a_transferred_ticket_waits_and_is_served_in_its_new_queue_from_the_transfer(day):
    row = stats_of(day).row(day[2], DAY)
    assert (row.issued, row.transferred_in, row.completed) == (0, 1, 1)
    assert (row.waits_counted, row.longest_wait_seconds) == (1, 480)
    assert row.average_service_seconds == 240
    assert (row.sla_met, row.sla_counted, row.sla_compliance) == (0, 1, 0.0)


def test_a_ticket_issued_after_local_midnight_counts_on_the_next_site_local_day(day):
    stats = stats_of(day)
    row = stats.row(day[1], NEXT_DAY)
    assert (row.issued, row.waiting, row.waits_counted) == (1, 1, 0)
    assert (row.average_wait_seconds, row.sla_compliance) == (None, None)
    assert row.oldest_waiting_since == datetime.fromisoformat("2024-01-15T23:30:00+00:00")
    assert [(r.queue_id, r.day) for r in stats.rows() if r.queue_id == day[1]] == [
        (day[1], DAY),
        (day[1], NEXT_DAY),
    ]
