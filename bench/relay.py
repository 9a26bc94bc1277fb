"""Relay throughput: how fast ``smartqueue relay`` moves a backlog of the log to Kafka.

Writes ``--events`` real events into a scratch database (tickets called, then recalled over and
over, saved by the application with their metadata), starts the embedded broker, then times the
relay publishing the whole backlog from position 0, batch by batch, each batch acknowledged
(``acks=all``, idempotent producer) before its position is recorded.

    .venv/bin/python bench/relay.py [--events 20000] [--batch-size 500] [--database-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

if __package__ in (None, ""):
    # Run as ``python bench/relay.py``: make the ``bench`` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Connection

from application.context import CommandContext
from bench.environment import open_container, scratch_database, warn
from domain.tickets import Ticket
from infrastructure.container import Container
from infrastructure.kafka.broker import EmbeddedBroker
from infrastructure.kafka.relay import KafkaRelay
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.redis.server import stop_embedded_redis

TICKETS_PER_SAVE = 100


def called_tickets(tenant_id: UUID, queue_id: UUID, service_id: UUID, count: int) -> list[Ticket]:
    """``count`` new tickets, each called once: recalling them makes events cheaply (the tests
    and this benchmark need thousands of real events fast; a full command costs ~10 ms here)."""
    now = datetime.now(UTC)
    tickets = []
    for number in range(count):
        ticket = Ticket(
            tenant_id=tenant_id,
            queue_id=queue_id,
            service_id=service_id,
            number=f"Z-{number:03d}",
            priority=0,
            channel="kiosk",
            customer_id=None,
            issued_at=now,
        )
        ticket.call(uuid.uuid4(), "1", now)
        tickets.append(ticket)
    return tickets


def write_backlog(container, events: int) -> int:
    """At least ``events`` events in the log; the log's head."""
    tenant_id = container.tenancy.create_tenant(
        CommandContext.system(None), f"b-{uuid.uuid4().hex[:8]}", "B"
    )
    context = CommandContext.system(tenant_id)
    site = container.catalogue.add_site(context, "Main", "Europe/Paris")
    service = container.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10)
    queue = container.queues.open_queue(context, "Main", site.id, [service.id], "fifo")
    tickets = called_tickets(tenant_id, queue.id, service.id, TICKETS_PER_SAVE)
    head = container.app.save_in_context(context, *tickets) or 0
    while head < events:
        for ticket in tickets:
            ticket.recall(datetime.now(UTC))
        head = container.app.save_in_context(context, *tickets) or head
    return head


def relay_to(container: Container, bootstrap_servers: str, batch_size: int) -> KafkaRelay:
    """The relay of ``smartqueue relay`` over ``container``'s log, publishing to that broker."""
    settings = dataclasses.replace(
        container.settings.kafka,
        bootstrap_servers=bootstrap_servers,
        relay_batch_size=batch_size,
    )
    return KafkaRelay(container.app.recorder, container.app.mapper, settings)


def time_backlog(relay: KafkaRelay, connection: Connection) -> tuple[int, float]:
    """Publish everything after the relay's position: (events published, seconds taken). The
    first batch connects and creates the topics, so it is not timed."""
    relay.publish_batch(connection)
    began = time.perf_counter()
    published = 0
    while count := relay.publish_batch(connection):
        published += count
    elapsed = time.perf_counter() - began
    relay.drop_producer()
    return published, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sq-relay-")))
        database = stack.enter_context(scratch_database(args.database_url, workdir))
        home = workdir / "home"
        container = open_container(database, home, pool_size=4)
        stack.callback(stop_embedded_redis, home)
        stack.callback(container.close)
        warn(f"writing {args.events} events ...")
        head = write_backlog(container, args.events)
        broker = EmbeddedBroker(workdir / "kafka").start()
        stack.callback(broker.stop)
        relay = relay_to(container, broker.bootstrap_servers, args.batch_size)
        engine = sqlalchemy_engine(database.url, pool_size=1)
        stack.callback(engine.dispose)
        with engine.connect() as connection:
            published, elapsed = time_backlog(relay, connection)
        print(
            f"relay: {published} events in {elapsed:.2f} s = {published / elapsed:,.0f} events/s "
            f"(batch {args.batch_size}, log head {head}, one broker on this machine)"
        )


if __name__ == "__main__":
    main()
