"""Cost of the queue statistics projection on a long history: its stored state size and the time
of each batch (restore the state, fold, upsert rows, prune, store the state, move the position),
with and without pruning finished days.

    .venv/bin/python bench/queue_stats_state.py [--days 60] [--tickets 150] [--batch 1000]
        [--unattended 1]

The history is made in memory (a hand-driven clock, two queues, every day ``--tickets`` tickets
per queue: most served, some no-shows and cancellations; and a third queue nobody calls, with
``--unattended`` tickets a day, whose open visits and their days the state must keep). The
projection then runs batch by batch against a scratch PostgreSQL database (DATABASE_URL's server
when set, otherwise an embedded one).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

if __package__ in (None, ""):
    # Run as ``python bench/queue_stats_state.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine

from application.app import SmartQueue
from application.catalogue import Catalogue
from application.context import CommandContext
from application.queues import Queues
from application.staffing import Staffing
from application.tenancy import Tenancy
from application.tickets import Tickets
from bench.environment import scratch_database
from domain.agents import Agent
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.migration import upgrade_read_models
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.postgres.tracking import stored_state
from projections.queue_stats import QueueStatistics


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def history(days: int, tickets: int, unattended_tickets: int) -> SmartQueue:
    """A branch's ``days`` of activity in an in-memory application."""
    clock = Clock()
    app = SmartQueue(env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=clock)
    tenancy, catalogue, staffing = Tenancy(app), Catalogue(app), Staffing(app)
    tickets_ = Tickets(app)
    tenant_id = tenancy.create_tenant(CommandContext.system(None), "bench", "Bench")
    context = CommandContext.system(tenant_id)
    site = catalogue.add_site(context, "Branch", "Europe/Paris")
    queues = [
        Queues(app)
        .open_queue(
            context, code, site.id, [catalogue.add_service(context, code, code, 10).id], "fifo"
        )
        .id
        for code in ("A", "B", "C")
    ]
    queues, unattended = queues[:2], queues[2]
    user_id = uuid4()
    tenancy.register_user(context, user_id, f"{user_id}@bench.test", "Agent", "agent")
    agent = Agent.create_id(user_id)
    staffing.set_agent_status(context, agent, "available", "1")
    for day in range(days):
        clock.now = datetime(2026, 1, 5, 8, 0, tzinfo=UTC) + timedelta(days=day)
        for _ in range(unattended_tickets):
            tickets_.issue_ticket(context, unattended)  # waits for ever
        for number in range(tickets):
            for queue in queues:
                clock.now += timedelta(seconds=40)
                ticket = tickets_.issue_ticket(context, queue).id
                if number % 13 == 5:
                    tickets_.cancel_ticket(context, ticket)
                    continue
                clock.now += timedelta(seconds=20)
                called = staffing.call_next(context, agent, queue)
                assert called is not None and called.id == ticket
                if number % 17 == 3:
                    tickets_.mark_no_show(context, called.id)
                    continue
                tickets_.start_ticket(context, called.id)
                clock.now += timedelta(seconds=60)
                tickets_.close_ticket(context, called.id)
    return app


def run(app: SmartQueue, engine: Engine, batch: int, name: str) -> list[tuple[float, int]]:
    """Project the whole log in batches of ``batch``; (seconds, state bytes) per batch."""
    model = read_models()["queue_stats"]
    views: list[Any] = []

    def make_view(tables: dict[str, Any]) -> Any:
        views.append(model.make_view(tables))
        return views[-1]

    runner = ProjectionRunner(
        replace(model, make_view=make_view),
        app.recorder,
        app.mapper,
        batch_size=batch,
        tracking_name=name,
    )
    costs = []
    while True:
        started = time.perf_counter()
        with engine.begin() as connection:
            count = runner.apply_batch(connection)
        costs.append((time.perf_counter() - started, views[-1].state_bytes))
        if count < batch:
            return costs


def state_round_trip_ms(dumped: bytes, repeat: int = 50) -> float:
    """Decoding the state and encoding it again, as every batch does (CPU only)."""
    started = time.perf_counter()
    for _ in range(repeat):
        QueueStatistics.restore(dumped).dump()
    return (time.perf_counter() - started) / repeat * 1000


def report(label: str, costs: list[tuple[float, int]]) -> None:
    tenth = max(1, len(costs) // 10)
    first = [seconds * 1000 for seconds, _ in costs[:tenth]]
    last = [seconds * 1000 for seconds, _ in costs[-tenth - 1 : -1] or costs[-1:]]
    sizes = [size for _, size in costs]
    print(
        f"{label}: {len(costs)} batches; median batch {statistics.median(first):.1f} ms in the "
        f"first tenth, {statistics.median(last):.1f} ms in the last; state {sizes[-1] / 1024:.1f}"
        f" KiB at the end (max {max(sizes) / 1024:.1f} KiB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--tickets", type=int, default=150, help="per queue and day")
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--unattended", type=int, default=1, help="tickets a day nobody calls")
    options = parser.parse_args()
    started = time.perf_counter()
    app = history(options.days, options.tickets, options.unattended)
    events = app.recorder.max_notification_id()
    print(
        f"history: {options.days} days, {options.tickets} tickets per queue and day in 2 "
        f"queues, {options.unattended} a day in an unattended one: "
        f"{events} events (made in {time.perf_counter() - started:.0f} s)"
    )
    with tempfile.TemporaryDirectory() as workdir, contextlib.ExitStack() as stack:
        database = stack.enter_context(
            scratch_database(os.environ.get("DATABASE_URL"), Path(workdir))
        )
        upgrade_read_models(database.url)
        engine = sqlalchemy_engine(database.url, pool_size=1)
        stack.callback(engine.dispose)
        report("with pruning", run(app, engine, options.batch, "bench_pruned"))
        with engine.connect() as connection:
            dumped = stored_state(connection, "bench_pruned") or b""
        print(f"  state decode + encode: {state_round_trip_ms(dumped):.2f} ms")
        prune = QueueStatistics.prune
        QueueStatistics.prune = lambda self: 0  # type: ignore[method-assign]
        try:
            report("without pruning", run(app, engine, options.batch, "bench_unpruned"))
            with engine.connect() as connection:
                dumped = stored_state(connection, "bench_unpruned") or b""
            print(f"  state decode + encode: {state_round_trip_ms(dumped):.2f} ms")
        finally:
            QueueStatistics.prune = prune  # type: ignore[method-assign]


if __name__ == "__main__":
    main()
