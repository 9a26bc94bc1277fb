"""A scripted week at two sites, Paris and Montreal, across Paris's fall-back night (2026-10-25):
every figure below was worked out by hand from the script."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from application.analytics import (
    RELATIVE_ACCURACY,
    DurationSketch,
    KpiBucketFigures,
    KpiRow,
    merge_kpis,
)
from projections import kpis_sketch
from projections.kpis import KpiBucket, KpiFold
from projections.queue_day import SlaRule
from tests.unit.event_log import logged_events
from tests.unit.world import make_world


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def figures(bucket: KpiBucket) -> KpiBucketFigures:
    """The bucket as the read model stores it and the query reads it back (the columns are
    named after the bucket's fields; the sketches go through their stored form)."""
    values = {
        name: getattr(bucket, name)
        for name in KpiBucketFigures.__struct_fields__
        if hasattr(bucket, name)
    }
    values["arrivals_by_channel"] = dict(bucket.arrivals)
    values["wait_sketch"] = DurationSketch.decode(bucket.wait_sketch.encode())
    values["service_sketch"] = DurationSketch.decode(bucket.service_sketch.encode())
    return KpiBucketFigures(**values)


class Week:
    def __init__(self) -> None:
        world = make_world(timezone="Europe/Paris", now=utc(2026, 10, 20, 8))
        self.world, context = world, world.context
        self.paris = world.site_id
        self.montreal = world.catalogue.add_site(context, "Montreal", "America/Montreal").id
        ten, five, five_b = world.service("A", 10), world.service("B", 5), world.service("C", 5)
        self.p = world.queue(ten)
        self.p2 = world.queues.open_queue(context, "P2", self.paris, [five_b], "fifo").id
        self.m = world.queues.open_queue(context, "M", self.montreal, [five], "fifo").id
        self.a1, self.a2 = world.agent("1"), world.agent("2")

    def at(self, moment: datetime) -> Week:
        self.world.clock.now = moment
        return self

    def issue(self, queue_id: UUID, channel: str) -> UUID:
        return self.world.tickets.issue_ticket(self.world.context, queue_id, channel=channel).id

    def call(self, agent_id: UUID, queue_id: UUID) -> UUID:
        return self.world.staffing.call_next(self.world.context, agent_id, queue_id).id

    def do(self, command: str, ticket_id: UUID, *args: object) -> None:
        getattr(self.world.tickets, command)(self.world.context, ticket_id, *args)


def scripted_week() -> tuple[Week, list]:
    """The script run once: the set-up and every event it logged."""
    w = Week()
    # Sat 24: 08:00 UTC is 10:00 in Paris (CEST, +2).
    t1 = w.at(utc(2026, 10, 24, 8)).issue(w.p, "kiosk")
    assert w.at(utc(2026, 10, 24, 8, 4)).call(w.a1, w.p) == t1  # waited 240 s (target 600)
    w.at(utc(2026, 10, 24, 8, 5)).do("start_ticket", t1)
    w.at(utc(2026, 10, 24, 8, 15)).do("close_ticket", t1)  # served 600 s
    # Sun 25, the fall-back night: 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET.
    t2 = w.at(utc(2026, 10, 25, 0, 30)).issue(w.p, "web")
    t3 = w.at(utc(2026, 10, 25, 1, 30)).issue(w.p, "kiosk")
    assert w.at(utc(2026, 10, 25, 1, 40)).call(w.a1, w.p) == t2  # waited 4200 s: a miss
    w.at(utc(2026, 10, 25, 1, 41)).do("start_ticket", t2)
    w.at(utc(2026, 10, 25, 1, 50)).do("cancel_ticket", t3, "left")  # abandoned after 1200 s
    w.at(utc(2026, 10, 25, 1, 51)).do("close_ticket", t2)  # served 600 s
    # Mon 26: 09:00 UTC is 10:00 CET; a transfer to P2 (target 300 s).
    t7 = w.at(utc(2026, 10, 26, 9)).issue(w.p, "kiosk")
    assert w.at(utc(2026, 10, 26, 9, 5)).call(w.a1, w.p) == t7  # waited 300 s: met
    w.at(utc(2026, 10, 26, 9, 6)).do("start_ticket", t7)
    w.at(utc(2026, 10, 26, 9, 10)).do("transfer_ticket", t7, w.p2)
    assert w.at(utc(2026, 10, 26, 9, 20)).call(w.a1, w.p2) == t7  # waited 600 s in P2: a miss
    w.at(utc(2026, 10, 26, 9, 21)).do("start_ticket", t7)
    w.at(utc(2026, 10, 26, 9, 31)).do("close_ticket", t7)  # served 600 s
    # Montreal, Wed 28 01:30 UTC is Tue 27 21:30 EDT (-4): the site's day is the 27th.
    t4 = w.at(utc(2026, 10, 28, 1, 30)).issue(w.m, "phone")
    assert w.at(utc(2026, 10, 28, 1, 33)).call(w.a2, w.m) == t4  # waited 180 s: met
    w.at(utc(2026, 10, 28, 1, 34)).do("start_ticket", t4)
    t5 = w.at(utc(2026, 10, 28, 1, 35)).issue(w.m, "api")
    w.at(utc(2026, 10, 28, 1, 38)).do("close_ticket", t4)  # served 240 s
    assert w.at(utc(2026, 10, 28, 1, 50)).call(w.a2, w.m) == t5  # waited 900 s: a miss
    w.at(utc(2026, 10, 28, 1, 55)).do("mark_no_show", t5)
    # Wed 28 14:00 UTC is 10:00 EDT: abandoned within target, so not counted for SLA.
    t6 = w.at(utc(2026, 10, 28, 14)).issue(w.m, "kiosk")
    w.at(utc(2026, 10, 28, 14, 2)).do("cancel_ticket", t6, "left")
    return w, logged_events(w.world.app)


@pytest.fixture(scope="module")
def week():
    return scripted_week()


def fold_of(events, sla: SlaRule | None = None) -> KpiFold:
    fold = KpiFold(sla)
    fold.apply_all(events)
    return fold


def rows(week, groups: tuple[str, ...], sla: SlaRule | None = None) -> list[KpiRow]:
    return merge_kpis([figures(b) for b in fold_of(week[1], sla).buckets()], groups)


def close(value: float | None, exact: float) -> bool:
    return value is not None and abs(value - exact) <= RELATIVE_ACCURACY * exact


def test_the_projection_and_the_query_state_the_same_accuracy():
    assert kpis_sketch.RELATIVE_ACCURACY == RELATIVE_ACCURACY


def test_each_visit_sits_in_its_agents_bucket_of_the_site_local_hour_it_joined(week):
    w, events = week
    buckets = {(b.queue_id, b.agent_id, b.day, b.hour): b for b in fold_of(events).buckets()}
    assert set(buckets) == {
        (w.p, w.a1, date(2026, 10, 24), 10),
        (w.p, w.a1, date(2026, 10, 25), 2),  # the first 02:30, called by a1
        (w.p, None, date(2026, 10, 25), 2),  # the second 02:30, never called
        (w.p, w.a1, date(2026, 10, 26), 10),
        (w.p2, w.a1, date(2026, 10, 26), 10),
        (w.m, w.a2, date(2026, 10, 27), 21),
        (w.m, None, date(2026, 10, 28), 10),
    }
    night = buckets[(w.p, None, date(2026, 10, 25), 2)]
    assert (night.arrivals, night.abandonments, night.sla_met, night.sla_counted) == (
        {"kiosk": 1},
        1,
        0,
        1,
    )
    transferred = buckets[(w.p2, w.a1, date(2026, 10, 26), 10)]
    assert transferred.arrivals == {"transfer": 1}
    assert buckets[(w.p, w.a1, date(2026, 10, 26), 10)].transferred_out == 1


def test_per_site_over_the_week(week):
    w, _ = week
    paris, montreal = sorted(rows(week, ("site",)), key=lambda r: r.site_id != w.paris)
    assert paris.site_id == w.paris
    assert paris.arrivals == 5
    assert paris.arrivals_by_channel == {"kiosk": 3, "transfer": 1, "web": 1}
    assert (paris.served, paris.no_shows, paris.cancellations, paris.abandonments) == (3, 0, 1, 1)
    assert paris.transferred_out == 1
    assert paris.served_rate == pytest.approx(3 / 5)
    assert paris.abandonment_rate == pytest.approx(1 / 5)
    # waits 240, 4200, 300, 600: mean 1335; p50 at rank 1 = 300; p90 and p95 at rank 2 = 600
    assert paris.waits_counted == 4
    assert paris.wait_mean_seconds == pytest.approx(1335)
    assert close(paris.wait_p50_seconds, 300)
    assert close(paris.wait_p90_seconds, 600)
    assert close(paris.wait_p95_seconds, 600)
    assert paris.wait_max_seconds == 4200
    assert paris.service_mean_seconds == pytest.approx(600)
    assert paris.services_counted == 3
    # met: t1 (240 <= 600), t7 in P (300 <= 600); missed: t2, t7 in P2, t3 abandoned after 1200
    assert (paris.sla_met, paris.sla_counted) == (2, 5)
    assert paris.sla_compliance == pytest.approx(0.4)

    assert montreal.arrivals == 3
    assert montreal.arrivals_by_channel == {"api": 1, "kiosk": 1, "phone": 1}
    assert (montreal.served, montreal.no_shows, montreal.abandonments) == (1, 1, 1)
    assert montreal.wait_mean_seconds == pytest.approx(540)
    assert close(montreal.wait_p50_seconds, 180)
    assert close(montreal.wait_p95_seconds, 180)  # rank floor(0.95 * 1) = 0
    assert montreal.wait_max_seconds == 900
    assert montreal.service_mean_seconds == pytest.approx(240)
    assert (montreal.sla_met, montreal.sla_counted) == (1, 2)  # the no-show's call a miss


def test_days_are_the_sites_own(week):
    w, _ = week
    by_day = {(r.site_id, r.day): r.arrivals for r in rows(week, ("site", "day"))}
    assert by_day == {
        (w.paris, date(2026, 10, 24)): 1,
        (w.paris, date(2026, 10, 25)): 2,
        (w.paris, date(2026, 10, 26)): 2,
        (w.montreal, date(2026, 10, 27)): 2,
        (w.montreal, date(2026, 10, 28)): 1,
    }


def test_the_repeated_hour_of_the_fall_back_night_is_one_wall_clock_hour(week):
    night = [r for r in rows(week, ("site", "day", "hour")) if r.day == date(2026, 10, 25)]
    assert [(r.hour, r.arrivals) for r in night] == [(2, 2)]


def test_per_agent_with_uncalled_visits_under_no_agent(week):
    w, _ = week
    by_agent = {r.agent_id: r for r in rows(week, ("agent",))}
    assert set(by_agent) == {None, w.a1, w.a2}
    assert by_agent[None].arrivals == 2  # the two abandoned tickets
    assert by_agent[w.a1].served == 3
    assert by_agent[w.a2].no_shows == 1


def test_week_and_month_groups_cover_the_same_visits(week):
    weeks = rows(week, ("week",))
    assert [(r.week, r.arrivals) for r in weeks] == [
        (date(2026, 10, 19), 3),  # Sat 24 and Sun 25: t1, t2, t3
        (date(2026, 10, 26), 5),  # t7 in P then in P2, and Montreal's three
    ]
    [month] = rows(week, ("month",))
    assert (month.month, month.arrivals) == (date(2026, 10, 1), 8)


def test_the_sla_rule_is_the_queue_statistics_one(week):
    [everything] = rows(week, ())
    assert (everything.sla_met, everything.sla_counted) == (3, 7)
    [no_abandoned] = rows(week, (), SlaRule(count_abandoned=False))
    assert (no_abandoned.sla_met, no_abandoned.sla_counted) == (3, 6)
    [no_no_show] = rows(week, (), SlaRule(count_no_show=False))
    assert (no_no_show.sla_met, no_no_show.sla_counted) == (3, 6)


def test_a_restored_fold_goes_on_exactly_as_one_never_stopped(week):
    _, events = week
    whole = fold_of(events)
    half = len(events) // 2
    first = fold_of(events[:half])
    resumed = KpiFold.restore(first.dump())
    resumed.apply_all(events[half:])
    assert resumed.dump() == whole.dump()
