"""Helpers of the relay's tests: relay processes, a consumer that reads what the relay published,
and a steady stream of commands."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec
from sqlalchemy import Engine

from bench.relay import called_tickets
from infrastructure.container import Container
from infrastructure.kafka.client import FAST_GROUP
from infrastructure.kafka.contract import topics
from infrastructure.kafka.relay import relay_lag, relay_role
from infrastructure.postgres.sql import sqlalchemy_engine
from tests.e2e.support import smartqueue_executable
from tests.integration.conftest import TenantWorld


@dataclass(frozen=True)
class Received:
    """One message as a consumer saw it."""

    topic: str
    key: str
    headers: dict[str, str]
    value: bytes

    @property
    def envelope(self) -> dict:
        return msgspec.json.decode(self.value)


class RelayProcess:
    """A ``smartqueue relay`` subprocess; its log goes to ``folder``."""

    def __init__(self, database_url: str, bootstrap: str, folder: Path, **extra: str) -> None:
        self.log = folder / f"relay-{uuid.uuid4().hex[:8]}.log"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "SMARTQUEUE_HOME": str(folder),
            "SMARTQUEUE_LOG_FORMAT": "json",
            "SMARTQUEUE_LOG_LEVEL": "INFO",
            **extra,
        }
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [smartqueue_executable(), "relay"],
                env=env,
                stdout=output,
                stderr=output,
            )

    def active(self) -> bool:
        """True once this relay holds the lock."""
        return self.log.exists() and '"role active"' in self.log.read_text(errors="replace")

    def wait_active(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.active():
                return True
            if self.process.poll() is not None:
                raise AssertionError(f"relay exited: {self.log.read_text(errors='replace')}")
            time.sleep(0.02)
        return False

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def consume(
    bootstrap: str, wanted: set[int], timeout: float = 60.0, event_ids: set[str] | None = None
) -> list[Received]:
    """Every message on the contract's topics (a fresh consumer group, from the earliest
    offsets), until each log position in ``wanted`` and each event id in ``event_ids`` (for the
    logs of several databases, whose positions overlap) has been seen or ``timeout`` passes."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        *topics(),
        bootstrap_servers=bootstrap,
        group_id=f"test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **FAST_GROUP,
    )
    received: list[Received] = []
    missing = set(wanted)
    missing_ids = set(event_ids or ())
    deadline = time.monotonic() + timeout
    try:
        while (missing or missing_ids) and time.monotonic() < deadline:
            for messages in consumer.poll(timeout_ms=500).values():
                for message in messages:
                    headers = {name: value.decode() for name, value in message.headers}
                    received.append(
                        Received(message.topic, message.key.decode(), headers, message.value)
                    )
                    missing.discard(int(headers["log_position"]))
                    missing_ids.discard(headers["event_id"])
    finally:
        consumer.close()
    return received


def log_positions_between(container: Container, start: int, end: int) -> set[int]:
    """The positions of the log's events after ``start`` up to ``end``."""
    recorder = container.app.recorder
    found: set[int] = set()
    position = start
    empty_reads = 0
    while position < end:
        batch = recorder.select_notifications(
            start=position, limit=1000, stop=end, inclusive_of_start=False
        )
        if not batch:  # the end, or (concurrent recorder) an id that may still commit
            if (recorder.max_notification_id() or 0) <= position or empty_reads >= 500:
                break
            empty_reads += 1
            time.sleep(0.01)
            continue
        found.update(notification.id for notification in batch)
        position = batch[-1].id
    return found


def wait_relayed(engine: Engine, container: Container, position: int, timeout: float) -> bool:
    """Wait until the relay has published everything up to ``position``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if relay_lag(engine, container.app.recorder).position >= position:
            return True
        time.sleep(0.05)
    return False


def relay_in_thread_until(container: Container, bootstrap: str, position: int) -> None:
    """Run the relay in a thread of this process until it has published up to ``position``."""
    settings = dataclasses.replace(container.settings.kafka, bootstrap_servers=bootstrap)
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    relay, role = relay_role(engine, container.app.recorder, container.app.mapper, settings)
    stop = threading.Event()
    thread = threading.Thread(target=role.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert wait_relayed(container.read_engine, container, position, timeout=60)
        # Another relay on this database (the e2e suites' session-wide one) would hold the lock:
        # this one only stood by, and the events went to another broker. This one notes its
        # position just after committing it: give its thread the moment to.
        moved_by = time.monotonic() + 5
        while relay.position < position and time.monotonic() < moved_by:
            time.sleep(0.01)
        assert relay.position >= position, "another relay published these: use on_own_database()"
    finally:
        stop.set()
        thread.join(30)
        engine.dispose()


@dataclass
class CommandLoad:
    """Tickets issued, called and closed in a thread, at most ``rate`` commands a second."""

    world: TenantWorld
    rate: float
    succeeded: int = 0
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        context = self.world.context
        agent_id = self.world.add_available_agent()
        step = 0
        while not self.stop.is_set():
            began = time.monotonic()
            try:
                if step % 3 == 2:
                    called = self.world.container.staffing.call_next(
                        context, agent_id, self.world.queue_id
                    )
                    if called is not None:
                        self.world.container.tickets.start_ticket(context, called.id)
                        self.world.container.tickets.close_ticket(context, called.id)
                else:
                    self.world.container.tickets.issue_ticket(context, self.world.queue_id)
                self.succeeded += 1
            except Exception as error:
                self.failures.append(repr(error))
            step += 1
            self.stop.wait(max(0.0, 1.0 / self.rate - (time.monotonic() - began)))


@contextmanager
def command_load(world: TenantWorld, rate: float) -> Iterator[CommandLoad]:
    """Run a :class:`CommandLoad` in a thread for the duration of the block."""
    load = CommandLoad(world, rate)
    thread = threading.Thread(target=load.run, daemon=True)
    thread.start()
    try:
        yield load
    finally:
        load.stop.set()
        thread.join(30)


def recall_stream(world: TenantWorld, events: int, per_second: float, tickets: int = 40) -> None:
    """Write ``events`` events at about ``per_second``: ``tickets`` called tickets recalled over
    and over, one recall of each per save, so every ticket's events span many relay batches.
    The events are real, saved by the application with their metadata."""
    context = world.context
    called = called_tickets(world.tenant_id, world.queue_id, world.service_id, tickets)
    world.container.app.save_in_context(context, *called)
    written = 2 * tickets
    while written < events:
        began = time.monotonic()
        for ticket in called:
            ticket.recall(datetime.now(UTC))
        world.container.app.save_in_context(context, *called)
        written += tickets
        time.sleep(max(0.0, tickets / per_second - (time.monotonic() - began)))
