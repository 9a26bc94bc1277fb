"""Property tests of the pure next-ticket decisions: who goes next, and where a transfer lands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.policies import (
    Placement,
    Policy,
    WaitingTicket,
    order_waiting,
    rank_for_placement,
    select_next,
)

OPENING = datetime(2024, 3, 5, 8, 0, tzinfo=UTC)
FAST = settings(max_examples=150, deadline=None)

moments = st.integers(min_value=0, max_value=8 * 3600).map(
    lambda seconds: OPENING + timedelta(seconds=seconds)
)
target_waits = st.integers(min_value=60, max_value=2 * 3600)
priorities = st.integers(min_value=0, max_value=10)


@st.composite
def waiting_lines(draw, min_size: int = 0, max_size: int = 12) -> list[WaitingTicket]:
    """A waiting line in arbitrary list order: distinct ranks, ids, free priorities and times."""
    ranks = draw(
        st.lists(
            st.integers(min_value=-50, max_value=200),
            min_size=min_size,
            max_size=max_size,
            unique=True,
        )
    )
    line = [
        WaitingTicket(
            ticket_id=uuid4(),
            rank=float(rank),
            priority=draw(priorities),
            issued_at=draw(moments),
            target_wait_seconds=draw(target_waits),
        )
        for rank in ranks
    ]
    return draw(st.permutations(line))


def by_arrival(line: list[WaitingTicket]) -> list[WaitingTicket]:
    return sorted(line, key=lambda entry: entry.rank)


# -- who goes next ---------------------------------------------------------------------------------


@FAST
@given(waiting_lines(), moments)
def test_fifo_calls_tickets_in_arrival_order(line, now):
    ordered = order_waiting(line, now, Policy.FIFO)

    assert [entry.rank for entry in ordered] == sorted(entry.rank for entry in line)


@FAST
@given(waiting_lines(), moments, st.sampled_from(Policy))
def test_ordering_the_line_neither_loses_nor_invents_tickets(line, now, policy):
    ordered = order_waiting(line, now, policy)

    assert sorted(e.ticket_id for e in ordered) == sorted(e.ticket_id for e in line)


@FAST
@given(waiting_lines(), moments)
def test_under_priority_a_higher_priority_never_waits_behind_a_lower_one(line, now):
    ordered = order_waiting(line, now, Policy.PRIORITY)

    for ahead, behind in pairwise(ordered):
        assert ahead.priority >= behind.priority


@FAST
@given(waiting_lines(), moments)
def test_under_priority_tickets_of_one_level_keep_their_arrival_order(line, now):
    ordered = order_waiting(line, now, Policy.PRIORITY)

    for level in {entry.priority for entry in line}:
        same_level = [entry.rank for entry in ordered if entry.priority == level]
        assert same_level == sorted(same_level)


@FAST
@given(waiting_lines(min_size=1), moments)
def test_sla_calls_the_ticket_with_the_earliest_deadline_first(line, now):
    chosen = next(e for e in line if e.ticket_id == select_next(line, now, Policy.SLA))

    assert chosen.deadline == min(entry.deadline for entry in line)
    # The same ticket is the one furthest past its target, or closest to it.
    slack = {entry.ticket_id: entry.deadline - now for entry in line}
    assert slack[chosen.ticket_id] == min(slack.values())


@FAST
@given(waiting_lines(), moments)
def test_sla_orders_the_whole_line_by_deadline(line, now):
    deadlines = [entry.deadline for entry in order_waiting(line, now, Policy.SLA)]

    assert deadlines == sorted(deadlines)


@FAST
@given(waiting_lines(), moments, moments, st.sampled_from(Policy))
def test_the_order_does_not_drift_as_the_clock_moves(line, now, later, policy):
    assert order_waiting(line, now, policy) == order_waiting(line, later, policy)


@FAST
@given(waiting_lines(min_size=1), moments, st.sampled_from(Policy))
def test_the_ticket_called_next_is_always_the_first_of_the_ordered_line(line, now, policy):
    assert select_next(line, now, policy) == order_waiting(line, now, policy)[0].ticket_id


@FAST
@given(waiting_lines(min_size=1), moments, st.sampled_from(Policy), st.randoms())
def test_the_ticket_called_next_does_not_depend_on_how_the_line_is_stored(
    line, now, policy, random
):
    shuffled = list(line)
    random.shuffle(shuffled)

    assert select_next(shuffled, now, policy) == select_next(line, now, policy)


@pytest.mark.parametrize("policy", list(Policy))
def test_an_empty_line_has_no_next_ticket(policy):
    assert select_next([], OPENING, policy) is None
    assert order_waiting([], OPENING, policy) == []


def test_unknown_policy_or_placement_names_are_invalid_input():
    with pytest.raises(InvalidInput):
        Policy.parse("lifo")
    with pytest.raises(InvalidInput):
        Placement.parse("middle")
    assert Policy.parse("sla") is Policy.SLA
    assert Placement.parse("sorted") is Placement.SORTED


# -- where a transferred ticket lands --------------------------------------------------------------


def next_rank_after(line: list[WaitingTicket]) -> float:
    """What the queue would hand the next arrival: one past the highest rank."""
    return max((entry.rank for entry in line), default=0.0) + 1.0


@FAST
@given(waiting_lines(), moments)
def test_placement_first_puts_the_ticket_ahead_of_everyone_waiting(line, issued_at):
    rank = rank_for_placement(line, Placement.FIRST, issued_at, next_rank_after(line))

    assert all(rank < entry.rank for entry in line)


@FAST
@given(waiting_lines(), moments)
def test_placement_last_puts_the_ticket_behind_everyone_waiting(line, issued_at):
    next_rank = next_rank_after(line)
    rank = rank_for_placement(line, Placement.LAST, issued_at, next_rank)

    assert rank == next_rank
    assert all(rank > entry.rank for entry in line)


@FAST
@given(waiting_lines(), moments)
def test_placement_sorted_puts_the_ticket_before_the_first_one_issued_after_it(line, issued_at):
    rank = rank_for_placement(line, Placement.SORTED, issued_at, next_rank_after(line))

    arrival = by_arrival(line)
    landing = next(
        (index for index, entry in enumerate(arrival) if entry.issued_at > issued_at),
        len(arrival),
    )
    assert all(entry.rank < rank for entry in arrival[:landing])
    assert all(entry.rank > rank for entry in arrival[landing:])


@FAST
@given(waiting_lines(), moments)
def test_placement_sorted_keeps_a_line_that_is_in_issue_order_in_issue_order(line, issued_at):
    # Re-rank the line so arrival order is issue order, as it is when nobody was placed first.
    in_issue_order = sorted(line, key=lambda entry: (entry.issued_at, entry.rank))
    line = [
        WaitingTicket(e.ticket_id, float(i), e.priority, e.issued_at, e.target_wait_seconds)
        for i, e in enumerate(in_issue_order)
    ]
    rank = rank_for_placement(line, Placement.SORTED, issued_at, next_rank_after(line))
    newcomer = WaitingTicket(uuid4(), rank, 0, issued_at, 600)

    issue_times = [e.issued_at for e in order_waiting([*line, newcomer], OPENING, Policy.FIFO)]
    assert issue_times == sorted(issue_times)


@pytest.mark.parametrize("placement", list(Placement))
def test_a_ticket_placed_in_an_empty_line_takes_the_next_rank(placement):
    assert rank_for_placement([], placement, OPENING, 7.0) == 7.0
