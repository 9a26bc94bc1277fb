"""Relay throughput, and the latency from a command's return to a Kafka consumer.

*Throughput* reuses ``bench/relay.py``: a backlog of real events, published from position 0 by
the relay's own batch loop, once per run.

*Latency*: ``smartqueue relay`` runs as a process of its own; this process issues ticket
commands through the application layer at a steady rate (``bench.fanout_load``), and a
kafka-python consumer in a consumer group (the fast-join settings of ``FAST_GROUP``, a small
``fetch_max_wait_ms``) notes when each ``smartqueue.ticket.v1`` message arrives; a command is
matched to its event by ticket id and event type. The baseline: the same producer settings as the
relay, sending straight to a topic at the same rate (each message flushed, as the relay flushes
each batch), read by the same kind of consumer.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

from application.app import SmartQueue
from bench.environment import warn
from bench.fanout_load import EVENT_OF_STATUS, Command, Lane, Run, latencies
from bench.fanout_stack import AgentSeat, BenchSite, Services, open_site, running_role, services
from bench.harness import BenchmarkError
from bench.lag import drive_load
from bench.relay import relay_to, time_backlog, write_backlog
from infrastructure.container import Container
from infrastructure.kafka.client import FAST_GROUP
from infrastructure.kafka.relay import producer_options, relay_lag, reset_relay
from infrastructure.postgres.sql import sqlalchemy_engine

FETCH_MAX_WAIT_MS = 5
JOIN_TIMEOUT_SECONDS = 60.0
DRAIN_TIMEOUT_SECONDS = 30.0
BASELINE_TOPIC = "bench.fanout.baseline"
STATUS_OF_EVENT = {event: status for status, event in EVENT_OF_STATUS.items()}


# -- throughput ----------------------------------------------------------------------------------


def measure_throughput(
    server_url: str, workdir: Path, events: int, batch_size: int, runs: int
) -> list[tuple[int, float]]:
    """(events published, seconds) of each run publishing the whole backlog."""
    with contextlib.ExitStack() as stack:
        stack_services = stack.enter_context(services(server_url, workdir))
        container = stack_services.container()
        stack.callback(container.close)
        warn(f"relay throughput: writing {events:,} events ...")
        write_backlog(container, events)
        relay = relay_to(container, stack_services.bootstrap_servers, batch_size)
        engine = sqlalchemy_engine(stack_services.database.url, pool_size=1)
        stack.callback(engine.dispose)
        results = []
        for run in range(runs):
            reset_relay(engine)  # publish the whole log again
            with engine.connect() as connection:
                published, elapsed = time_backlog(relay, connection)
            results.append((published, elapsed))
            warn(f"  run {run + 1}: {published / elapsed:,.0f} events/s")
        return results


# -- a consumer that notes arrivals --------------------------------------------------------------


class KafkaArrivals:
    """A kafka-python consumer in a group of its own, polled in a thread: when each message
    arrived (``time.monotonic()``), by ``key_of(record)``. Reads only what is published after it
    has its partitions (``auto_offset_reset="latest"``, positions fixed before ``ready``)."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        key_of: Callable[[Any], Hashable | None],
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topics = list(topics)
        self.key_of = key_of
        self.arrivals: dict[Hashable, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="kafka-arrivals", daemon=True)

    def __enter__(self) -> KafkaArrivals:
        self.thread.start()
        deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
        while not self.ready.wait(0.1):
            if self.error is not None or time.monotonic() > deadline:
                self.__exit__()
                raise BenchmarkError(f"the consumer did not join its group: {self.error!r}")
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(10)

    def _run(self) -> None:
        from kafka import KafkaConsumer

        try:
            consumer = KafkaConsumer(
                *self.topics,
                bootstrap_servers=self.bootstrap_servers,
                group_id=f"bench-fanout-{uuid.uuid4().hex[:8]}",
                auto_offset_reset="latest",
                enable_auto_commit=False,
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                **FAST_GROUP,
            )
        except BaseException as error:
            self.error = error
            return
        try:
            while not self.stop.is_set():
                batches = consumer.poll(timeout_ms=100)
                arrived = time.monotonic()
                if not self.ready.is_set() and consumer.assignment():
                    for partition in consumer.assignment():
                        consumer.position(partition)  # resolve "latest" now, not later
                    self.ready.set()
                for records in batches.values():
                    for record in records:
                        key = self.key_of(record)
                        if key is not None:
                            self.arrivals.setdefault(key, arrived)
        except BaseException as error:
            self.error = error
        finally:
            consumer.close()

    def wait_for(self, keys: Sequence[Hashable], timeout: float = DRAIN_TIMEOUT_SECONDS) -> None:
        """Until every key arrived, or ``timeout`` (then the missing ones count as missed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(key not in self.arrivals for key in keys):
            if self.error is not None:
                raise BenchmarkError(f"the consumer failed: {self.error!r}")
            time.sleep(0.05)


def relay_key(record: Any) -> tuple[str, str] | None:
    """(ticket id, status it left) of a ``smartqueue.ticket.v1`` message."""
    headers = {name: value.decode() for name, value in record.headers or ()}
    status = STATUS_OF_EVENT.get(headers.get("event_type", ""))
    if status is None or record.key is None:
        return None
    return record.key.decode(), status


# -- commit to consumer --------------------------------------------------------------------------


@dataclass
class AppCommands:
    """A lane's commands through the application layer: a kiosk issues, the agent calls."""

    app: Container
    site: BenchSite
    seat: AgentSeat

    def issue(self, queue_id: str) -> str:
        context = self.site.kiosk_context()
        return str(self.app.tickets.issue_ticket(context, UUID(queue_id), channel="kiosk").id)

    def call(self, queue_id: str) -> str | None:
        context = self.site.agent_context(self.seat)
        called = self.app.staffing.call_next(context, self.seat.agent_id, UUID(queue_id))
        return None if called is None else str(called.id)

    def start(self, ticket_id: str) -> None:
        self.app.tickets.start_ticket(self.site.agent_context(self.seat), UUID(ticket_id))

    def close(self, ticket_id: str) -> None:
        self.app.tickets.close_ticket(self.site.agent_context(self.seat), UUID(ticket_id))


def run_lanes(lanes: Sequence[Lane], rate: float, seconds: float) -> tuple[list[Command], Run]:
    """One run of the load: the commands that returned, achieved rate and failures."""
    for lane in lanes:
        lane.log = []
    began = time.monotonic()
    done, failed = drive_load(lanes, rate, seconds)  # type: ignore[arg-type]
    achieved = done / (time.monotonic() - began)
    commands = [command for lane in lanes for command in lane.log]
    return commands, Run([], 0, achieved, failed)


def wait_relay_idle(stack_services: Services, app: SmartQueue) -> None:
    """Until the relay has published the whole log (the set-up's events)."""
    engine = sqlalchemy_engine(stack_services.database.url, pool_size=1)
    try:
        deadline = time.monotonic() + JOIN_TIMEOUT_SECONDS
        while relay_lag(engine, app.recorder).behind:
            if time.monotonic() > deadline:
                raise BenchmarkError("the relay did not publish the set-up's events in time")
            time.sleep(0.1)
    finally:
        engine.dispose()


def measure_consumer_latency(
    server_url: str, workdir: Path, rate: float, seconds: float, runs: int
) -> tuple[list[Run], list[Run]]:
    """Commit-to-consumer latency of ``runs`` runs (a relay process, this process's consumer),
    each followed by a run of the raw baseline on the same broker."""
    from kafka import KafkaProducer

    with contextlib.ExitStack() as stack:
        stack_services = stack.enter_context(services(server_url, workdir))
        bootstrap = stack_services.bootstrap_servers
        container = stack_services.container()
        stack.callback(container.close)
        site = open_site(container, queues=2)
        relay = stack.enter_context(running_role(stack_services, "relay", ["relay"], workdir))
        wait_relay_idle(stack_services, container.app)
        relay.check_alive()
        _create_topic(bootstrap, BASELINE_TOPIC)
        consumer = stack.enter_context(
            KafkaArrivals(bootstrap, ["smartqueue.ticket.v1"], relay_key)
        )
        raw_consumer = stack.enter_context(
            KafkaArrivals(bootstrap, [BASELINE_TOPIC], lambda record: (record.key.decode(), "sent"))
        )
        options = {**producer_options(container.settings.kafka), "bootstrap_servers": bootstrap}
        producer = KafkaProducer(**{**options, "client_id": "bench-fanout-baseline"})
        stack.callback(lambda: producer.close(timeout=2))
        lanes = [
            Lane(AppCommands(container, site, seat), str(seat.queue_id)) for seat in site.agents
        ]
        results, baselines = [], []
        for run in range(-1, runs):  # run -1 warms everything up and is not reported
            duration = 2.0 if run < 0 else seconds
            commands, load = run_lanes(lanes, rate, duration)
            consumer.wait_for([(c.ticket_id, c.status) for c in commands])
            relay.check_alive()
            sent = _produce_steadily(producer, run, rate, duration)
            raw_consumer.wait_for([(command.ticket_id, "sent") for command in sent])
            if run < 0:
                continue
            measured = latencies(commands, consumer.arrivals)
            results.append(
                Run(measured.latencies, measured.missed, load.achieved_rate, load.failed)
            )
            baselines.append(latencies(sent, raw_consumer.arrivals))
            warn(
                f"  run {run + 1}: commit to consumer p50 {measured.p50:.1f} ms, "
                f"p99 {measured.p99:.1f} ms; raw Kafka p50 {baselines[-1].p50:.1f} ms"
            )
        return results, baselines


def _create_topic(bootstrap_servers: str, topic: str) -> None:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="bench-fanout-admin")
    try:
        admin.create_topics(
            {topic: {"num_partitions": 3, "replication_factor": 1}}, raise_errors=False
        )
    finally:
        admin.close()


def _produce_steadily(producer: Any, run: int, rate: float, seconds: float) -> list[Command]:
    """Messages at ``rate`` for ``seconds``, each timed from its ``send()`` and flushed at once,
    as the relay flushes each batch (without the flush each message would wait ``linger_ms``)."""
    sent = []
    start = time.monotonic() + 0.05
    payload = b'{"padding": "' + b"x" * 400 + b'"}'  # an envelope's size
    for number in range(int(rate * seconds)):
        delay = start + number / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        key = f"{run}-{number}"
        sent_at = time.monotonic()
        producer.send(BASELINE_TOPIC, key=key.encode(), value=payload)
        producer.flush(timeout=30)
        sent.append(Command(key, "sent", "", sent_at))
    return sent
