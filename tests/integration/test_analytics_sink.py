"""The analytics sink on a real broker and PostgreSQL: a scripted activity over two queues is
relayed to Kafka, the sink stores it, and the DuckDB file holds every event of the log once,
whose counts and the KPI query of docs/analytics-sink.md give the figures worked out by hand.
The whole log published a second time changes nothing but the sink's count of duplicates."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import duckdb
import pytest

from infrastructure.analytics.settings import load_sink_settings
from infrastructure.analytics.sink import AnalyticsSink
from infrastructure.container import Container
from infrastructure.kafka.broker import EmbeddedBroker
from infrastructure.kafka.relay import reset_relay
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.kafka_support import relay_in_thread_until
from tests.unit.test_analytics_sink_kpis import kpis

pytestmark = pytest.mark.integration

# The relay publishes this module's own log to this module's own broker (see test_notifier.py).
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

DAY = date(2026, 3, 2)
NINE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 10:00 in Paris, the site's zone


def eventually(check: Callable[[], bool], timeout: float, what: str | Callable[[], str]) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what if isinstance(what, str) else what()}: not within {timeout} s"
            )
        time.sleep(0.1)


class Clock:
    """The application's clock, set by the script: ``at(m)`` is 09:00 UTC + m minutes."""

    def __init__(self) -> None:
        self.now = NINE

    def at(self, minutes: float) -> None:
        self.now = NINE + timedelta(minutes=minutes)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(container: Container) -> Iterator[Clock]:
    clock = Clock()
    real = container.app.clock
    container.app.clock = clock
    yield clock
    container.app.clock = real


class RunningSink:
    """An :class:`AnalyticsSink` in a thread of its own, as ``smartqueue analytics-sink`` runs
    it."""

    def __init__(self, container: Container, bootstrap: str, path: Path) -> None:
        kafka = dataclasses.replace(container.settings.kafka, bootstrap_servers=bootstrap)
        settings = load_sink_settings(
            {
                "SMARTQUEUE_ANALYTICS_SINK_GROUP": f"sink-{path.parent.name}",
                "SMARTQUEUE_ANALYTICS_SINK_STATUS_SECONDS": "1",
            }
        )
        self.path = path
        self.sink = AnalyticsSink(kafka, settings, path)
        self.halt = threading.Event()
        self.thread = threading.Thread(target=self.sink.run, args=(self.halt,), daemon=True)
        self.thread.start()

    def stored_ids(self) -> set[str]:
        """The event ids in the file, read beside the sink (a cursor of its own connection)."""
        store = self.sink.store
        if store is None:
            return set()
        try:
            cursor = store.connection.cursor()
            return {row[0] for row in cursor.execute("SELECT event_id FROM events").fetchall()}
        except duckdb.Error:  # the sink is reopening its file
            return set()

    def __str__(self) -> str:
        sink = self.sink
        status = "no status" if sink.status is None else sink.status.describe()
        return (
            f"sink: {len(sink.assigned)} partitions held, {sink.seeks} seeks, {sink.written}"
            f" written, {sink.duplicates} duplicates, stored offsets {sink.stored}; {status}"
        )

    def stop(self) -> None:
        self.halt.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def log_event_ids(container: Container) -> list[str]:
    """Every event of the store's notification log, as ``event_id``s, in log order."""
    recorder = container.app.recorder
    ids: list[str] = []
    position = 0
    while True:
        batch = recorder.select_notifications(start=position, limit=1000, inclusive_of_start=False)
        if not batch:
            return ids
        ids += [f"{n.originator_id}:{n.originator_version}" for n in batch]
        position = batch[-1].id


def relay_everything(container: Container, bootstrap: str) -> None:
    relay_in_thread_until(container, bootstrap, container.app.recorder.max_notification_id() or 0)


def play_two_queues(world: TenantWorld, clock: Clock) -> tuple[UUID, UUID]:
    """The scripted activity; the figures it must give are in the tests below."""
    app, context = world.container, world.context
    q1, q2 = world.queue_id, world.open_queue()
    a1, a2 = world.add_available_agent("One"), world.add_available_agent("Two")

    def issue(queue_id: UUID, minutes: float) -> UUID:
        clock.at(minutes)
        return app.tickets.issue_ticket(context, queue_id).id

    def call(agent_id: UUID, queue_id: UUID, minutes: float) -> UUID:
        clock.at(minutes)
        called = app.staffing.call_next(context, agent_id, queue_id)
        assert called is not None
        return called.id

    def then(minutes: float, command: str, ticket_id: UUID, *args: Any) -> None:
        clock.at(minutes)
        getattr(app.tickets, command)(context, ticket_id, *args)

    t1, t2, t3 = issue(q1, 0), issue(q1, 0), issue(q1, 0)
    u1 = issue(q2, 1)
    assert call(a1, q1, 2) == t1  # waited 120 s
    then(3, "start_ticket", t1)
    u2 = issue(q2, 4)
    assert call(a2, q2, 5) == u1  # waited 240 s
    then(6, "start_ticket", u1)
    then(7, "cancel_ticket", u2)  # cancelled while waiting
    then(8, "close_ticket", t1)  # served 300 s
    assert call(a1, q1, 9) == t2  # waited 540 s
    then(11, "mark_no_show", t2)
    assert call(a1, q1, 12) == t3  # waited 720 s
    then(13, "transfer_ticket", t3, q2)  # its visit to q2 begins at 13
    then(16, "close_ticket", u1)  # served 600 s
    assert call(a2, q2, 17) == t3  # waited 240 s in q2
    then(18, "start_ticket", t3)
    then(20, "close_ticket", t3)  # served 120 s
    issue(q2, 21)  # still waiting
    return q1, q2


def test_the_sink_stores_every_event_once_and_its_kpis_are_the_hand_computed_ones(
    container: Container,
    world: TenantWorld,
    kafka_bootstrap: str,
    clock: Clock,
    tmp_path: Path,
) -> None:
    q1, q2 = play_two_queues(world, clock)
    relay_everything(container, kafka_bootstrap)
    expected = log_event_ids(container)
    running = RunningSink(container, kafka_bootstrap, tmp_path / "sink.duckdb")
    try:
        eventually(
            lambda: running.stored_ids() >= set(expected),
            90,
            lambda: f"the sink stored the log ({running})",
        )
        # The whole log again, at new offsets (a relay that lost its position): nothing new.
        engine = sqlalchemy_engine(container.database_url, pool_size=1)
        try:
            reset_relay(engine)
        finally:
            engine.dispose()
        relay_everything(container, kafka_bootstrap)
        eventually(lambda: running.sink.duplicates >= len(expected), 90, "the sink read the copies")
        status = running.sink.status
        eventually(
            lambda: running.sink.status is not status and running.sink.status.behind == 0,
            30,
            "the sink reported itself caught up",
        )
    finally:
        running.stop()
    assert running.sink.duplicates == len(expected)

    connection = duckdb.connect(str(running.path), read_only=True)
    try:
        stored = [row[0] for row in connection.execute("SELECT event_id FROM events").fetchall()]
        assert len(stored) == len(set(stored)) == len(expected)
        assert set(stored) == set(expected)
        offsets = connection.execute("SELECT sum(next_offset) FROM sink_offsets").fetchone()
        assert offsets == (2 * len(expected),)  # every record of both publications read
        assert connection.execute("SELECT count(*) FROM sink_rejected").fetchone() == (0,)

        tenant = str(world.tenant_id)
        counts = Counter(
            dict(
                connection.execute(
                    "SELECT event_type, count(*) FROM events"
                    " WHERE tenant_id = ? AND aggregate_type = 'Ticket' GROUP BY event_type",
                    [tenant],
                ).fetchall()
            )
        )
        assert counts == {
            "Ticket.Issued": 6,
            "Ticket.Called": 5,
            "Ticket.ServiceStarted": 3,
            "Ticket.Completed": 3,
            "Ticket.MarkedNoShow": 1,
            "Ticket.Cancelled": 1,
            "Ticket.Transferred": 1,
        }
        # The rows keep the log's order and the domain's times.
        positions = connection.execute(
            "SELECT count(DISTINCT log_position), min(log_position) > 0 FROM events"
        ).fetchone()
        assert positions == (len(expected), True)
        issued_at = connection.execute(
            "SELECT min(CAST(payload ->> 'issued_at' AS TIMESTAMPTZ)) FROM events"
            " WHERE tenant_id = ? AND event_type = 'Ticket.Issued'",
            [tenant],
        ).fetchone()
        assert issued_at == (NINE,)

        rows = kpis(connection, DAY, DAY)
        assert {key for key in rows if rows[key]["tenant_id"] == world.tenant_id} == {
            (str(q1), DAY),
            (str(q2), DAY),
        }
        first, second = rows[(str(q1), DAY)], rows[(str(q2), DAY)]
    finally:
        connection.close()
    counted = ("arrivals", "transferred_in", "served", "no_shows", "cancellations")
    assert [first[name] for name in counted] == [3, 0, 1, 1, 0]
    assert [second[name] for name in counted] == [3, 1, 2, 0, 1]
    # q1 waits 120, 540, 720 s: mean 460; the value at rank floor(q * (n - 1)) (docs/analytics.md):
    # p50, p90 and p95 all at rank 1, 540.
    assert first["waits_counted"] == 3
    assert first["wait_mean_seconds"] == pytest.approx(460)
    assert first["wait_p50_seconds"] == pytest.approx(540)
    assert first["wait_p90_seconds"] == pytest.approx(540)
    assert first["wait_p95_seconds"] == pytest.approx(540)
    assert [first[f"service_{name}_seconds"] for name in ("mean", "p50", "p95")] == [300] * 3
    # q2 waits 240 and 240 s (u1, and t3 after its transfer); services 600 and 120 s.
    assert second["waits_counted"] == 2
    assert second["wait_mean_seconds"] == pytest.approx(240)
    assert second["wait_p95_seconds"] == pytest.approx(240)
    assert second["services_counted"] == 2
    assert second["service_mean_seconds"] == pytest.approx(360)
    # Services 120 and 600 s: every percentile at rank floor(q * 1) = 0, 120.
    assert second["service_p50_seconds"] == pytest.approx(120)
    assert second["service_p90_seconds"] == pytest.approx(120)
    assert second["service_p95_seconds"] == pytest.approx(120)


def test_the_sink_rides_out_a_broker_outage_and_a_broker_that_lost_its_log(
    container: Container, world: TenantWorld, tmp_path: Path
) -> None:
    """The broker stops under the sink; the one that comes back on its address is empty (the
    embedded broker keeps messages in memory) and is fed the whole log again, events of the
    outage included: the sink reconnects by itself, reads the new partitions from their
    beginning (its stored offsets are past their ends) and stores only what is new."""
    broker = EmbeddedBroker(tmp_path / "kafka").start()
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    running = None
    try:
        reset_relay(engine)  # this broker is new: the whole log
        relay_everything(container, broker.bootstrap_servers)
        before = log_event_ids(container)
        running = RunningSink(container, broker.bootstrap_servers, tmp_path / "sink.duckdb")
        eventually(
            lambda: running.stored_ids() >= set(before),
            90,
            lambda: f"the sink stored the log ({running})",
        )
        seeks = running.sink.seeks
        broker.stop()
        for _ in range(5):  # commands go on meanwhile; their events wait in the log
            world.container.tickets.issue_ticket(world.context, world.queue_id)
        time.sleep(3.0)  # the sink meets the outage
        broker = EmbeddedBroker(tmp_path / "kafka", port=broker.port).start()
        eventually(
            lambda: running.sink.seeks > seeks, 90, lambda: f"the sink came back ({running})"
        )
        reset_relay(engine)
        relay_everything(container, broker.bootstrap_servers)
        expected = log_event_ids(container)
        assert len(expected) >= len(before) + 10  # each issue: its ticket's, its queue's...
        eventually(
            lambda: running.stored_ids() >= set(expected),
            90,
            lambda: f"the sink stored the rest ({running})",
        )
        eventually(
            lambda: running.sink.duplicates >= len(before), 60, "the sink read the old copies"
        )
    finally:
        if running is not None:
            running.stop()
        engine.dispose()
        broker.stop()
    # Every event stored once (the old ones read again were copies, and the relay may re-send).
    assert running.sink.written == len(expected)
    assert running.sink.duplicates >= len(before)
    connection = duckdb.connect(str(running.path), read_only=True)
    try:
        rows = connection.execute("SELECT event_id FROM events").fetchall()
    finally:
        connection.close()
    assert sorted(row[0] for row in rows) == sorted(expected)
