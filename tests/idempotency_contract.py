"""What every idempotency store must do, whatever keeps the keys: one abstract test case,
subclassed per adapter (in memory in ``tests/unit``, PostgreSQL in ``tests/integration``).

A subclass provides the ``make_store(clock)`` fixture; the clock starts at ``START`` and only
moves when a test says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from application.idempotency import IdempotencyStore, KeyState, StoredResponse, Verdict
from tests.unit.world import Clock

START = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
CREATED = StoredResponse(
    201, (("content-type", "application/json"),), b'{"id":"t-1","number":"A-001"}'
)
MakeStore = Callable[[Clock], IdempotencyStore]


class IdempotencyStoreContract:
    """The behaviour shared by every :class:`IdempotencyStore`."""

    @pytest.fixture
    def clock(self) -> Clock:
        return Clock(START)

    @pytest.fixture
    def store(self, make_store: MakeStore, clock: Clock) -> IdempotencyStore:
        return make_store(clock)

    @pytest.fixture
    def tenant(self) -> UUID:
        return uuid4()

    def test_the_first_claim_of_a_key_wins_and_a_second_must_wait(self, store, tenant) -> None:
        first = store.claim(tenant, "k", "fp")
        second = store.claim(tenant, "k", "fp")

        assert first.won
        assert not second.won
        assert second.verdict is Verdict.WAIT
        assert second.record is not None
        assert second.record.state is KeyState.IN_FLIGHT

    def test_a_completed_key_replays_the_stored_response_byte_for_byte(self, store, tenant) -> None:
        claim = store.claim(tenant, "k", "fp")
        response = StoredResponse(409, (("content-type", "application/problem+json"),), b"\xff\x00")
        assert store.complete(tenant, "k", claim.claim_id, response)

        again = store.claim(tenant, "k", "fp")

        assert again.verdict is Verdict.REPLAY
        assert not again.won
        assert again.record.response == response

    def test_another_request_with_the_key_is_a_mismatch_in_flight_or_done(
        self, store, tenant
    ) -> None:
        claim = store.claim(tenant, "k", "fp")
        assert store.claim(tenant, "k", "other").verdict is Verdict.MISMATCH
        store.complete(tenant, "k", claim.claim_id, CREATED)
        assert store.claim(tenant, "k", "other").verdict is Verdict.MISMATCH

    def test_the_same_key_in_another_tenant_is_another_key(self, store, tenant) -> None:
        store.claim(tenant, "k", "fp")

        assert store.claim(uuid4(), "k", "other").won

    def test_a_released_key_can_be_claimed_again(self, store, tenant) -> None:
        claim = store.claim(tenant, "k", "fp")
        store.release(tenant, "k", claim.claim_id)

        assert store.claim(tenant, "k", "fp").won

    def test_a_lease_that_ran_out_is_taken_over_and_the_old_claim_cannot_complete(
        self, store, tenant, clock: Clock
    ) -> None:
        old = store.claim(tenant, "k", "fp")
        clock.advance(seconds=store.policy.lease.total_seconds() - 1)
        assert store.claim(tenant, "k", "fp").verdict is Verdict.WAIT
        clock.advance(seconds=1)

        new = store.claim(tenant, "k", "fp")

        assert new.won
        assert new.verdict is Verdict.TAKE_OVER
        assert not store.complete(tenant, "k", old.claim_id, CREATED)
        store.release(tenant, "k", old.claim_id)  # a late release of the old claim is harmless
        assert store.complete(tenant, "k", new.claim_id, CREATED)
        assert store.claim(tenant, "k", "fp").verdict is Verdict.REPLAY

    def test_a_key_is_remembered_for_24_hours_and_then_forgotten(
        self, store, tenant, clock: Clock
    ) -> None:
        claim = store.claim(tenant, "k", "fp")
        store.complete(tenant, "k", claim.claim_id, CREATED)
        clock.advance(hours=24, seconds=-1)
        assert store.claim(tenant, "k", "other").verdict is Verdict.MISMATCH
        assert store.claim(tenant, "k", "fp").verdict is Verdict.REPLAY
        clock.advance(seconds=1)

        reused = store.claim(tenant, "k", "other")

        assert reused.won
        assert store.claim(tenant, "k", "other").verdict is Verdict.WAIT

    def test_purging_deletes_expired_keys_only_and_at_most_the_limit(
        self, make_store: MakeStore, tenant
    ) -> None:
        # Long before START, so the keys other tests leave behind are not expired by this clock.
        clock = Clock(START - timedelta(days=3000))
        store = make_store(clock)
        for key in ("a", "b", "c"):
            store.claim(tenant, key, "fp")
        clock.advance(hours=23)
        store.claim(tenant, "young", "fp")
        clock.advance(hours=1)

        assert store.purge_expired(limit=2) == 2
        assert store.purge_expired(limit=2) == 1
        assert store.purge_expired(limit=2) == 0
        assert store.claim(tenant, "young", "other").verdict is Verdict.MISMATCH  # still known
