"""The projection runner's tests again, on the concurrent recorder (``SMARTQUEUE_RECORDER=
concurrent``): exactly one effect per event, across failures, redeliveries and concurrent
writers whose commits no longer come in id order; one active follower; lag."""

from __future__ import annotations

import pytest

from infrastructure.postgres.concurrent_recorder import ConcurrentPostgresRecorder
from tests.integration.conftest import on_own_database
from tests.integration.test_projection_runner import (  # the same tests, collected here too
    test_a_batch_that_dies_before_its_commit_leaves_nothing_and_is_applied_once_later,
    test_a_follower_never_skips_an_event_of_concurrent_writers,
    test_events_delivered_twice_have_one_effect,
    test_followers_woken_together_read_the_log_once_and_get_what_the_store_holds,
    test_lag_is_the_distance_between_the_log_head_and_the_tracking_position,
    test_only_one_follower_is_active_and_a_standby_takes_over_when_it_stops,
    test_the_audit_log_shows_each_event_with_its_actor_and_correlation_id,
)

pytestmark = pytest.mark.integration

container, world = on_own_database(SMARTQUEUE_RECORDER="concurrent")

__all__ = [
    "test_a_batch_that_dies_before_its_commit_leaves_nothing_and_is_applied_once_later",
    "test_a_follower_never_skips_an_event_of_concurrent_writers",
    "test_events_delivered_twice_have_one_effect",
    "test_followers_woken_together_read_the_log_once_and_get_what_the_store_holds",
    "test_lag_is_the_distance_between_the_log_head_and_the_tracking_position",
    "test_only_one_follower_is_active_and_a_standby_takes_over_when_it_stops",
    "test_the_audit_log_shows_each_event_with_its_actor_and_correlation_id",
]


def test_these_tests_run_on_the_concurrent_recorder(container) -> None:
    assert isinstance(container.app.recorder, ConcurrentPostgresRecorder)
