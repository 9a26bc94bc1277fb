"""Concurrency on a real PostgreSQL: two agents pressing "call next" at once is ordinary."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from eventsourcing.persistence import IntegrityError

from application.app import SmartQueue
from domain.queues import Queue
from infrastructure.postgres.database import event_store_env

pytestmark = pytest.mark.integration

WAITING = 200
CALLERS = 8


def test_eight_agents_calling_next_on_one_queue_call_every_ticket_exactly_once(world):
    issued = [
        world.container.tickets.issue_ticket(world.context, world.queue_id) for _ in range(WAITING)
    ]
    agents = [world.add_available_agent(f"Agent {n}") for n in range(CALLERS)]
    start = threading.Barrier(CALLERS)

    def work(agent_id):
        called = []
        start.wait()
        while True:
            ticket = world.container.staffing.call_next(world.context, agent_id, world.queue_id)
            if ticket is None:
                return called
            called.append(ticket.number)
            world.container.tickets.close_ticket(
                world.context, world.container.tickets.start_ticket(world.context, ticket.id).id
            )

    with ThreadPoolExecutor(CALLERS) as pool:
        per_agent = list(pool.map(work, agents))

    called = [number for numbers in per_agent for number in numbers]
    counts = Counter(called)
    assert [number for number, count in counts.items() if count > 1] == []
    assert sorted(called) == sorted(ticket.number for ticket in issued)
    assert sum(1 for numbers in per_agent if numbers) > 1, "the callers never overlapped"
    assert world.container.queues.get_queue(world.tenant_id, world.queue_id).waiting == 0


def test_fifo_order_holds_under_concurrent_calls(world):
    issued = [
        world.container.tickets.issue_ticket(world.context, world.queue_id).number
        for _ in range(40)
    ]
    agents = [world.add_available_agent() for _ in range(4)]
    order_lock = threading.Lock()
    call_order: list[str] = []

    def work(agent_id):
        while True:
            # The lock only records the order calls committed in; the calls themselves race.
            ticket = world.container.staffing.call_next(world.context, agent_id, world.queue_id)
            if ticket is None:
                return
            with order_lock:
                call_order.append((ticket.called_at, ticket.number))
            world.container.tickets.close_ticket(
                world.context, world.container.tickets.start_ticket(world.context, ticket.id).id
            )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, agents))
    assert [number for _, number in sorted(call_order)] == issued


def test_a_writer_that_loaded_a_stale_queue_loses_on_optimistic_concurrency(world, settings):
    other = SmartQueue(
        env=event_store_env(world.container.database_url, settings, create_tables=False)
    )
    try:
        first = world.container.app.repository.get(world.queue_id)
        second = other.repository.get(world.queue_id)
        assert isinstance(first, Queue) and isinstance(second, Queue)
        first.pause()
        second.reconfigure("Renamed", second.service_ids, "priority")
        world.container.app.save_in_context(world.context, first)
        with pytest.raises(IntegrityError):
            other.save_in_context(world.context, second)
        reloaded = world.container.queues.get_queue(world.tenant_id, world.queue_id)
        assert reloaded.status == "paused"
        assert reloaded.name == "Main" and reloaded.algorithm == "fifo"
    finally:
        other.close()


def test_concurrent_first_tickets_of_the_day_share_one_counter(world):
    queues = [world.open_queue() for _ in range(4)]

    def issue(queue_id):
        return [
            world.container.tickets.issue_ticket(world.context, queue_id).number for _ in range(10)
        ]

    with ThreadPoolExecutor(4) as pool:
        numbers = [n for batch in pool.map(issue, queues) for n in batch]
    assert sorted(numbers) == [f"A-{n:03d}" for n in range(1, 41)]
