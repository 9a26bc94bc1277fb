"""Forgetting final days keeps the fold small without changing any stored row: the rows written
batch by batch, with pruning and restores between, equal a fold of the whole log."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from projections.kpis import KpiFold
from tests.unit.test_kpis_scripted_week import figures, scripted_week


@pytest.fixture(scope="module")
def week():
    return scripted_week()


def _stored_batch_by_batch(events, cuts) -> dict:
    table: dict = {}
    fold, start = KpiFold(), 0
    for cut in [*cuts, len(events)]:
        fold.apply_all(events[start:cut])
        for bucket in fold.drain_changed():  # what the view upserts, or deletes when emptied
            if bucket.arrival_count:
                table[bucket.bucket_id] = figures(bucket)
            else:
                table.pop(bucket.bucket_id, None)
        fold.prune()
        fold = KpiFold.restore(fold.dump())
        start = cut
    return table


def test_pruning_after_every_event_stores_the_rows_of_the_whole_fold(week):
    _, events = week
    whole = KpiFold()
    whole.apply_all(events)
    expected = {bucket.bucket_id: figures(bucket) for bucket in whole.buckets()}
    assert _stored_batch_by_batch(events, list(range(1, len(events)))) == expected


def test_the_state_forgets_the_finished_days(week):
    _, events = week
    fold = KpiFold()
    fold.apply_all(events)
    fold.drain_changed()
    fold.prune()
    # Only Montreal's 28th (its last event at 10:02 EDT) is still current.
    assert {bucket.day.isoformat() for bucket in fold.buckets()} == {"2026-10-28"}


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_any_batching_stores_the_same_rows(week, data):
    _, events = week
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(events) - 1), max_size=8))))
    whole = KpiFold()
    whole.apply_all(events)
    expected = {bucket.bucket_id: figures(bucket) for bucket in whole.buckets()}
    assert _stored_batch_by_batch(events, cuts) == expected
