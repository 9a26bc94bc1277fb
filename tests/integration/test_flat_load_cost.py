"""Calling next costs the same after 10,000 past tickets as on a fresh queue (snapshots)."""

from __future__ import annotations

import statistics
import time
from datetime import timedelta

import pytest

from application.tickets import local_day
from domain.agents import Agent
from domain.numbering import DailyCounter, format_ticket_number
from domain.queues import Queue
from domain.tickets import Ticket
from tests.integration.conftest import on_own_database

pytestmark = pytest.mark.integration

PAST_TICKETS = 10_000
# A database of its own: its ~90,000 events in the session's log would put the session's live
# fan-out (relay, display gateway) minutes behind, and the display tests after it with it.
container, world = on_own_database()
CHUNK = 50  # large pipelined inserts can stall psycopg; 50 tickets = ~350 events a save


def write_history(world, queue_id, agent_id, tickets: int) -> None:
    """Serve ``tickets`` tickets through the aggregates' own methods, saved in large batches
    (the command path would take minutes; the events and snapshots written are the same)."""
    queue = world.container.app.repository.get(queue_id)
    agent = world.container.app.repository.get(agent_id)
    now = world.container.app.clock()
    day = local_day(now, queue.timezone)
    counter = world.container.app.find(
        DailyCounter, DailyCounter.create_id(world.service_id, day)
    ) or DailyCounter(service_id=world.service_id, day=day)
    for _ in range(tickets // CHUNK):
        served = []
        for _ in range(CHUNK):
            ticket = Ticket(
                tenant_id=world.tenant_id,
                queue_id=queue.id,
                service_id=world.service_id,
                number=format_ticket_number("A", counter.take()),
                priority=0,
                channel="kiosk",
                customer_id=None,
                issued_at=now,
            )
            queue.join(ticket.id, 0, now, 600)
            assert queue.take_next(now) == ticket.id
            ticket.call(agent.id, "1", now)
            agent.take_ticket(ticket.id)
            ticket.start(now + timedelta(seconds=30))
            ticket.close(now + timedelta(seconds=300))
            agent.release_ticket(ticket.id)
            served.append(ticket)
        world.container.app.save_in_context(world.context, queue, agent, counter, *served)


def median_call_next_ms(world, queue_id, agent_id, rounds: int = 15) -> float:
    timings = []
    for _ in range(rounds):
        world.container.tickets.issue_ticket(world.context, queue_id)
        started = time.perf_counter()
        ticket = world.container.staffing.call_next(world.context, agent_id, queue_id)
        timings.append((time.perf_counter() - started) * 1000)
        world.container.tickets.close_ticket(
            world.context, world.container.tickets.start_ticket(world.context, ticket.id).id
        )
    return statistics.median(timings)


def events_after_latest_snapshot(app, aggregate_id) -> int:
    snapshot = next(iter(app.snapshots.get(aggregate_id, desc=True, limit=1)), None)
    after = snapshot.originator_version if snapshot else 0
    return len(list(app.events.get(aggregate_id, gt=after)))


def test_call_next_costs_the_same_after_ten_thousand_past_tickets(world):
    fresh_queue, busy_queue = world.open_queue(), world.open_queue()
    fresh_agent, busy_agent = world.add_available_agent(), world.add_available_agent()
    write_history(world, busy_queue, busy_agent, PAST_TICKETS)

    busy = world.container.app.repository.get(busy_queue)
    assert isinstance(busy, Queue) and busy.version >= 2 * PAST_TICKETS
    assert isinstance(world.container.app.repository.get(busy_agent), Agent)
    # What a load reads is bounded by the snapshot interval, whatever the history.
    for aggregate_id in (busy_queue, busy_agent):
        assert (
            events_after_latest_snapshot(world.container.app, aggregate_id)
            < world.container.app.SNAPSHOT_INTERVAL
        )

    # Warm both paths once, then compare medians measured in the same process.
    median_call_next_ms(world, fresh_queue, fresh_agent, rounds=3)
    median_call_next_ms(world, busy_queue, busy_agent, rounds=3)
    fresh_ms = median_call_next_ms(world, fresh_queue, fresh_agent)
    busy_ms = median_call_next_ms(world, busy_queue, busy_agent)
    print(f"call_next median: fresh {fresh_ms:.2f} ms, with history {busy_ms:.2f} ms")
    # Replaying 20,000 queue events would cost hundreds of ms; a generous bound absorbs noise.
    assert busy_ms < max(3 * fresh_ms, fresh_ms + 15)
