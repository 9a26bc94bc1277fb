"""The PostgreSQL idempotency store: the store contract, and claim races on a real server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from uuid import uuid4

import pytest
from psycopg_pool import ConnectionPool

from application.idempotency import Claim, Verdict
from infrastructure.postgres.database import open_pool
from infrastructure.postgres.tenancy import set_tenant
from infrastructure.stores.idempotency import PostgresIdempotencyStore
from tests.idempotency_contract import CREATED, START, IdempotencyStoreContract
from tests.unit.world import Clock

pytestmark = pytest.mark.integration
RACERS = 8


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    """A connection per racer, so the racing claims really run at once."""
    opened = open_pool(database_url, size=RACERS)
    yield opened
    opened.close()


class TestPostgresIdempotencyStore(IdempotencyStoreContract):
    @pytest.fixture
    def make_store(self, pool: ConnectionPool):
        return lambda clock: PostgresIdempotencyStore(pool, clock=clock)


def _race(store: PostgresIdempotencyStore, tenant, key: str) -> list[Claim]:
    start = threading.Barrier(RACERS)
    claims: list[Claim] = []
    lock = threading.Lock()

    def racer() -> None:
        start.wait(timeout=30)
        claim = store.claim(tenant, key, "fp")
        with lock:
            claims.append(claim)

    threads = [threading.Thread(target=racer) for _ in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(claims) == RACERS
    return claims


def test_of_many_threads_claiming_one_key_exactly_one_wins(pool: ConnectionPool) -> None:
    store = PostgresIdempotencyStore(pool, clock=Clock(START))
    tenant = uuid4()

    claims = _race(store, tenant, "one-key")

    assert sum(claim.won for claim in claims) == 1
    assert {claim.verdict for claim in claims if not claim.won} == {Verdict.WAIT}


def test_of_many_threads_taking_over_a_dead_lease_exactly_one_wins(pool: ConnectionPool) -> None:
    clock = Clock(START)
    store = PostgresIdempotencyStore(pool, clock=clock)
    tenant = uuid4()
    dead = store.claim(tenant, "dead-key", "fp")
    clock.advance(seconds=store.policy.lease.total_seconds() + 1)

    claims = _race(store, tenant, "dead-key")

    winners = [claim for claim in claims if claim.won]
    assert len(winners) == 1
    assert winners[0].verdict is Verdict.TAKE_OVER
    assert winners[0].claim_id != dead.claim_id
    assert not store.complete(tenant, "dead-key", dead.claim_id, CREATED)
    assert store.complete(tenant, "dead-key", winners[0].claim_id, CREATED)


def test_of_many_threads_reusing_an_expired_key_exactly_one_wins(pool: ConnectionPool) -> None:
    clock = Clock(START)
    store = PostgresIdempotencyStore(pool, clock=clock)
    tenant = uuid4()
    old = store.claim(tenant, "old-key", "before")
    store.complete(tenant, "old-key", old.claim_id, CREATED)
    clock.advance(hours=24)

    claims = _race(store, tenant, "old-key")

    assert sum(claim.won for claim in claims) == 1


def test_an_expired_row_is_purged_when_a_later_claim_wins(pool: ConnectionPool) -> None:
    clock = Clock(START - timedelta(days=6000))  # older than anything other tests leave
    store = PostgresIdempotencyStore(pool, clock=clock)
    tenant = uuid4()
    store.claim(tenant, "forgotten", "fp")
    clock.advance(hours=25)
    with pool.connection() as connection:
        set_tenant(connection, tenant)  # row-level security: the tenant's rows only
        counted = "SELECT count(*) FROM idempotency_keys WHERE tenant_id = %s"
        assert connection.execute(counted, (tenant,)).fetchone()[0] == 1

    store.claim(tenant, "fresh", "fp")

    with pool.connection() as connection:
        set_tenant(connection, tenant)
        keys = connection.execute(
            "SELECT key FROM idempotency_keys WHERE tenant_id = %s", (tenant,)
        ).fetchall()
    assert keys == [("fresh",)]
