"""Followers woken together: the CPU of applying the log in small steps to every read model,
each reading the log itself (the baseline, as before), sharing one read (``SharedLog``), or all
in one transaction per round over the shared read (``FollowerGroup``, as ``smartqueue
projections`` now runs them).

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
from infrastructure.following.process import FollowerGroup
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


MODES = {"own reads": (False, False), "shared read": (True, False), "one transaction": (True, True)}


def _run(container: object, step: int, shared: bool, grouped: bool) -> tuple[float, int, int]:
    """CPU seconds, reads of the log, transactions."""
    app = container.app  # type: ignore[attr-defined]
    engine = container.read_engine  # type: ignore[attr-defined]
    models = read_models()
    log = SharedLog(app.recorder, app.mapper) if shared else None
    runners = [
        ProjectionRunner(model, app.recorder, app.mapper, batch_size=step, shared=log)
        for model in models.values()
    ]
    reads = transactions = 0
    done: set[str] = set()
    group = FollowerGroup(runners, engine)
    began = time.process_time()
    while len(done) < len(runners):
        if grouped:
            with engine.begin() as connection:
                transactions += 1
                if not group.apply_round(connection)[0]:
                    done.update(models)
            continue
        for runner in runners:
            with engine.begin() as connection:
                transactions += 1
                reads += 1
                if runner.apply_batch(connection) < step:
                    done.add(runner.model.name)
    cpu = time.process_time() - began
    return cpu, (log.reads if log is not None else reads), transactions


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
            results: dict[str, list[tuple[float, int, int]]] = {mode: [] for mode in MODES}
            for _ in range(options.repeat):
                for mode, (shared, grouped) in MODES.items():
                    _reset(database.url, start)
                    results[mode].append(_run(container, options.step, shared, grouped))
        finally:
            container.close()
        for key, value in machine_context(database):
            print(f"{key:<12} {value}")
        print(f"\n{events:,} events, {len(names)} read models, steps of {options.step} events")
        header = f"{'mode':<16} {'CPU ms/event (all models)':>26} {'reads of the log':>18}"
        print(header + f" {'transactions':>14}")
        for mode, runs in results.items():
            cpu = statistics.median(r[0] for r in runs) * 1000 / events
            reads = statistics.median(r[1] for r in runs)
            transactions = statistics.median(r[2] for r in runs)
            print(f"{mode:<16} {cpu:>26.3f} {reads:>18,.0f} {transactions:>14,.0f}")


if __name__ == "__main__":
    main()
