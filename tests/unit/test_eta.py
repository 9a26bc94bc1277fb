"""The ETA baseline of DESIGN.md §9, the hand-over estimator, and how they are judged."""

from __future__ import annotations

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.eta import (
    DEFAULT_SERVICE_SECONDS,
    OVERDUE_SHARE,
    QueueState,
    baseline,
    baseline_eta_seconds,
    first_release_seconds,
    handover,
    handover_eta_seconds,
    weighted_mean,
)


def test_the_baseline_is_position_times_mean_service_over_active_agents():
    assert baseline_eta_seconds(3, [200.0, 400.0], 2) == 450.0


def test_the_baseline_uses_the_default_service_time_before_any_is_measured():
    assert baseline_eta_seconds(2, [], 1) == 2 * DEFAULT_SERVICE_SECONDS


def test_no_estimator_answers_when_no_agent_is_on_duty():
    state = QueueState(now=0.0, position=1, active_agents=0)
    assert baseline(state) is None
    assert handover(state) is None


def test_a_ticket_a_free_agent_can_take_is_called_at_once():
    state = QueueState(now=50.0, position=2, active_agents=3, busy_since=(10.0,))
    assert handover(state) == 0.0


def test_the_first_release_of_one_agent_is_its_mean_hold():
    assert first_release_seconds([0.0], [100.0, 300.0], 200.0) == 200.0


def test_the_first_release_of_two_agents_is_the_expected_minimum_not_the_minimum_mean():
    # min of two draws from {100, 300}: 300 only when both draw it (1/4 of the time)
    assert first_release_seconds([0.0, 0.0], [100.0, 300.0], 200.0) == 150.0


def test_a_hold_under_way_only_keeps_the_longer_past_holds_in_view():
    assert first_release_seconds([150.0], [100.0, 300.0], 200.0) == 150.0


def test_a_hold_longer_than_every_recent_one_is_expected_to_end_soon():
    assert first_release_seconds([400.0], [100.0, 300.0], 200.0) == 200.0 * OVERDUE_SHARE


def test_tickets_behind_the_first_release_each_add_a_hold_shared_by_the_agents():
    state = QueueState(
        now=1000.0,
        position=5,
        active_agents=2,
        busy_since=(1000.0, 1000.0),
        recent_occupancy_seconds=(200.0, 200.0),
    )
    assert handover_eta_seconds(state) == 200.0 + 4 * 200.0 / 2


def test_the_weighted_mean_leans_towards_the_newest_samples():
    assert weighted_mean([], 0.5) is None
    assert weighted_mean([100.0, 300.0], 0.5) == pytest.approx((0.5 * 100 + 300) / 1.5)


states = st.builds(
    QueueState,
    now=st.just(10_000.0),
    position=st.integers(1, 30),
    active_agents=st.integers(1, 5),
    busy_since=st.lists(st.floats(8_000, 10_000), max_size=5).map(tuple),
    recent_service_seconds=st.lists(st.floats(1, 3_000), max_size=20).map(tuple),
    recent_occupancy_seconds=st.lists(st.floats(1, 3_000), max_size=20).map(tuple),
)


@given(states)
def test_estimates_are_never_negative_and_never_shrink_further_back_in_line(state):
    behind = msgspec.structs.replace(state, position=state.position + 1)
    for estimate in (baseline, handover):
        assert 0 <= estimate(state) <= estimate(behind) + 1e-9
