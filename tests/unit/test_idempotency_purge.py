"""The worker's purge of expired idempotency keys: batch after batch until none are left, but
never more than its bound in one round."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from application.idempotency import Verdict, purge_expired_keys
from tests.memory_idempotency_store import MemoryIdempotencyStore
from tests.unit.world import Clock


def store_with(expired: int, young: int) -> tuple[MemoryIdempotencyStore, Clock]:
    clock = Clock(datetime(2026, 1, 1, tzinfo=UTC))
    store = MemoryIdempotencyStore(clock)
    tenant = uuid4()
    for index in range(expired):
        store.claim(tenant, f"old-{index}", "fp")
    clock.advance(hours=23)
    for index in range(young):
        store.claim(tenant, f"young-{index}", "fp")
    clock.advance(hours=1)
    store.tenant = tenant  # type: ignore[attr-defined]
    return store, clock


def test_every_expired_key_goes_batch_after_batch_and_the_young_ones_stay():
    store, _ = store_with(expired=7, young=2)

    assert purge_expired_keys(store, batch=3) == 7

    assert purge_expired_keys(store, batch=3) == 0
    assert store.claim(store.tenant, "young-0", "other").verdict is Verdict.MISMATCH


def test_one_round_purges_at_most_its_bound_and_the_next_round_goes_on():
    store, _ = store_with(expired=7, young=0)

    assert purge_expired_keys(store, batch=3, max_batches=2) == 6
    assert purge_expired_keys(store, batch=3, max_batches=2) == 1
