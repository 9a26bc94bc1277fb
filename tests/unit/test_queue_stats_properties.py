"""Properties of the queue statistics over random legal histories of a branch."""

from __future__ import annotations

from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.queue_day import QueueStatsRow, SlaRule
from projections.queue_stats import QueueStatistics
from tests.unit.event_log import logged_events
from tests.unit.random_day import RandomDay, steps

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STATUSES = ("waiting", "called", "serving", "paused", "completed", "no_show", "cancelled")


def history(script) -> tuple[RandomDay, list]:
    day = RandomDay()
    day.run(script)
    return day, logged_events(day.world.app)


def folded(events, rule: SlaRule | None = None) -> list[QueueStatsRow]:
    stats = QueueStatistics(rule)
    stats.apply_all(events)
    return stats.rows()


@SETTINGS
@given(steps)
def test_every_ticket_that_joined_a_queue_on_a_day_is_counted_exactly_once(script):
    _, events = history(script)
    for row in folded(events):
        outcomes = sum(getattr(row, status) for status in STATUSES) + row.transferred_out
        assert row.issued + row.transferred_in == outcomes
        assert row.abandoned <= row.cancelled


@SETTINGS
@given(steps)
def test_the_status_counts_match_the_tickets_as_the_application_reports_them(script):
    day, events = history(script)
    tenant_id = day.world.tenant_id
    expected = Counter()
    for ticket_id in day.tickets:
        ticket = day.world.tickets.get_ticket(tenant_id, ticket_id)
        expected[(ticket.queue_id, ticket.status)] += 1
    counted = Counter()
    for row in folded(events):
        for status in STATUSES:
            counted[(row.queue_id, status)] += getattr(row, status)
    assert +counted == +expected
    assert sum(row.issued for row in folded(events)) == len(day.tickets)


@SETTINGS
@given(steps, st.data())
def test_applying_events_in_batches_stores_the_same_rows_as_a_rebuild(script, data):
    _, events = history(script)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=8)))
    stats, stored = QueueStatistics(), {}
    for start, stop in zip([0, *cuts], [*cuts, len(events)], strict=True):
        stats.apply_all(events[start:stop])
        stored.update({(row.queue_id, row.day): row for row in stats.drain_changed()})
    assert stats.drain_changed() == []
    assert sorted(stored.values(), key=lambda row: (str(row.queue_id), row.day)) == folded(events)


@SETTINGS
@given(steps, st.booleans(), st.booleans())
def test_averages_lie_between_the_extremes_and_compliance_is_a_share(script, abandoned, no_show):
    _, events = history(script)
    for row in folded(events, SlaRule(count_abandoned=abandoned, count_no_show=no_show)):
        if row.waits_counted:
            assert row.shortest_wait_seconds <= row.average_wait_seconds
            assert row.average_wait_seconds <= row.longest_wait_seconds
            assert row.shortest_wait_seconds >= 0
        else:
            assert row.average_wait_seconds is row.longest_wait_seconds is None
        if row.services_counted:
            assert 0 <= row.average_service_seconds <= row.longest_service_seconds
        assert 0 <= row.sla_met <= row.sla_counted
        assert row.services_counted == row.completed
        assert row.waits_counted >= row.no_show
        if row.sla_counted:
            assert 0.0 <= row.sla_compliance <= 1.0
        assert (row.oldest_waiting_since is None) == (row.waiting == 0)


@SETTINGS
@given(steps, st.data())
def test_a_fold_restored_from_its_dump_carries_on_as_if_never_stopped(script, data):
    _, events = history(script)
    cut = data.draw(st.integers(0, len(events)))
    before = QueueStatistics()
    before.apply_all(events[:cut])
    after = QueueStatistics.restore(before.dump())
    after.apply_all(events[cut:])
    assert after.rows() == folded(events)


@SETTINGS
@given(steps, st.data())
def test_a_fold_that_starts_mid_log_skips_the_tickets_it_never_saw_issued(script, data):
    _, events = history(script)
    cut = data.draw(st.integers(0, len(events)))
    late = QueueStatistics()
    late.apply_all(events[cut:])
    for row in late.rows():
        outcomes = sum(getattr(row, status) for status in STATUSES) + row.transferred_out
        assert row.issued + row.transferred_in == outcomes
