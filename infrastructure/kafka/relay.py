"""The Kafka relay: the notification log, in order, to Kafka, without loss.

A batch is: read the relay's position (``projection_tracking``, row ``kafka_relay``), read the
next notifications after it, send each as an :mod:`~infrastructure.kafka.contract` envelope
(idempotent producer, ``acks=all``, key = aggregate id), wait until the broker acknowledged all
of them, then move the position. A crash before the position moves re-sends that batch: at least
once, never a skip; consumers de-duplicate by event id. The batch is not one database
transaction: waiting for a broker that is down must not hold a transaction open. Only the active
relay (advisory lock, :class:`~infrastructure.postgres.single_active.SingleActive`) moves the
position, and it moves it from the value it read, so a relay that lost its lock cannot write
over another.

Broker outages: the batch fails, the producer is dropped, and the relay tries again with
exponential backoff; the log keeps growing meanwhile (the API never talks to Kafka) and the relay
drains it when the broker is back.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine, select, update

from infrastructure.kafka.client import ensure_topics, quiet_kafka_python
from infrastructure.kafka.contract import envelope_of
from infrastructure.postgres.doorbell import Doorbell, start_doorbell
from infrastructure.postgres.single_active import SingleActive
from infrastructure.postgres.tables import projection_tracking
from infrastructure.postgres.tracking import tracked_position
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import KafkaSettings

RELAY_NAME = "kafka_relay"
POLL_SECONDS = 0.1
CHECK_IN_SECONDS = 5.0  # an idle relay touches its tracking row this often: "alive"
MAX_BACKOFF_SECONDS = 5.0
log = structlog.get_logger(__name__)


# A batch whose first event happened this long before the broker had it is logged.
LATE_SECONDS = 1.0


class PositionMoved(RuntimeError):
    """Another relay moved the position: this one lost its lock and must stand by."""


def producer_options(settings: KafkaSettings) -> dict[str, Any]:
    """The producer's settings. ``enable_idempotence`` is explicit: kafka-python turns it off
    with only a warning when other settings conflict."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "client_id": "smartqueue-relay",
        "enable_idempotence": True,
        "acks": "all",
        "linger_ms": 5,
        "max_in_flight_requests_per_connection": 5,
        "request_timeout_ms": 10_000,
        "delivery_timeout_ms": 30_000,
        "max_block_ms": 10_000,
    }


class KafkaRelay:
    """Publishes the log to Kafka batch by batch; see the module docstring."""

    def __init__(
        self,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        settings: KafkaSettings,
        *,
        name: str = RELAY_NAME,
        poll_interval: float = POLL_SECONDS,
        doorbell: Doorbell | None = None,
    ) -> None:
        self.recorder = recorder
        self.doorbell = doorbell
        self.position = 0
        self.mapper = mapper
        self.settings = settings
        self.name = name
        self.poll_interval = poll_interval
        self.producer: Any = None
        self.topics_ready = False

    def _producer(self) -> Any:
        from kafka import KafkaProducer

        if self.producer is None:
            self.producer = KafkaProducer(**producer_options(self.settings))
        if not self.topics_ready:
            ensure_topics(self.settings)
            self.topics_ready = True
        return self.producer

    def drop_producer(self) -> None:
        """Forget the producer (after a failure, or on exit): the next batch makes a new one
        and checks the topics again (a broker that comes back may have lost them)."""
        producer, self.producer = self.producer, None
        self.topics_ready = False
        if producer is not None:
            try:
                producer.close(timeout=1)
            except Exception as error:  # closing a broken producer may fail too; it is gone
                log.debug("relay producer close failed", error=str(error))

    def publish_batch(self, connection: Connection) -> int:
        """Publish the notifications after the position and move it; the number read."""
        with connection.begin():
            position = tracked_position(connection, self.name, lock=True)
        self.position = position
        notifications = self.recorder.select_notifications(
            start=position, limit=self.settings.relay_batch_size, inclusive_of_start=False
        )
        if not notifications:
            return 0
        producer = self._producer()
        sent = []
        oldest: datetime | None = None
        for notification in notifications:
            event = self.mapper.to_domain_event(notification)
            event_type, envelope = envelope_of(event, notification.id)
            oldest = oldest or envelope.occurred_at
            sent.append(
                producer.send(
                    event_type.topic,
                    key=str(envelope.aggregate_id).encode(),
                    value=msgspec.json.encode(envelope),
                    headers=headers_of(envelope),
                    # The record's time is the event's: a new consumer group that starts "now"
                    # finds its place by it, and skips a log published again (a fresh broker).
                    timestamp_ms=int(envelope.occurred_at.timestamp() * 1000),
                )
            )
        producer.flush(timeout=self.settings.ack_timeout_seconds)
        for future in sent:
            future.get(timeout=0)  # raises the broker's error if any message was refused
        last = notifications[-1].id
        with connection.begin():
            moved = connection.execute(
                update(projection_tracking)
                .where(
                    projection_tracking.c.projection_name == self.name,
                    projection_tracking.c.position == position,
                )
                .values(position=last, updated_at=datetime.now(UTC))
            ).rowcount
        if moved != 1:
            raise PositionMoved(f"{self.name} moved past {position} meanwhile")
        self.position = last
        late = (datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0
        if late >= LATE_SECONDS:  # the displays' 2 s is spent here already
            log.warning("events reached the broker late", seconds=round(late, 2), position=last)
        return len(notifications)

    def follow(self, connection: Connection, stop: threading.Event) -> None:
        """Publish until ``stop``; on a broker error back off (doubling, up to 5 s) and retry."""
        from kafka.errors import KafkaError

        backoff = self.settings.retry_backoff_seconds
        checked_in = 0.0  # at once: a relay that just took over is alive
        try:
            while not stop.is_set():
                try:
                    count = self.publish_batch(connection)
                    if count:
                        checked_in = time.monotonic()
                    elif time.monotonic() - checked_in >= CHECK_IN_SECONDS:
                        self.check_in(connection)
                        checked_in = time.monotonic()
                except PositionMoved as error:
                    log.warning("relay lost its position; standing by", error=str(error))
                    return
                except (KafkaError, OSError) as error:
                    log.warning(
                        "relay cannot publish; retrying", error=repr(error), retry_in=backoff
                    )
                    self.drop_producer()
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                    continue
                backoff = self.settings.retry_backoff_seconds
                if count < self.settings.relay_batch_size:
                    self._idle(stop)
        finally:
            self.drop_producer()

    def check_in(self, connection: Connection) -> None:
        """Touch the tracking row's ``updated_at`` (only while the position is this relay's): an
        idle relay shows it is alive (:mod:`infrastructure.roles.health`)."""
        with connection.begin():
            connection.execute(
                update(projection_tracking)
                .where(
                    projection_tracking.c.projection_name == self.name,
                    projection_tracking.c.position == self.position,
                )
                .values(updated_at=datetime.now(UTC))
            )

    def _idle(self, stop: threading.Event) -> None:
        """Wait for newer events: woken by the recorder's NOTIFY when there is a doorbell,
        polling every ``poll_interval`` all the same (a lost notification only delays)."""
        if self.doorbell is None:
            stop.wait(self.poll_interval)
        else:
            self.doorbell.wait(self.position, self.poll_interval)


HEADERS = ("event_id", "event_type", "schema_version", "tenant_id", "log_position")


def headers_of(envelope: Any) -> list[tuple[str, bytes]]:
    """The message headers: enough to route or de-duplicate without parsing the value (a
    platform event's ``tenant_id`` is empty)."""
    return [
        *((name, str(getattr(envelope, name) or "").encode()) for name in HEADERS),
        ("content_type", b"application/json"),
    ]


def relay_role(
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    settings: KafkaSettings,
    *,
    standby_interval: float = 1.0,
    doorbell: Doorbell | None = None,
) -> tuple[KafkaRelay, SingleActive]:
    """The relay and the lock that keeps it to one active process."""
    quiet_kafka_python()
    relay = KafkaRelay(recorder, mapper, settings, doorbell=doorbell)
    return relay, SingleActive(RELAY_NAME, engine, relay.follow, standby_interval=standby_interval)


def start_relay(
    engine: Engine,
    recorder: ApplicationRecorder,
    mapper: Mapper[Any],
    settings: KafkaSettings,
    supervisor: Supervisor,
) -> KafkaRelay:
    """Run the relay (or its standby) under ``supervisor`` until its stop is set, woken by the
    recorder's notifications (a supervised doorbell too)."""
    doorbell = start_doorbell(recorder, supervisor.stop, supervisor)
    relay, role = relay_role(engine, recorder, mapper, settings, doorbell=doorbell)
    supervisor.add("kafka-relay", role.run)
    return relay


@dataclass(frozen=True)
class RelayLag:
    """How far the relay trails the log (an upper bound: the log has gaps)."""

    position: int
    head: int
    updated_at: datetime | None

    @property
    def behind(self) -> int:
        return max(0, self.head - self.position)


def relay_lag(engine: Engine, recorder: ApplicationRecorder) -> RelayLag:
    """The relay's position against the log's head."""
    head = recorder.max_notification_id() or 0
    query = select(projection_tracking.c.position, projection_tracking.c.updated_at).where(
        projection_tracking.c.projection_name == RELAY_NAME
    )
    with engine.connect() as connection:
        row = connection.execute(query).first()
    if row is None:
        return RelayLag(0, head, None)
    return RelayLag(int(row.position), head, row.updated_at)


def reset_relay(engine: Engine) -> None:
    """Publish the whole log again from the start (a fresh, empty embedded broker)."""
    with engine.begin() as connection:
        connection.execute(
            update(projection_tracking)
            .where(projection_tracking.c.projection_name == RELAY_NAME)
            .values(position=0, updated_at=datetime.now(UTC))
        )
