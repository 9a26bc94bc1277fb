"""Properties of the KPIs: merging buckets in any grouping equals computing on the whole (counts
and sums exactly, percentiles within the sketch's relative accuracy), and over random legal
histories the KPI buckets agree with the queue statistics, which define the same figures."""

from __future__ import annotations

import math
from datetime import date
from uuid import uuid4

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from application.analytics import QUANTILES, RELATIVE_ACCURACY, merge_kpis
from projections.kpis import KpiBucket, KpiFold
from projections.queue_day import SlaRule
from projections.queue_stats import QueueStatistics
from tests.unit.event_log import logged_events
from tests.unit.random_day import RandomDay, steps
from tests.unit.test_kpis_scripted_week import figures

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SITES = [uuid4() for _ in range(2)]
QUEUES = [uuid4() for _ in range(3)]
AGENTS = [None, uuid4(), uuid4()]
TENANT, SERVICE = uuid4(), uuid4()

durations = st.one_of(
    st.just(0.0),
    st.floats(min_value=0.001, max_value=30_000, allow_nan=False, allow_infinity=False),
    st.integers(min_value=1, max_value=36_000).map(float),
)
visit = st.tuples(
    st.integers(0, 1),  # site
    st.integers(0, 2),  # queue
    st.integers(0, 2),  # agent
    st.integers(1, 28),  # day of February
    st.integers(0, 23),  # hour
    st.sampled_from(["kiosk", "web", "api"]),
    durations,  # wait
    st.one_of(st.none(), durations),  # service, if served
)
visits = st.lists(visit, min_size=1, max_size=120)
groupings = st.lists(
    st.sampled_from(["site", "service", "queue", "agent", "day", "week", "month", "hour"]),
    unique=True,
)


def bucketed(script) -> list[KpiBucket]:
    buckets: dict[tuple, KpiBucket] = {}
    for site, queue, agent, day, hour, channel, wait, service in script:
        key = (SITES[site], SERVICE, QUEUES[queue], AGENTS[agent], date(2026, 2, day), hour)
        bucket = buckets.setdefault(key, KpiBucket(TENANT, *key))
        bucket.arrivals[channel] = bucket.arrivals.get(channel, 0) + 1
        bucket.add_wait(wait)
        if service is not None:
            bucket.served += 1
            bucket.add_service(service)
    return list(buckets.values())


def exact_quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


def within(sketched: float | None, exact: float) -> bool:
    assert sketched is not None
    return abs(sketched - exact) <= RELATIVE_ACCURACY * exact + 1e-9


@SETTINGS
@given(visits, groupings)
def test_grouping_then_merging_equals_computing_on_the_whole(script, groups):
    rows = [figures(bucket) for bucket in bucketed(script)]
    [whole] = merge_kpis(rows, ())
    grouped = merge_kpis(rows, tuple(groups))
    waits = [wait for *_, wait, _ in script]
    services = [service for *_, service in script if service is not None]
    assert whole.arrivals == len(script) == sum(row.arrivals for row in grouped)
    assert whole.served == len(services) == sum(row.served for row in grouped)
    assert whole.waits_counted == sum(row.waits_counted for row in grouped)
    assert whole.wait_max_seconds == max(waits)
    assert max(row.wait_max_seconds or 0.0 for row in grouped) == max(waits)
    assert math.isclose(whole.wait_mean_seconds, sum(waits) / len(waits), rel_tol=1e-9)
    total = sum(row.wait_mean_seconds * row.waits_counted for row in grouped)
    assert math.isclose(total, sum(waits), rel_tol=1e-9, abs_tol=1e-6)
    for q, sketched in zip(QUANTILES, _wait_quantiles(whole), strict=True):
        assert within(sketched, exact_quantile(waits, q))
    if services:
        assert within(whole.service_p90_seconds, exact_quantile(services, 0.9))
    for row in grouped:  # every group's percentiles are right too, not only the whole's
        mine = [
            wait
            for (site, queue, agent, day, hour, _, wait, _) in script
            if _matches(row, groups, site, queue, agent, day, hour)
        ]
        assert within(row.wait_p50_seconds, exact_quantile(mine, 0.5))
        assert within(row.wait_p95_seconds, exact_quantile(mine, 0.95))


def _wait_quantiles(row) -> list[float | None]:
    return [row.wait_p50_seconds, row.wait_p90_seconds, row.wait_p95_seconds]


def _matches(row, groups, site, queue, agent, day, hour) -> bool:
    on = date(2026, 2, day)
    checks = {
        "site": row.site_id == SITES[site],
        "service": row.service_id == SERVICE,
        "queue": row.queue_id == QUEUES[queue],
        "agent": row.agent_id == AGENTS[agent],
        "day": row.day == on,
        "week": row.week is not None and 0 <= (on - row.week).days < 7,
        "month": row.month == date(2026, 2, 1),
        "hour": row.hour == hour,
    }
    return all(checks[group] for group in groups)


@SETTINGS
@given(steps)
def test_the_kpi_buckets_agree_with_the_queue_statistics(script):
    day = RandomDay()
    day.run(script)
    events = logged_events(day.world.app)
    for rule in (SlaRule(), SlaRule(count_abandoned=False, count_no_show=False)):
        stats = QueueStatistics(rule)
        stats.apply_all(events)
        kpis = KpiFold(rule)
        kpis.apply_all(events)
        per_queue_day = {}
        for bucket in kpis.buckets():
            per_queue_day.setdefault((bucket.queue_id, bucket.day), []).append(figures(bucket))
        for row in stats.rows():
            [merged] = merge_kpis(per_queue_day.pop((row.queue_id, row.day)), ())
            assert merged.arrivals == row.issued + row.transferred_in
            assert merged.served == row.completed
            assert merged.no_shows == row.no_show
            assert merged.cancellations == row.cancelled
            assert merged.abandonments == row.abandoned
            assert merged.transferred_out == row.transferred_out
            assert merged.waits_counted == row.waits_counted
            assert merged.wait_max_seconds == row.longest_wait_seconds
            assert merged.services_counted == row.services_counted
            assert merged.service_max_seconds == row.longest_service_seconds
            assert (merged.sla_met, merged.sla_counted) == (row.sla_met, row.sla_counted)
            if row.waits_counted:
                assert math.isclose(
                    merged.wait_mean_seconds * merged.waits_counted, row.wait_total_seconds
                )
        assert not per_queue_day


@SETTINGS
@given(steps, st.data())
def test_applying_events_in_batches_with_restores_gives_the_same_buckets(script, data):
    day = RandomDay()
    day.run(script)
    events = logged_events(day.world.app)
    whole = KpiFold()
    whole.apply_all(events)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=4)))
    fold, start = KpiFold(), 0
    for cut in [*cuts, len(events)]:
        fold.apply_all(events[start:cut])
        fold.drain_changed()
        fold = KpiFold.restore(fold.dump())
        start = cut
    assert [figures(b) for b in fold.buckets()] == [figures(b) for b in whole.buckets()]
