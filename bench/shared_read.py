"""Followers woken together: the CPU of applying the log in small steps to every read model,
each reading the log itself (the baseline, as before) or sharing one read (``SharedLog``, as
``smartqueue projections`` now runs them).

A history of ``--cycles`` ticket cycles (issue, call next, start, close) is made first, with no
follower running. Then, for each mode, every read model's tracking starts at the same position
and the models are applied round-robin ``--step`` events at a time, as followers woken by each
command would be: the CPU seconds of this process (the followers' Python) per event, and the
reads of the log. Modes are interleaved over ``--repeat`` runs; medians are reported.

Usage::

    .venv/bin/python bench/shared_read.py [--cycles 300] [--step 3] [--repeat 3]
        [--database-url URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psycopg

from bench.environment import machine_context, open_container, scratch_database
from bench.workloads import app_cycle, build_world
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.following.shared_log import SharedLog


def _reset(admin_url: str, position: int) -> None:
    """Every read model empty and at ``position``, as if none had run."""
    models = read_models().values()
    tables = ", ".join(table for model in models for table in model.tables)
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f"TRUNCATE {tables}")
        connection.execute("DELETE FROM projection_state")
        connection.execute(
            "UPDATE projection_tracking SET position = %s WHERE projection_name = ANY(%s)",
            (position, [model.name for model in models]),
        )


def _run(container: object, step: int, shared: bool) -> tuple[float, int]:
    app = container.app  # type: ignore[attr-defined]
    engine = container.read_engine  # type: ignore[attr-defined]
    models = read_models()
    log = SharedLog(app.recorder, app.mapper) if shared else None
    runners = [
        ProjectionRunner(model, app.recorder, app.mapper, batch_size=step, shared=log)
        for model in models.values()
    ]
    reads = 0
    done: set[str] = set()
    began = time.process_time()
    while len(done) < len(runners):
        for runner in runners:
            with engine.begin() as connection:
                reads += 1
                if runner.apply_batch(connection) < step:
                    done.add(runner.model.name)
    cpu = time.process_time() - began
    return cpu, (log.reads if log is not None else reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=300)
    parser.add_argument("--step", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url")
    options = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as workdir,
        scratch_database(options.database_url, Path(workdir)) as database,
    ):
        container = open_container(database, Path(workdir), pool_size=4)
        try:
            world = build_world(container, "distinct", 1, make_available=True)
            for _ in range(options.cycles):
                app_cycle(container, world.tenant_id, world.callers[0])
            head = container.app.recorder.max_notification_id() or 0
            start = 0
            names = list(read_models())
            events = head - start
            results: dict[bool, list[tuple[float, int]]] = {False: [], True: []}
            for _ in range(options.repeat):
                for shared in (False, True):
                    _reset(database.url, start)
                    results[shared].append(_run(container, options.step, shared))
        finally:
            container.close()
        for key, value in machine_context(database):
            print(f"{key:<12} {value}")
        print(f"\n{events:,} events, {len(names)} read models, steps of {options.step} events")
        print(f"{'mode':<12} {'CPU ms/event (all models)':>26} {'reads of the log':>18}")
        for shared, label in ((False, "own reads"), (True, "shared read")):
            cpu = statistics.median(r[0] for r in results[shared]) * 1000 / events
            reads = statistics.median(r[1] for r in results[shared])
            print(f"{label:<12} {cpu:>26.3f} {reads:>18,.0f}")


if __name__ == "__main__":
    main()
