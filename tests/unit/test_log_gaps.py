"""The concurrent recorder's rule for missing ids (``Gaps``): a read stops before an id that
may still commit, notes a transaction id above every one taken so far, and passes the missing
id only once no transaction below that one runs."""

from __future__ import annotations

import itertools

from infrastructure.postgres.concurrent_recorder import Gaps


def rows(ids: list[int], xmin: int) -> list[dict]:
    """Rows as one read returns them: each carries its snapshot's xmin."""
    return [{"notification_id": identifier, "snapshot_xmin": str(xmin)} for identifier in ids]


class NewXids:
    """Hands out rising transaction ids, as ``pg_current_xact_id()`` would, and counts them."""

    def __init__(self, first: int) -> None:
        self.next = itertools.count(first)
        self.taken = 0

    def __call__(self) -> int:
        self.taken += 1
        return next(self.next)


def read(gaps: Gaps, ids: list[int], xmin: int, start: int, xids: NewXids) -> tuple:
    found, cut, first_met = gaps.safe_prefix(rows(ids, xmin), start, xids)
    return [row["notification_id"] for row in found], cut, first_met


def test_ids_without_gaps_are_all_taken_and_no_xid_is_spent():
    xids = NewXids(200)
    assert read(Gaps(), [4, 5, 6], 100, 3, xids) == ([4, 5, 6], False, False)
    assert xids.taken == 0


def test_a_read_stops_before_a_missing_id_and_notes_a_fresh_xid_for_it():
    gaps, xids = Gaps(), NewXids(200)
    # 5 is missing, 6 is visible: 5's holder took its xid before now, below 200.
    assert read(gaps, [4, 6], 150, 3, xids) == ([4], True, True)
    assert gaps.pending == {5: 200}


def test_even_a_snapshot_with_nothing_running_does_not_settle_a_gap_met_under_it():
    """Its xmax is one past the last *completed* xid: a running holder above it is invisible."""
    gaps, xids = Gaps(), NewXids(200)
    assert read(gaps, [4, 6], 190, 3, xids) == ([4], True, True)


def test_a_missing_id_is_passed_once_no_transaction_below_the_noted_xid_runs():
    gaps, xids = Gaps(), NewXids(200)
    read(gaps, [6, 7], 150, 4, xids)
    assert read(gaps, [6, 7], 199, 4, xids) == ([], True, False)  # 199 may hold it still
    assert read(gaps, [6, 7], 200, 4, xids) == ([6, 7], False, False)
    assert 5 in gaps.settled and gaps.pending == {} and xids.taken == 1


def test_a_missing_id_that_commits_late_is_read_when_it_comes():
    gaps, xids = Gaps(), NewXids(200)
    assert read(gaps, [6], 150, 4, xids) == ([], True, True)
    assert read(gaps, [5, 6], 150, 4, xids) == ([5, 6], False, False)
    assert gaps.pending == {} and 5 not in gaps.settled


def test_the_first_noted_xid_decides_for_every_reader():
    gaps, xids = Gaps(), NewXids(200)
    read(gaps, [6], 150, 4, xids)
    assert read(gaps, [6], 180, 4, xids) == ([], True, False)  # no second xid for the same gap
    assert gaps.pending == {5: 200} and xids.taken == 1


def test_a_settled_id_is_passed_by_every_later_reader_at_once():
    gaps, xids = Gaps(), NewXids(200)
    read(gaps, [4, 6], 150, 3, xids)
    read(gaps, [4, 6], 201, 3, xids)
    # Another follower, behind, meets the same (settled) gap under a busy snapshot: no wait.
    assert read(gaps, [4, 6], 120, 3, xids) == ([4, 6], False, False)
