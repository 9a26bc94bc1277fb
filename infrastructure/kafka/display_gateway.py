"""The display gateway: events from Kafka, changes onto Redis channels for the API's sockets.

A Kafka consumer group (``SMARTQUEUE_GATEWAY_GROUP``) over the ticket, queue and agent topics:
run as many ``smartqueue gateway`` processes as wanted, the group shares the partitions. For each
polled batch the gateway waits until the read models have applied its last event, reads what the
events changed (:meth:`application.live.LiveViews.changes`) and publishes it with Redis
``PUBLISH`` on the channels the channels plugin of every API process subscribes to; then it
commits the batch's offsets. A crash re-publishes at most a batch (clients keep, per item, the
data with the highest ``as_of``, so a repeat changes nothing).

A new group (no committed offset on a partition) starts at the offsets of the gateway's own start
time, a few seconds early for clock skew: joining the group takes seconds, and what was published
meanwhile must reach the displays; what came before, displays get from their snapshot.

A malformed record (an envelope that does not decode, or an event whose changes cannot be read)
is logged at error, counted in Redis (``smartqueue gateway status``) and skipped; its offset is
committed with the batch.
"""

from __future__ import annotations

import contextlib
import threading
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import redis
import structlog
from eventsourcing.persistence import PersistenceError
from sqlalchemy.exc import SQLAlchemyError

from application.consistency import ReadModelBehind
from application.live import (
    HEARTBEAT_SECONDS,
    READ_MODELS,
    BatchReads,
    Heartbeat,
    LiveEvent,
    LiveViews,
)
from domain.errors import DomainError, InvalidInput
from infrastructure.kafka.client import ensure_topics
from infrastructure.kafka.consumer_loop import (
    MAX_RECORDS,
    consumer_options,
    pin,
    poll,
    run_consumer,
)
from infrastructure.kafka.gateway_start import NewGroupStart, process_started_at
from infrastructure.kafka.gateway_status import TOPICS, heartbeat_key, skipped_key
from infrastructure.redis.channels import channel_of, heartbeat_channel
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import KafkaSettings

log = structlog.get_logger(__name__)

TRANSIENT = (redis.RedisError, SQLAlchemyError, PersistenceError)  # retried, never skipped
# A batch whose oldest event happened this long before it reached Redis is logged: displays
# promise a call within 2 s.
LATE_SECONDS = 1.0


class Envelope(msgspec.Struct):
    """The part of a published envelope the gateway reads."""

    event_type: str
    tenant_id: UUID | None
    aggregate_id: UUID
    log_position: int
    data: dict[str, Any]


class DisplayGateway:
    """Consumes, reads, publishes, commits; see the module docstring."""

    def __init__(
        self,
        views: LiveViews,
        client: redis.Redis,
        settings: KafkaSettings,
        group: str,
        *,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.views = views
        self.redis = client
        self.settings = settings
        self.group = group
        self.backoff_seconds = backoff_seconds
        self.published = 0
        self.pinned: set[Any] = set()
        self.position = 0  # the highest log position handled
        self.last_beat = 0.0
        self.start = NewGroupStart(process_started_at())  # where partitions without offsets start
        self.skipped = 0  # malformed records skipped by this gateway
        self.read_model_wait = 0.0  # how long the last batch waited for the read models

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``. Redis or database trouble: the consumer keeps its partitions
        (no rebalance), reads the failed batch again and backs off. Kafka trouble: a new
        consumer after the back-off. Nothing unpublished is ever committed."""

        def step(consumer: Any) -> None:
            self.consume(consumer)
            self.beat()

        run_consumer(
            stop,
            self._consumer,
            step,
            name="display-gateway",
            backoff_seconds=self.backoff_seconds,
            retry_on=TRANSIENT,
        )

    def beat(self, every: float = HEARTBEAT_SECONDS) -> None:
        """Every few seconds: tell the sockets (and the API's readiness) changes flow. Only a
        gateway that holds partitions beats: one left without any (a group that did not
        rebalance) must not pass for a working one."""
        now = time.monotonic()
        if now - self.last_beat < every or not self.pinned:
            return
        beat = Heartbeat(at=datetime.now(UTC), position=self.position)
        encoded = msgspec.json.encode(beat)
        pipeline = self.redis.pipeline(transaction=False)
        pipeline.set(heartbeat_key(self.group), encoded, ex=int(every * 3))
        pipeline.publish(heartbeat_channel(self.group), encoded)
        pipeline.execute()
        self.last_beat = now

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        # Topics a gateway subscribes to before the relay made them would be noticed only at the
        # consumer's next metadata refresh (minutes): make them first (same partitions).
        self.pinned = set()
        ensure_topics(self.settings)
        options = consumer_options(self.settings, self.group, "smartqueue-gateway")
        consumer = KafkaConsumer(**options)
        consumer.subscribe(list(TOPICS))
        return consumer

    def consume(self, consumer: Any) -> int:
        """One poll: publish its events' changes, then commit. The number of events."""
        batch = poll(consumer, self.start, max_records=MAX_RECORDS)
        if batch is None:
            return 0
        events = []
        oldest = None  # the time of the oldest record published (a new group's old news is not)
        for partition, records in batch.items():
            for record in self.start.recent(partition, records):
                oldest = record.timestamp if oldest is None else min(oldest, record.timestamp)
                try:
                    events.append(msgspec.json.decode(record.value, type=Envelope))
                except (msgspec.DecodeError, TypeError) as error:
                    where = f"{record.topic}[{record.partition}]@{record.offset}"
                    self.skip(f"{where}: {type(error).__name__}: {error}")
        if events:
            published = False
            try:
                published = self.publish(events)
            finally:
                if not published:  # read the batch again next time (or never commit it)
                    self._rewind(consumer, batch)
            if published:
                consumer.commit()
                self._tell_if_late(oldest)
        elif batch:
            consumer.commit()  # nothing but malformed records: skipped for good
        assigned = consumer.assignment()
        if assigned != self.pinned:
            self._pin(consumer, assigned)
        return len(events)

    def _tell_if_late(self, oldest: int | None) -> None:
        """Warn when the oldest event of a published batch reached Redis later than displays
        promise to show it (:data:`LATE_SECONDS`): a record's time (ms) is its event's."""
        late = 0.0 if oldest is None else time.time() - oldest / 1000
        if late >= LATE_SECONDS:
            log.warning(
                "changes reached the sockets late",
                seconds=round(late, 2),
                read_model_wait_seconds=round(self.read_model_wait, 2),
            )

    @staticmethod
    def _rewind(consumer: Any, batch: dict[Any, list[Any]]) -> None:
        """Seek back to the first record of each partition of ``batch``."""
        from kafka.errors import KafkaError

        for partition, records in batch.items():
            # A partition handed over meanwhile resumes at the committed offset with its new owner.
            with contextlib.suppress(KafkaError):
                consumer.seek(partition, records[0].offset)

    def skip(self, why: str) -> None:
        """Log, count and leave out one malformed record (its offset is committed)."""
        log.error("display gateway skipped a malformed record", record=why)
        self.skipped += 1
        pipeline = self.redis.pipeline(transaction=False)
        pipeline.incr(skipped_key(self.group))
        pipeline.set(skipped_key(self.group) + ":last", f"{datetime.now(UTC).isoformat()} {why}")
        pipeline.execute()

    def _pin(self, consumer: Any, assigned: set[Any]) -> None:
        """Commit a position for every newly assigned partition, even one nothing was read
        from: the group starts at the topics' ends only once, and a partition that changes
        hands (a gateway died) resumes where it was, not at its end."""
        offsets = pin(consumer, assigned)
        positions = (f"{tp.topic}[{tp.partition}]@{at.offset}" for tp, at in offsets.items())
        log.info("gateway partitions assigned", partitions=sorted(positions))
        self.pinned = set(assigned)

    def publish(self, events: list[Envelope]) -> bool:
        """Publish each event's changes, once the read models have applied them all; False if
        they have not within their wait (nothing was published: the batch is read again)."""
        latest = max(event.log_position for event in events)
        waiting = time.perf_counter()
        try:
            as_of = self.views.consistency.await_position(READ_MODELS, latest)
            self.read_model_wait = time.perf_counter() - waiting
        except ReadModelBehind:
            # Not waiting here any longer: the consumer must poll again within the group's
            # max_poll_interval_ms or be put out of it, and read the whole batch again.
            log.warning("read models behind the gateway; reading the batch again", position=latest)
            return False
        except InvalidInput:
            # Beyond the end of this database's log: the topics carry another log's events
            # (a restored database, or a broker shared by mistake). Read what there is; such
            # events name nothing this database knows and publish nothing.
            log.warning("events beyond the end of the log", position=latest)
            as_of = self.views.consistency.await_position(READ_MODELS, None)
        started = time.perf_counter()
        pipeline = self.redis.pipeline(transaction=False)
        reads = BatchReads(self.views)
        for envelope in events:
            event = LiveEvent(
                envelope.event_type,
                envelope.tenant_id,
                envelope.aggregate_id,
                envelope.log_position,
                envelope.data,
            )
            try:
                publications = self.views.changes(event, as_of=as_of, reads=reads)
            except DomainError as error:  # names something this database does not know
                log.warning("event skipped", event=event.event_type, error=str(error))
                continue
            except TRANSIENT:
                raise  # the batch is read again after a back-off
            except Exception as error:  # a malformed event: skipping it beats stopping the flow
                self.skip(
                    f"log position {event.log_position} ({event.event_type}): "
                    f"{type(error).__name__}: {error}"
                )
                continue
            for publication in publications:
                channel = channel_of(publication.audience)
                pipeline.publish(channel, msgspec.json.encode(publication.change))
        published = len(pipeline)
        pipeline.execute()
        self.position = max(self.position, latest)
        self.published += published
        log.debug(
            "gateway published",
            events=len(events),
            messages=published,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return True


def start_gateway(
    views: LiveViews,
    client: redis.Redis,
    settings: KafkaSettings,
    group: str,
    supervisor: Supervisor,
) -> DisplayGateway:
    """Run a gateway in a supervised thread until the supervisor's stop is set."""
    gateway = DisplayGateway(views, client, settings, group)
    supervisor.add("display-gateway", gateway.run)
    return gateway
