"""What every idempotency store must do when a command took effect but its request did not end
with a response (the database went away after, or during, the commit): a retry with the key
never runs the command a second time. Subclassed per adapter, like ``idempotency_contract``.

A subclass provides ``make_store(clock)`` and ``commit_side_write(write)``, which applies a
side write the way the event store's recorder does, inside a committed transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from application.idempotency import IdempotencyStore, KeyState, Verdict
from tests.idempotency_contract import CREATED, START
from tests.unit.world import Clock

CommitSideWrite = Callable[[Any], None]


class AppliedCommandContract:
    """A key's ``applied_marker`` commits with the command's events; from then on the key is
    never handed out again to run its command, only waited for, replayed or refused."""

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock(START)

    @pytest.fixture
    def store(self, make_store, clock: Clock) -> IdempotencyStore:
        return make_store(clock)

    @pytest.fixture
    def tenant(self) -> UUID:
        return uuid4()

    def test_a_retry_after_an_applied_command_failed_is_refused_not_run_again(
        self, store, tenant, commit_side_write: CommitSideWrite
    ) -> None:
        first = store.claim(tenant, "k", "fp")
        commit_side_write(store.applied_marker(tenant, "k", first.claim_id))
        store.release(tenant, "k", first.claim_id)  # the request then answered 503

        retry = store.claim(tenant, "k", "fp")

        assert not retry.won
        assert retry.verdict is Verdict.APPLIED

    def test_an_applied_command_whose_process_died_is_not_taken_over(
        self, store, tenant, clock, commit_side_write: CommitSideWrite
    ) -> None:
        first = store.claim(tenant, "k", "fp")
        commit_side_write(store.applied_marker(tenant, "k", first.claim_id))

        assert store.claim(tenant, "k", "fp").verdict is Verdict.WAIT  # it may still answer
        clock.advance(seconds=store.policy.lease.total_seconds() + 1)
        after_lease = store.claim(tenant, "k", "fp")

        assert not after_lease.won
        assert after_lease.verdict is Verdict.APPLIED

    def test_an_applied_command_that_answered_is_replayed(
        self, store, tenant, commit_side_write: CommitSideWrite
    ) -> None:
        first = store.claim(tenant, "k", "fp")
        commit_side_write(store.applied_marker(tenant, "k", first.claim_id))
        assert store.complete(tenant, "k", first.claim_id, CREATED)

        replay = store.claim(tenant, "k", "fp")

        assert replay.verdict is Verdict.REPLAY
        assert replay.record is not None and replay.record.state is KeyState.COMPLETED
        assert replay.record.response == CREATED

    def test_a_command_that_never_committed_runs_again_on_retry(self, store, tenant) -> None:
        first = store.claim(tenant, "k", "fp")
        store.release(tenant, "k", first.claim_id)  # failed before its commit: no marker

        assert store.claim(tenant, "k", "fp").won

    def test_the_marker_of_a_claim_taken_over_meanwhile_marks_nothing(
        self, store, tenant, clock, commit_side_write: CommitSideWrite
    ) -> None:
        first = store.claim(tenant, "k", "fp")
        clock.advance(seconds=store.policy.lease.total_seconds() + 1)
        second = store.claim(tenant, "k", "fp")
        assert second.won
        commit_side_write(store.applied_marker(tenant, "k", first.claim_id))  # the stale one
        store.release(tenant, "k", second.claim_id)

        assert store.claim(tenant, "k", "fp").won

    def test_an_applied_key_is_forgotten_after_its_time_to_live(
        self, store, tenant, clock, commit_side_write: CommitSideWrite
    ) -> None:
        first = store.claim(tenant, "k", "fp")
        commit_side_write(store.applied_marker(tenant, "k", first.claim_id))
        store.release(tenant, "k", first.claim_id)
        clock.advance(seconds=(store.policy.ttl + timedelta(seconds=1)).total_seconds())

        assert store.claim(tenant, "k", "fp").won
