"""The concurrent recorder (``SMARTQUEUE_RECORDER=concurrent``) on a real PostgreSQL: writers
commit side by side, in an order unrelated to their ids, and a follower still reads every
committed id exactly once, in id order, never passing one that commits later. Then the whole
stack on it: commands from many threads, the projections and the relay following meanwhile."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from infrastructure.container import Container, build_container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.migration import migrate
from infrastructure.postgres.concurrent_recorder import ConcurrentPostgresRecorder
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.conftest import owner_url, runtime_database, settings_for
from tests.integration.conftest import TenantWorld, new_world, on_own_broker
from tests.integration.kafka_support import consume, relay_in_thread_until

pytestmark = pytest.mark.integration

WRITERS = 8
EVENTS = int(os.environ.get("GAP_EVENTS", 100_000))  # the issue's floor
MOST_PER_TRANSACTION = 40
ROLLED_BACK = 0.05  # the share of transactions that fail after drawing their ids

kafka_bootstrap = on_own_broker()


@pytest.fixture
def concurrent(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    """A container with the concurrent recorder, on a database of its own (each test its own:
    the raw events of the gap test are no domain events a projection could read)."""
    server_url = owner_url(database_url)
    name = f"sq_concurrent_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    home: Path = tmp_path_factory.mktemp("concurrent-home")
    settings = settings_for(
        runtime_database(server_url, name), home, redis_url, SMARTQUEUE_RECORDER="concurrent"
    )
    migrate(settings)
    container = build_container(settings)
    try:
        yield container
    finally:
        container.close()
        with psycopg.connect(server_url, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def all_ids(container: Container) -> list[int]:
    with psycopg.connect(container.database_url) as connection:
        rows = connection.execute(
            "SELECT notification_id FROM smartqueue_events ORDER BY notification_id"
        ).fetchall()
    return [row[0] for row in rows]


def test_the_recorder_takes_no_table_lock_and_its_sequence_hands_out_ids_in_time_order(
    concurrent: Container,
) -> None:
    assert isinstance(concurrent.app.recorder, ConcurrentPostgresRecorder)
    with psycopg.connect(concurrent.database_url) as connection:
        [cache] = connection.execute(
            "SELECT cache_size FROM pg_sequences"
            " WHERE sequencename = 'smartqueue_events_notification_id_seq'"
        ).fetchone()
    assert cache == 1  # a cache per session would hand out ids out of time order
    # Two open write transactions at once: the stock recorder's lock would block the second.
    recorder = concurrent.app.recorder
    first_inside = threading.Event()
    release = threading.Event()
    original = recorder.after_insert

    def slow_first(cursor: Any, ids: Any) -> None:
        original(cursor, ids)
        if not first_inside.is_set():
            first_inside.set()
            assert release.wait(10)

    recorder.after_insert = slow_first  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(2) as pool:
            slow = pool.submit(recorder.insert_events, [_stored()])
            assert first_inside.wait(10)
            started = time.monotonic()
            fast_ids = recorder.insert_events([_stored()])
            waited = time.monotonic() - started
            release.set()
            slow_ids = slow.result(10)
    finally:
        recorder.after_insert = original  # type: ignore[method-assign]
    assert waited < 2.0 and fast_ids[0] > slow_ids[0]  # committed first, with the higher id


def _stored(version: int = 1) -> StoredEvent:
    return StoredEvent(
        originator_id=uuid.uuid4(), originator_version=version, topic="test:Gap", state=b"{}"
    )


def test_a_follower_reads_every_committed_id_once_in_order_while_writers_commit_out_of_order(
    concurrent: Container,
) -> None:
    """Eight writers, each transaction drawing 1-40 ids then sleeping 0-3 ms before its commit
    (some roll back instead); a follower reading all along through the recorder, and a naive one
    (``id > last``) beside it to show the commits really came out of order."""
    recorder = concurrent.app.recorder
    original = recorder.after_insert
    chance = random.Random(20261207)
    chance_lock = threading.Lock()

    def sleepy(cursor: Any, ids: Any) -> None:
        original(cursor, ids)
        with chance_lock:
            pause, fail = chance.random() * 0.003, chance.random() < ROLLED_BACK
        time.sleep(pause)
        if fail:  # an error in the transaction: it rolls back, its ids are never used
            cursor.execute("SELECT 1 / 0")

    written = threading.Event()
    start_ids = all_ids(concurrent)
    position = start_ids[-1] if start_ids else 0

    def write(share: int) -> int:
        done = 0
        local = random.Random(share)
        while done < share:
            batch = [_stored() for _ in range(local.randint(1, MOST_PER_TRANSACTION))]
            try:
                recorder.insert_events(batch)
                done += len(batch)
            except Exception as error:  # the division by zero above, in whatever wrapping
                if "division by zero" not in str(error):
                    raise
        return done

    def follow(read: Any) -> list[int]:
        seen: list[int] = []
        last = position
        while True:
            finished = written.is_set()
            batch = read(last)
            seen += batch
            if batch:
                last = batch[-1]
            elif finished and last >= (recorder.max_notification_id() or 0):
                return seen
            else:
                time.sleep(0.002)

    def through_recorder(last: int) -> list[int]:
        notes = recorder.select_notifications(start=last, limit=1000, inclusive_of_start=False)
        return [note.id for note in notes]

    naive_connection = psycopg.connect(concurrent.database_url, autocommit=True)

    def naive(last: int) -> list[int]:
        rows = naive_connection.execute(
            "SELECT notification_id FROM smartqueue_events WHERE notification_id > %s"
            " ORDER BY notification_id LIMIT 1000",
            (last,),
        ).fetchall()
        return [row[0] for row in rows]

    recorder.after_insert = sleepy  # type: ignore[method-assign]
    try:
        with ThreadPoolExecutor(WRITERS + 2) as pool:
            followers = [pool.submit(follow, through_recorder), pool.submit(follow, naive)]
            writers = [pool.submit(write, EVENTS // WRITERS) for _ in range(WRITERS)]
            total = sum(writer.result() for writer in writers)
            written.set()
            safe, careless = (follower.result(120) for follower in followers)
    finally:
        recorder.after_insert = original  # type: ignore[method-assign]
        naive_connection.close()

    committed = [identifier for identifier in all_ids(concurrent) if identifier > position]
    assert total >= EVENTS and len(committed) == total
    assert safe == committed, "the follower skipped, repeated or reordered an id"
    missed = len(set(committed) - set(careless))
    assert missed > 0, "the writers never committed out of id order: the test proves nothing"
    print(f"{total} events; a naive follower missed {missed}, the recorder's none")


def test_commands_from_many_threads_reach_every_read_model_and_the_broker_once(
    concurrent: Container, kafka_bootstrap: str
) -> None:
    """Ticket cycles from eight threads on four queues, with the ticket and audit projections
    following while they run; then every read model and the relay catch up: every ticket as its
    commands left it, an audit row per event, every event on the broker once."""
    world: TenantWorld = new_world(concurrent, "c", "Concurrent tenant")
    queues = [world.queue_id] + [world.open_queue() for _ in range(3)]
    agents = [world.add_available_agent(f"Agent {n}") for n in range(WRITERS)]
    engine = sqlalchemy_engine(concurrent.database_url, pool_size=4)
    stop = threading.Event()
    models = read_models()

    def keep_following(name: str) -> None:
        runner = ProjectionRunner(models[name], concurrent.app.recorder, concurrent.app.mapper)
        while not stop.is_set():
            if runner.catch_up(engine) == 0:
                time.sleep(0.01)

    def cycles(index: int) -> dict[uuid.UUID, str]:
        queue = queues[index % len(queues)]
        outcome: dict[uuid.UUID, str] = {}
        for _ in range(15):
            issued = concurrent.tickets.issue_ticket(world.context, queue)
            outcome[issued.id] = "waiting"
            called = concurrent.staffing.call_next(world.context, agents[index], queue)
            if called is None:
                continue
            concurrent.tickets.start_ticket(world.context, called.id)
            concurrent.tickets.close_ticket(world.context, called.id)
            outcome[called.id] = "completed"
        return outcome

    try:
        with ThreadPoolExecutor(WRITERS + 2) as pool:
            following = [pool.submit(keep_following, name) for name in ("tickets", "audit_log")]
            outcomes = [pool.submit(cycles, index) for index in range(WRITERS)]
            expected: dict[uuid.UUID, str] = {}
            for done in outcomes:  # a ticket one thread issued, another may have served
                for ticket_id, status in done.result().items():
                    if expected.get(ticket_id) != "completed":
                        expected[ticket_id] = status
            stop.set()
            for follower in following:
                follower.result(60)
        for model in models.values():
            ProjectionRunner(model, concurrent.app.recorder, concurrent.app.mapper).catch_up(engine)
    finally:
        engine.dispose()

    for ticket_id, status in expected.items():
        assert concurrent.ticket_queries.get_ticket(world.tenant_id, ticket_id).status == status
    committed = all_ids(concurrent)
    with psycopg.connect(owner_url(concurrent.database_url)) as connection:  # every tenant's
        [audit_rows] = connection.execute("SELECT count(*) FROM audit_log").fetchone()
    assert audit_rows == len(committed)

    relay_in_thread_until(concurrent, kafka_bootstrap, committed[-1])
    received = consume(kafka_bootstrap, set(committed))
    positions = [int(message.headers["log_position"]) for message in received]
    assert sorted(positions) == committed, "an event reached the broker twice, or never"
