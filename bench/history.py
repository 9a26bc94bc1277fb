"""The event history the projection benchmark rebuilds from: many branches' days, made through
the application layer by several processes, kept in a named database so reruns skip it.

The database ``bench_history_<events>`` lives on the benchmark's server (a persistent embedded
PostgreSQL under ``var/`` by default). A marker table records that generation finished; an
interrupted generation, or ``--regenerate``, starts again from an empty database.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from bench.branch import Branch
from bench.environment import smartqueue_environment, warn
from infrastructure.container import build_container
from infrastructure.migration import migrate
from infrastructure.settings import Settings, load_settings

MARKER = "bench_history"
BRANCHES_PER_WORKER = 4
STEPS_BETWEEN_CHECKS = 300
POOL_SIZE = 4


def history_name(events: int) -> str:
    """The cached dataset's database name: one per requested size."""
    return f"bench_history_{events}"


def _is_complete(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as connection:
        present = connection.execute("SELECT to_regclass(%s)", (MARKER,)).fetchone()
        if not present or present[0] is None:
            return False
        row = connection.execute(sql.SQL("SELECT complete FROM {}").format(sql.Identifier(MARKER)))
        return bool((row.fetchone() or (False,))[0])


def _exists(admin_url: str, name: str) -> bool:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        found = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        return found.fetchone() is not None


def _recreate(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as connection:
        identifier = sql.Identifier(name)
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(identifier))


def prepare_history(admin_url: str, events: int, *, regenerate: bool) -> tuple[str, bool]:
    """The URL of a migrated ``bench_history_<events>`` database, and whether it still has to be
    filled (it is new, was left incomplete, or ``regenerate`` asked for a fresh one)."""
    name = history_name(events)
    url = make_conninfo(admin_url, dbname=name)
    if not regenerate and _exists(admin_url, name) and _is_complete(url):
        migrate(settings_for(url))  # read models added since get their tables (idempotent)
        return url, False
    _recreate(admin_url, name)
    migrate(settings_for(url))
    with psycopg.connect(url, autocommit=True) as connection:
        marker = sql.Identifier(MARKER)
        connection.execute(sql.SQL("CREATE TABLE {} (complete boolean NOT NULL)").format(marker))
        connection.execute(sql.SQL("INSERT INTO {} VALUES (false)").format(marker))
    return url, True


def settings_for(url: str) -> Settings:
    """The settings of every SmartQueue object this benchmark builds on ``url``."""
    home = Path(tempfile.gettempdir()) / "sq-bench-projections-home"
    return load_settings(smartqueue_environment(url, home, POOL_SIZE))


def generate(url: str, events: int, workers: int, head: Callable[[], int]) -> None:
    """Drive branches in ``workers`` processes until the log holds ``events`` notifications.
    ``head`` reads the log's last id, for the progress lines."""
    started = time.perf_counter()
    if workers == 1:  # in this process: no interpreter to start (the smoke test's case)
        drive_branches(url, events, seed=0)
        warn(f"history generated in {time.perf_counter() - started:.0f} s")
        return
    context = multiprocessing.get_context("spawn")  # no inherited connections or threads
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(drive_branches, url, events, seed) for seed in range(workers)]
        while not all(future.done() for future in futures):
            time.sleep(5)
            elapsed = time.perf_counter() - started
            warn(f"  history: {head():,} / {events:,} events after {elapsed:.0f} s")
        for future in futures:
            future.result()  # re-raise a worker's failure
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    warn(f"history generated in {time.perf_counter() - started:.0f} s")


def mark_complete(url: str) -> None:
    """Record that the cached history is whole, so the next run reuses it."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(sql.SQL("UPDATE {} SET complete = true").format(sql.Identifier(MARKER)))


def drive_branches(url: str, events: int, seed: int) -> int:
    """One worker process: open its branches, step them in turn until the log is long enough."""
    container = build_container(settings_for(url))
    try:
        # A small history needs few branches; opening one creates users (slow password hashes).
        count = max(1, min(BRANCHES_PER_WORKER, events // 20_000))
        branches = [Branch.open(container, seed * 1000 + index) for index in range(count)]
        recorder = container.app.recorder
        steps = 0
        while (recorder.max_notification_id() or 0) < events:
            for _ in range(STEPS_BETWEEN_CHECKS):
                branches[steps % len(branches)].step()
                steps += 1
        return steps
    finally:
        container.close()
