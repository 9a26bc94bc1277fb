"""The HTTP baseline of the write-path benchmark: the least a Litestar endpoint can do for a
write, one ``INSERT`` + ``COMMIT`` into a plain table, served like ``smartqueue api`` (uvicorn,
the same number of workers, a sync handler run in a thread as SmartQueue's command handlers are).

    BENCH_INSERT_DATABASE_URL=... python -m uvicorn bench.minimal_insert_app:create_app --factory

The table is ``bench_raw_inserts`` (``bench.workloads.create_baseline_table``). Each worker process
keeps a small connection pool, opened at start-up and closed at shutdown.
"""

from __future__ import annotations

import os

from litestar import Litestar, get, post
from litestar.datastructures import State
from psycopg import sql
from psycopg_pool import ConnectionPool

from bench.workloads import BASELINE_PAYLOAD, BASELINE_TABLE

DATABASE_URL_VARIABLE = "BENCH_INSERT_DATABASE_URL"
POOL_SIZE_VARIABLE = "BENCH_INSERT_POOL_SIZE"
INSERT = sql.SQL("INSERT INTO {} (payload) VALUES (%s) RETURNING id").format(
    sql.Identifier(BASELINE_TABLE)
)
READY_PATH = "/ready"


@post("/inserts", sync_to_thread=True, status_code=201)
def insert_row(state: State) -> dict[str, int]:
    """One row, one transaction: the write a command would make, without the command."""
    pool: ConnectionPool = state.pool
    with pool.connection() as connection:  # commits on leaving the block
        row = connection.execute(INSERT, (BASELINE_PAYLOAD,)).fetchone()
    assert row is not None
    return {"id": row[0]}


@get(READY_PATH, sync_to_thread=False)
def ready() -> dict[str, str]:
    """Answers once the worker has started (its pool is open)."""
    return {"status": "ready"}


def create_app() -> Litestar:
    """The app of one worker process; the pool lives as long as the app."""
    size = int(os.environ.get(POOL_SIZE_VARIABLE, "20"))
    pool = ConnectionPool(os.environ[DATABASE_URL_VARIABLE], min_size=2, max_size=size, open=False)

    def open_pool(app: Litestar) -> None:
        pool.open(wait=True)
        app.state.pool = pool

    def close_pool(app: Litestar) -> None:
        pool.close()  # not pool.close itself: Litestar would pass the app as its timeout

    return Litestar(
        route_handlers=[insert_row, ready], on_startup=[open_pool], on_shutdown=[close_pool]
    )
