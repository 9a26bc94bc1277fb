"""The tickets read model under a long waiting line: projection and rebuild throughput, and the
cost of a ticket's position (an indexed count) and of a list page, under each policy.

    .venv/bin/python bench/tickets_read.py [--waiting 2000] [--reads 200] [--database-url URL]

One queue gets ``--waiting`` tickets (random priorities 0-3, two services with different target
waits), then the projection catches up; the read figures are medians over ``--reads`` calls as
the API's reader (row-level security on), for the ticket at the end of the line. The queue is
reconfigured between policies, so the same rows are ordered three ways. A scratch database is
created and dropped (an embedded PostgreSQL unless --database-url names a local server).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):
    # Run as ``python bench/tickets_read.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text

from application.context import CommandContext
from application.paging import PageRequest
from application.ticket_queries import TicketFilter
from bench.environment import open_container, scratch_database
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.read_models.tickets import PostgresTicketRecords


def median_ms(action: Callable[[], object], reads: int) -> float:
    samples = []
    for _ in range(reads):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiting", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="sq-bench-tickets-"))
    with scratch_database(options.database_url, workdir) as database:
        container = open_container(database, workdir / "home", pool_size=4)
        try:
            run(container, options.waiting, options.reads)
        finally:
            container.close()


def run(container, waiting: int, reads: int) -> None:
    rng = random.Random(7)
    tenant_id = container.tenancy.create_tenant(CommandContext.system(None), "bench", "Bench")
    context = CommandContext.system(tenant_id)
    site = container.catalogue.add_site(context, "Main", "Europe/Paris")
    services = [
        container.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10).id,
        container.catalogue.add_service(context, "Loans", "L", target_wait_minutes=3).id,
    ]
    queue = container.queues.open_queue(context, "Main", site.id, services, "fifo")
    started = time.perf_counter()
    tickets = [
        container.tickets.issue_ticket(
            context, queue.id, service_id=rng.choice(services), priority=rng.randint(0, 3)
        ).id
        for _ in range(waiting)
    ]
    print(f"issued {waiting} tickets in {time.perf_counter() - started:.1f} s")

    model = read_models()["tickets"]
    runner = ProjectionRunner(model, container.app.recorder, container.app.mapper)
    started = time.perf_counter()
    events = runner.catch_up(container.read_engine)
    elapsed = time.perf_counter() - started
    print(f"projection: {events} events in {elapsed:.2f} s ({events / elapsed:,.0f} events/s)")
    started = time.perf_counter()
    rebuild(model, container.read_engine, container.app.recorder, container.app.mapper)
    elapsed = time.perf_counter() - started
    print(f"rebuild from zero: {elapsed:.2f} s ({events / elapsed:,.0f} events/s)")

    records = PostgresTicketRecords(container.read_engine)
    last = tickets[-1]
    waiting_page = TicketFilter(statuses=frozenset({"waiting"}), queue_id=queue.id)
    for policy in ("fifo", "priority", "sla"):
        if policy != "fifo":
            container.queues.reconfigure_queue(context, queue.id, algorithm=policy)
            runner.catch_up(container.read_engine)
        expected = container.app.repository.get(queue.id).position_of(last, container.app.clock())
        found = records.find(tenant_id, last)
        assert found is not None and found.position == expected, (policy, found, expected)
        one = median_ms(lambda: records.find(tenant_id, last), reads)
        page = median_ms(
            lambda: records.search(tenant_id, waiting_page, PageRequest(limit=50)), reads
        )
        print(
            f"{policy:>8}: position {expected:>5} of {waiting}: GET one {one:.2f} ms, "
            f"list page of 50 waiting with positions {page:.2f} ms (median of {reads})"
        )
    with tenant_transaction(container.read_engine, tenant_id) as connection:
        plan = connection.execute(
            text(
                "EXPLAIN SELECT count(*) FROM waiting_line WHERE queue_id = :q "
                "AND (deadline, priority_order, rank) < (now(), 0, 0)"
            ),
            {"q": queue.id},
        ).scalars()
        print("sla count plan:", " | ".join(line.strip() for line in plan))


if __name__ == "__main__":
    main()
