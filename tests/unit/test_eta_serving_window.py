"""The rule that decides who serves a queue for its ETA (:func:`domain.eta.serves_queue`),
and the one function every answer takes its ETA from."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.eta import QueueState, eta_seconds, handover, serves_queue
from infrastructure.settings import load_settings
from projections.agent_board_rows import BoardAgent

WINDOW = 600.0
NOW = 1_000_000.0


def test_an_agent_who_called_within_the_window_serves_the_queue():
    assert serves_queue(
        assigned=False,
        holds_its_ticket=False,
        last_worked_at=NOW - 60,
        now=NOW,
        window_seconds=WINDOW,
    )
    assert serves_queue(
        assigned=False,
        holds_its_ticket=False,
        last_worked_at=NOW - WINDOW,
        now=NOW,
        window_seconds=WINDOW,
    )


def test_an_agent_who_called_long_ago_or_never_does_not():
    assert not serves_queue(
        assigned=False,
        holds_its_ticket=False,
        last_worked_at=NOW - WINDOW - 1,
        now=NOW,
        window_seconds=WINDOW,
    )
    assert not serves_queue(
        assigned=False,
        holds_its_ticket=False,
        last_worked_at=None,
        now=NOW,
        window_seconds=WINDOW,
    )


@given(
    assigned=st.booleans(),
    holds=st.booleans(),
    # Whole seconds: float subtraction would blur the boundary the test is about.
    ago=st.none() | st.integers(min_value=0, max_value=86_400),
    window=st.integers(min_value=0, max_value=7_200),
)
def test_assigned_or_holding_agents_always_serve_and_others_only_within_the_window(
    assigned, holds, ago, window
):
    last = None if ago is None else NOW - ago
    serves = serves_queue(
        assigned=assigned,
        holds_its_ticket=holds,
        last_worked_at=last,
        now=NOW,
        window_seconds=window,
    )
    assert serves == (assigned or holds or (ago is not None and ago <= window))


def test_the_board_row_keeps_the_latest_moment_per_queue():
    row = BoardAgent(uuid4(), uuid4(), uuid4(), "Ann", "available", datetime.now(UTC))
    queue, other = uuid4(), uuid4()
    at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    row.worked(queue, at)
    row.worked(queue, at - timedelta(minutes=5))  # an older moment never moves it back
    row.worked(other, at + timedelta(minutes=1))
    assert row.worked_at == {str(queue): at.timestamp(), str(other): at.timestamp() + 60}


@given(
    position=st.integers(min_value=1, max_value=50),
    agents=st.integers(min_value=0, max_value=5),
    holds=st.lists(st.floats(min_value=1, max_value=3_600), max_size=5),
)
def test_the_eta_shown_is_the_rounded_hand_over_estimate(position, agents, holds):
    state = QueueState(
        now=NOW, position=position, active_agents=agents, recent_occupancy_seconds=tuple(holds)
    )
    estimate = handover(state)
    assert eta_seconds(state) == (None if estimate is None else round(estimate))


def test_the_window_is_a_setting_with_a_default_and_a_bad_value_names_the_variable():
    assert load_settings({}).eta.serving_window_seconds == 900
    window = load_settings({"SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS": "300"})
    assert window.eta.serving_window_seconds == 300
    for bad in ("soon", "-5", "inf", "nan"):
        with pytest.raises(ValueError, match="SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS"):
            load_settings({"SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS": bad})
