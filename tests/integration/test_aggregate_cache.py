"""The aggregate cache on a real PostgreSQL: two SmartQueue processes (two containers on one
database, as two API processes) keep the aggregates they load in memory, and each load brings
the kept copy up to date from the store, so neither ever acts on the other's stale state."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import Repository
from eventsourcing.persistence import IntegrityError

from application.app import SmartQueue
from application.base import FastForwardingRepository
from application.tickets import local_day
from bench.workloads import LostSaveCounter
from domain.agents import Agent
from domain.errors import AgentNotFound, QueueNotFound, TicketNotFound
from domain.numbering import DailyCounter
from domain.queues import Queue
from domain.tickets import Ticket, TicketStatus
from infrastructure.container import Container, build_container
from infrastructure.postgres.database import event_store_env
from infrastructure.settings import Settings
from tests.conftest import settings_for
from tests.integration.conftest import TenantWorld

pytestmark = pytest.mark.integration

WAITING = 60
AGENTS_PER_PROCESS = 2


@pytest.fixture(scope="module")
def other(settings: Settings) -> Iterator[Container]:
    """A second process's container on the session's database."""
    built = build_container(settings)
    yield built
    built.close()


def replayed(app: SmartQueue, aggregate_id: UUID) -> Any:
    """The aggregate as the store holds it, replayed without any cache."""
    return Repository(app.events, snapshot_store=app.snapshots).get(aggregate_id)


def assert_as_stored(container: Container, aggregate_id: UUID) -> None:
    """The process's copy holds exactly what a replay of the stored events gives."""
    assert vars(container.app.repository.get(aggregate_id)) == vars(
        replayed(container.app, aggregate_id)
    )


def test_both_processes_keep_aggregates_in_memory(world: TenantWorld, other: Container) -> None:
    for container in (world.container, other):
        repository = container.app.repository
        assert isinstance(repository, FastForwardingRepository)
    world.container.queues.get_queue(world.tenant_id, world.queue_id)
    repository = world.container.app.repository
    assert isinstance(repository, FastForwardingRepository)
    assert repository.kept.get(world.queue_id).id == world.queue_id


def test_the_cache_is_off_with_a_size_of_zero(database_url: str, tmp_path) -> None:
    settings = settings_for(database_url, tmp_path, SMARTQUEUE_AGGREGATE_CACHE_SIZE="0")
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    try:
        assert type(app.repository) is Repository
        assert app.repository.cache is None
    finally:
        app.close()


def test_two_processes_changing_the_same_queue_ticket_and_agent_in_turn_never_act_on_stale_state(
    world: TenantWorld, other: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    processes = [world.container, other]
    for container in processes:  # the counters below wrap it; put it back after the test
        recorder = container.app.recorder
        monkeypatch.setattr(recorder, "insert_events", recorder.insert_events)
    lost = [LostSaveCounter(container.app) for container in processes]
    agent_id = world.add_available_agent()
    context = world.context

    # Tickets issued alternately by each process: one counter, one line, numbers in sequence.
    issued = [
        processes[n % 2].tickets.issue_ticket(context, world.queue_id).number for n in range(8)
    ]
    assert issued == [f"A-{n:03d}" for n in range(1, 9)]

    # The same agent calls, starts and closes each ticket, every step in the other process.
    called = []
    for n in range(8):
        first, second = processes[n % 2], processes[(n + 1) % 2]
        ticket = first.staffing.call_next(context, agent_id, world.queue_id)
        assert ticket is not None
        second.tickets.start_ticket(context, ticket.id)
        first.tickets.close_ticket(context, ticket.id)
        called.append(ticket.number)
        for container in processes:
            seen = container.queues.get_queue(world.tenant_id, world.queue_id)
            assert seen.waiting == 8 - n - 1
    assert called == issued

    # Each turn found the other process's last change: no save ever lost a race.
    assert [counter.count for counter in lost] == [0, 0]
    stored_queue = replayed(world.container.app, world.queue_id)
    stored_agent = replayed(world.container.app, agent_id)
    for container in processes:
        queue = container.app.load(Queue, world.queue_id, world.tenant_id, QueueNotFound)
        agent = container.app.load(Agent, agent_id, world.tenant_id, AgentNotFound)
        assert queue.version == stored_queue.version
        assert queue.waiting == stored_queue.waiting == []
        assert agent.version == stored_agent.version
        assert agent.current_ticket_id is None
        for aggregate_id in (world.queue_id, agent_id):
            assert_as_stored(container, aggregate_id)


def test_a_save_that_loses_the_race_leaves_nothing_behind_in_the_cache(
    world: TenantWorld, other: Container
) -> None:
    mine, theirs = world.container.app, other.app
    loser = mine.load(Queue, world.queue_id, world.tenant_id, QueueNotFound)
    winner = theirs.load(Queue, world.queue_id, world.tenant_id, QueueNotFound)
    winner.reconfigure("Renamed", winner.service_ids, "priority")
    theirs.save_in_context(world.context, winner)
    loser.pause()
    with pytest.raises(IntegrityError):
        mine.save_in_context(world.context, loser)

    # The loser's next load has the winner's change and not its own refused one.
    again = mine.load(Queue, world.queue_id, world.tenant_id, QueueNotFound)
    assert (again.name, again.policy, str(again.status)) == ("Renamed", "priority", "open")
    assert again.version == winner.version
    assert list(again.collect_events()) == []
    # Retrying on it saves, and both processes then see the pause.
    again.pause()
    mine.save_in_context(world.context, again)
    for container in (world.container, other):
        assert container.queues.get_queue(world.tenant_id, world.queue_id).status == "paused"


def test_agents_of_two_processes_calling_next_on_one_queue_call_every_ticket_once(
    world: TenantWorld, other: Container
) -> None:
    issued = [
        world.container.tickets.issue_ticket(world.context, world.queue_id) for _ in range(WAITING)
    ]
    callers = [
        (container, world.add_available_agent(f"Agent {n}"))
        for container in (world.container, other)
        for n in range(AGENTS_PER_PROCESS)
    ]
    start = threading.Barrier(len(callers))

    def work(caller: tuple[Container, UUID]) -> list[UUID]:
        container, agent_id = caller
        called = []
        start.wait()
        while True:
            ticket = container.staffing.call_next(world.context, agent_id, world.queue_id)
            if ticket is None:
                return called
            called.append(ticket.id)
            container.tickets.start_ticket(world.context, ticket.id)
            container.tickets.close_ticket(world.context, ticket.id)

    with ThreadPoolExecutor(len(callers)) as pool:
        per_caller = list(pool.map(work, callers))

    called = [ticket_id for ids in per_caller for ticket_id in ids]
    assert [ticket_id for ticket_id, count in Counter(called).items() if count > 1] == []
    assert sorted(called) == sorted(ticket.id for ticket in issued)
    assert sum(1 for ids in per_caller[:AGENTS_PER_PROCESS] if ids) >= 1
    assert sum(1 for ids in per_caller[AGENTS_PER_PROCESS:] if ids) >= 1

    # Every process's copy is the stored one: the same version, nobody waiting, all closed.
    stored_queue = replayed(world.container.app, world.queue_id)
    assert stored_queue.waiting == []
    for container in (world.container, other):
        queue = container.app.load(Queue, world.queue_id, world.tenant_id, QueueNotFound)
        assert queue.version == stored_queue.version
        assert queue.waiting == []
        for ticket_id in called:
            ticket = container.app.load(Ticket, ticket_id, world.tenant_id, TicketNotFound)
            stored = replayed(container.app, ticket_id)
            assert (ticket.version, ticket.status) == (stored.version, stored.status)
            assert ticket.status == TicketStatus.COMPLETED
            assert_as_stored(container, ticket_id)
        assert_as_stored(container, world.queue_id)


def test_snapshots_taken_from_kept_copies_hold_what_the_events_say(
    world: TenantWorld, other: Container
) -> None:
    processes = [world.container, other]
    issued = [
        processes[n % 2].tickets.issue_ticket(world.context, world.queue_id)
        for n in range(SnapshotInterval.TICKETS)
    ]
    assert issued[-1].number == f"A-{SnapshotInterval.TICKETS:03d}"
    app = world.container.app
    day = local_day(issued[-1].issued_at, "Europe/Paris")  # the world's site
    counter_id = DailyCounter.create_id(world.service_id, day)
    for aggregate_id in (counter_id, world.queue_id):
        snapshots = list(app.snapshots.get(aggregate_id, desc=True, limit=1))
        assert snapshots and snapshots[0].originator_version == SmartQueue.SNAPSHOT_INTERVAL
        from_snapshot = Repository(app.events, snapshot_store=app.snapshots).get(aggregate_id)
        from_events = Repository(app.events).get(aggregate_id)
        assert vars(from_snapshot) == vars(from_events)


class SnapshotInterval:
    """Enough tickets for the queue and the day's counter to pass their first snapshot."""

    TICKETS = SmartQueue.SNAPSHOT_INTERVAL + 5
