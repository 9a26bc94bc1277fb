"""The PostgreSQL idempotency store keeps the applied-command contract: its marker is a side
write that commits with the command's events, in the event store's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from psycopg_pool import ConnectionPool

from infrastructure.postgres.database import open_pool
from infrastructure.stores.idempotency import PostgresIdempotencyStore
from tests.idempotency_applied_contract import AppliedCommandContract

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pool(database_url: str) -> Iterator[ConnectionPool]:
    opened = open_pool(database_url, size=2)
    yield opened
    opened.close()


class TestPostgresStoreAppliedCommands(AppliedCommandContract):
    @pytest.fixture
    def make_store(self, pool: ConnectionPool):
        return lambda clock: PostgresIdempotencyStore(pool, clock=clock)

    @pytest.fixture
    def commit_side_write(self, pool: ConnectionPool):
        def commit(write) -> None:
            with pool.connection() as connection, connection.transaction():
                write.apply(connection.cursor())

        return commit
