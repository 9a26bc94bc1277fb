"""One hot queue on a real PostgreSQL: its writers take turns under the queue lock
(``PostgresQueueLock``), across two application instances, instead of racing and retrying."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from application.staffing import Staffing
from application.tickets import Tickets
from infrastructure.container import Container, build_container
from infrastructure.postgres.database import open_pool
from infrastructure.postgres.queue_lock import PostgresQueueLock

pytestmark = pytest.mark.integration

CALLERS = 8
ISSUERS = 2
RENAMES = 10  # a manager reconfiguring the queue meanwhile takes turns too
TICKETS_PER_ISSUER = 40
# Enough kiosks that one of them always waits for the queue: the lock would pass between them
# for ever if nothing made it go round the processes.
BUSY_KIOSKS = 12


@pytest.fixture(scope="module")
def other_container(settings) -> Iterator[Container]:
    """A second application instance on the same database, as a second API process has it."""
    built = build_container(settings)
    yield built
    built.close()


class LostSaves:
    """Counts the saves the event store refused (a lost optimistic-concurrency race): the
    recorder's own ``insert_events``, counted on its way through."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *containers: Container) -> None:
        self.count = 0
        for container in containers:
            recorder = container.app.recorder
            monkeypatch.setattr(recorder, "insert_events", self._counting(recorder.insert_events))

    def _counting(self, insert_events: Any) -> Any:
        def counting(*args: Any, **kwargs: Any) -> Any:
            try:
                return insert_events(*args, **kwargs)
            except IntegrityError:
                self.count += 1
                raise

        return counting


def test_eight_callers_and_two_kiosks_on_two_instances_take_turns_on_one_queue(
    world, other_container, monkeypatch
):
    instances = [world.container, other_container]
    lost_saves = LostSaves(monkeypatch, *instances)
    agents = [world.add_available_agent(f"Agent {n}") for n in range(CALLERS)]
    issuing_done = threading.Event()
    start = threading.Barrier(CALLERS + ISSUERS + 1)

    def issue(index: int) -> list[str]:
        tickets = instances[index % 2].tickets
        start.wait()
        return [
            tickets.issue_ticket(world.context, world.queue_id, channel="kiosk").number
            for _ in range(TICKETS_PER_ISSUER)
        ]

    def call(index: int) -> list[tuple[Any, Any, str]]:
        instance = instances[index % 2]
        calls = []
        start.wait()
        while True:
            # Issuing ends before the last look, so a ticket issued late is still called.
            issuing_over = issuing_done.is_set()
            ticket = instance.staffing.call_next(world.context, agents[index], world.queue_id)
            if ticket is None:
                if issuing_over:
                    return calls
                time.sleep(0.005)
                continue
            calls.append((ticket.called_at, ticket.issued_at, ticket.number))
            instance.tickets.close_ticket(
                world.context, instance.tickets.start_ticket(world.context, ticket.id).id
            )

    def manage() -> None:
        start.wait()
        for n in range(RENAMES):
            queues = instances[n % 2].queues
            queues.reconfigure_queue(world.context, world.queue_id, name=f"Hot queue {n}")
            time.sleep(0.01)

    with ThreadPoolExecutor(CALLERS + ISSUERS + 1) as pool:
        callers = [pool.submit(call, index) for index in range(CALLERS)]
        issuers = [pool.submit(issue, index) for index in range(ISSUERS)]
        manager = pool.submit(manage)
        issued = [number for issuer in issuers for number in issuer.result()]
        manager.result()
        issuing_done.set()
        # Any exception of a command (Contention is the API's 503) fails the test here.
        calls = sorted(call for caller in callers for call in caller.result())

    called = [number for _, _, number in calls]
    assert [number for number, count in Counter(called).items() if count > 1] == []
    assert sorted(called) == sorted(issued), "a ticket was skipped"
    issue_times = [issued_at for _, issued_at, _ in calls]
    assert issue_times == sorted(issue_times), "a fifo queue called a later ticket first"
    assert sum(1 for caller in callers if caller.result()) > 1, "the callers never overlapped"
    queue = world.container.queues.get_queue(world.tenant_id, world.queue_id)
    assert (queue.waiting, queue.name) == (0, f"Hot queue {RENAMES - 1}")
    assert lost_saves.count == 0, "a writer slipped past the queue lock and lost a race"


def test_a_busy_instance_lets_another_instance_in_while_it_keeps_issuing(
    world, other_container, settings
):
    stop = threading.Event()

    def keep_issuing() -> int:
        issued = 0
        while not stop.is_set():
            world.container.tickets.issue_ticket(world.context, world.queue_id)
            issued += 1
        return issued

    # The other instance's kiosk would wait a minute for the lock rather than go unlocked: it
    # is served while the busy instance still calls only if that one hands the lock on.
    patient_lock = PostgresQueueLock(open_pool(settings.database.url, 2), wait_seconds=60)
    kiosk = Tickets(other_container.app, patient_lock)
    try:
        with ThreadPoolExecutor(BUSY_KIOSKS) as pool:
            cycling = [pool.submit(keep_issuing) for _ in range(BUSY_KIOSKS)]
            time.sleep(1.0)
            started = time.monotonic()
            issued = [kiosk.issue_ticket(world.context, world.queue_id) for _ in range(3)]
            waited = time.monotonic() - started
            served_while_busy = not any(future.done() for future in cycling)
            stop.set()
            assert all(future.result() > 0 for future in cycling)
    finally:
        stop.set()
        patient_lock.close()
    assert served_while_busy, "the busy instance stopped before the other one got its turn"
    assert waited < 30, "the busy instance kept the lock to itself"
    assert all(ticket.status == "waiting" for ticket in issued)


HOLDER = """
import sys, time, uuid
from infrastructure.postgres.database import open_pool
from infrastructure.postgres.queue_lock import PostgresQueueLock

lock = PostgresQueueLock(open_pool(sys.argv[1], 1))
with lock.holding([uuid.UUID(sys.argv[2])]):
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_holder_killed_mid_command_does_not_block_the_queue(world, settings):
    world.container.tickets.issue_ticket(world.context, world.queue_id)
    agent_id = world.add_available_agent()
    # A caller that would wait a minute for the lock: if it is served sooner, the lock was
    # released by the holder's death, not given up.
    patient_lock = PostgresQueueLock(open_pool(settings.database.url, 2), wait_seconds=60)
    staffing = Staffing(world.container.app, queue_lock=patient_lock)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, settings.database.url, str(world.queue_id)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with ThreadPoolExecutor(1) as pool:
            call = pool.submit(staffing.call_next, world.context, agent_id, world.queue_id)
            time.sleep(1.0)
            assert not call.done(), "the call did not wait for the other process's lock"
            killed_at = time.monotonic()
            holder.kill()
            ticket = call.result(timeout=30)
            waited = time.monotonic() - killed_at
    finally:
        holder.kill()
        holder.wait()
        patient_lock.close()
    assert ticket is not None and ticket.status == "called"
    assert waited < 10, "the lock outlived its holder"
