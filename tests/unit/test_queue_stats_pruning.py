"""Pruning the queue statistics fold: forgetting finished days keeps the state small and never
changes a stored row."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.queue_day import QueueStatsRow
from projections.queue_stats import PRUNE_GRACE, QueueStatistics
from tests.unit.event_log import logged_events
from tests.unit.random_day import RandomDay, steps
from tests.unit.world import make_world

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def folded(events) -> list[QueueStatsRow]:
    stats = QueueStatistics()
    stats.apply_all(events)
    return stats.rows()


def _sorted(rows) -> list[QueueStatsRow]:
    return sorted(rows, key=lambda row: (str(row.queue_id), row.day))


@SETTINGS
@given(steps, st.data())
def test_batches_that_prune_and_restore_store_the_same_rows_as_one_fold(script, data):
    day = RandomDay()
    day.run(script)
    events = logged_events(day.world.app)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=8)))
    stats, stored, pruned = QueueStatistics(), {}, 0
    for start, stop in zip([0, *cuts], [*cuts, len(events)], strict=True):
        stats.apply_all(events[start:stop])
        stored.update({(row.queue_id, row.day): row for row in stats.drain_changed()})
        pruned += stats.prune()  # as the view does: after the rows are stored
        stats = QueueStatistics.restore(stats.dump())
    assert _sorted(stored.values()) == folded(events)


def test_finished_days_are_forgotten_and_open_visits_keep_theirs():
    world = make_world(timezone="Europe/Paris")
    served, idle = world.queue(world.service("A", 10)), world.queue(world.service("B", 10))
    agent = world.agent()
    context = world.context
    first_day = world.clock.now.date()
    world.tickets.issue_ticket(
        context, idle
    )  # never called: its visit stays open, so its day stays
    for _ in range(30):  # a month of days, each with a ticket served
        ticket = world.tickets.issue_ticket(context, served).id
        assert world.staffing.call_next(context, agent, served).id == ticket
        world.tickets.start_ticket(context, ticket)
        world.tickets.close_ticket(context, ticket)
        world.clock.advance(days=1)
    world.tickets.issue_ticket(context, served)  # today's first ticket
    stats = QueueStatistics()
    stats.apply_all(logged_events(world.app))
    stats.drain_changed()
    assert stats.day_count == 32

    assert stats.prune() == 30  # the served queue's thirty finished days
    assert stats.day_count == 2
    assert stats.row(idle, first_day) is not None  # an open visit keeps its day
    assert stats.row(served, world.clock.now.date()) is not None  # today may still change
    assert stats.row(served, first_day) is None


def test_a_day_is_kept_until_the_log_is_a_grace_period_past_its_end():
    world = make_world(timezone="UTC")
    queue = world.queue(world.service("A", 10))
    agent = world.agent()
    context = world.context
    world.clock.now = world.clock.now.replace(hour=23, minute=0)
    ticket = world.tickets.issue_ticket(context, queue).id
    world.staffing.call_next(context, agent, queue)
    world.tickets.start_ticket(context, ticket)
    world.tickets.close_ticket(context, ticket)
    yesterday = world.clock.now.date()
    world.clock.now = world.clock.now.replace(hour=0) + timedelta(days=1) + PRUNE_GRACE / 2
    world.tickets.issue_ticket(context, queue)
    stats = QueueStatistics()
    stats.apply_all(logged_events(world.app))
    stats.drain_changed()
    assert stats.prune() == 0  # within the grace a late event could still open a visit there
    assert stats.row(queue, yesterday) is not None

    world.clock.advance(seconds=PRUNE_GRACE.total_seconds())
    world.tickets.issue_ticket(context, queue)
    stats.apply_all(logged_events(world.app, after=world.app.recorder.max_notification_id() - 3))
    stats.drain_changed()
    assert stats.prune() == 1
    assert stats.row(queue, yesterday) is None
