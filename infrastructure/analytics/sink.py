"""The analytics sink: every event of every ``smartqueue.*.v1`` topic into a DuckDB file,
exactly once.

A Kafka consumer that assigns itself every partition of the contract's topics (kafka-python's
manual assignment: no group membership, so no rebalance), looking again every few seconds for
topics and partitions added since. Each poll is one :class:`~infrastructure.analytics.rows.Batch`:
its rows and its partitions' next offsets commit in one DuckDB transaction
(:class:`~infrastructure.analytics.store.SinkStore`). The offsets in DuckDB are the ones that
count: each partition the sink takes is sought to the offset stored in the file, or to its
beginning if it was never read (a new sink copies the whole stream). Kafka's committed offsets
(``SMARTQUEUE_ANALYTICS_SINK_GROUP``) are only a mirror, committed after DuckDB's, for the usual
lag tools; a crash between the two commits, or a mirror refused, changes nothing.

Why no group: the sink keeps its offsets in DuckDB and DuckDB lets one process write a file, so
there is one reader per file and nothing for a group to share out. Group membership only cost
time: a restarted sink waited for a rebalance before it could read, and on the embedded broker
(Tansu 0.6, whose JoinGroup takes 3 s) kafka-python 3.0 threw away a join that completed between
two polls and sent another, a minute and more at times (docs/analytics-sink.md).

Rows are de-duplicated by event id: the relay is at least once, and a broker that lost its log
(the embedded one keeps it in memory) is fed the whole log again at new offsets; a stored offset
beyond a partition's end is reset to its beginning and the copies are left out.

Broker or DuckDB trouble: the consumer is closed and a new one made after a back-off (the loop
the display gateway and the notifier share), which seeks to the offsets in DuckDB again.
"""

from __future__ import annotations

import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import structlog

from infrastructure.analytics.rows import batch_of
from infrastructure.analytics.settings import AnalyticsSinkSettings
from infrastructure.analytics.status import PartitionStatus, SinkStatus, write_status
from infrastructure.analytics.store import SinkStore
from infrastructure.kafka.client import ensure_topics
from infrastructure.kafka.consumer_loop import consumer_options, run_consumer
from infrastructure.kafka.contract import TOPIC_MAJOR, TOPIC_PREFIX
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import KafkaSettings

log = structlog.get_logger(__name__)

TOPIC_PATTERN = rf"^{TOPIC_PREFIX}\.[a-z_]+\.v{TOPIC_MAJOR}$"
"""Every topic of the contract's major version: ``smartqueue.ticket.v1``, ..."""
POLL_MS = 500
METADATA_MAX_AGE_MS = 5000
PARTITIONS_SECONDS = 5.0
"""How often the sink looks for topics and partitions added since it took its own."""
MIRROR_TIMEOUT_MS = 5000
"""How long a batch waits for Kafka to take the mirror of its offsets."""
PROBE_SECONDS = 3.0
"""How long a status waits for the records that show the partitions' true ends."""


class PartitionsGone(Exception):
    """Partitions the sink holds are gone from the broker (a new broker, topics not made
    again yet): a new consumer makes them and takes every partition afresh."""


class AnalyticsSink:
    """Consumes, stores with its offsets, reports its lag; see the module docstring."""

    def __init__(
        self,
        kafka: KafkaSettings,
        settings: AnalyticsSinkSettings,
        database: Path,
        *,
        backoff_seconds: float = 0.5,
    ) -> None:
        self.kafka = kafka
        self.settings = settings
        self.database = database
        self.backoff_seconds = backoff_seconds
        self.store: SinkStore | None = None
        self.stored: dict[tuple[str, int], int] = {}  # next offsets, as committed in DuckDB
        self.assigned: set[Any] = set()  # the partitions this consumer holds (assigned itself)
        self.next_look = 0.0  # when to look for new topics and partitions (monotonic)
        self.mirroring = True  # the last mirror of the offsets to Kafka was taken
        self.unchecked = False  # partitions were assigned whose ends were not compared yet
        self.seeks = 0  # partitions sought to DuckDB's offsets (or their beginning)
        self.written = 0  # rows this process stored
        self.duplicates = 0  # copies of stored events this process left out
        self.last_status = 0.0
        self.status: SinkStatus | None = None
        self.probe: Any = None  # a second consumer, to read partitions' true ends

    def run(self, stop: threading.Event) -> None:
        """Consume until ``stop``; see the module docstring for what trouble does."""
        try:
            run_consumer(
                stop,
                self._consumer,
                self.consume,
                name="analytics-sink",
                backoff_seconds=self.backoff_seconds,
                reconnect_on=(duckdb.Error, PartitionsGone),
            )
        finally:
            self._close_store()
            self._close_probe()

    def _consumer(self) -> Any:
        from kafka import KafkaConsumer

        self._close_store()  # after trouble, read the offsets again from what DuckDB committed
        self._close_probe()
        self.store = SinkStore(self.database)
        self.stored = self.store.offsets()
        self.assigned = set()
        self.next_look = 0.0  # the first consume takes every partition
        ensure_topics(self.kafka)
        # The group id names where the offsets are mirrored; the consumer never joins it.
        options = consumer_options(self.kafka, self.settings.group, "smartqueue-analytics-sink")
        # Only a position past a partition's end (a broker that lost its log) falls back to this.
        options["auto_offset_reset"] = "earliest"
        options["metadata_max_age_ms"] = METADATA_MAX_AGE_MS
        return KafkaConsumer(**options)

    def take_partitions(self, consumer: Any) -> None:
        """Hold every partition of the contract's topics: the ones new to this consumer are
        assigned and sought to the offsets DuckDB holds. Raises :class:`PartitionsGone` when
        partitions held are no longer on the broker."""
        from kafka.structs import TopicPartition

        matching = sorted(topic for topic in consumer.topics() if re.match(TOPIC_PATTERN, topic))
        present = {
            TopicPartition(topic, partition)
            for topic in matching
            for partition in consumer.partitions_for_topic(topic) or ()
        }
        gone = self.assigned - present
        if gone:
            raise PartitionsGone(
                "the broker no longer has "
                + ", ".join(sorted(f"{tp.topic}[{tp.partition}]" for tp in gone))
            )
        new = present - self.assigned
        if new:
            # The whole assignment each time; kafka-python keeps the positions of those held.
            consumer.assign(sorted(present))
            self.on_assigned(consumer, new)

    def on_assigned(self, consumer: Any, partitions: set[Any]) -> None:
        """Seek each new partition to the offset DuckDB holds (its beginning if none)."""
        new = []
        for partition in partitions:
            offset = self.stored.get((partition.topic, partition.partition))
            if offset is None:
                new.append(partition)
            else:
                consumer.seek(partition, offset)
        if new:
            consumer.seek_to_beginning(*new)
        self.assigned |= set(partitions)
        self.seeks += len(partitions)
        self.unchecked = True
        log.info(
            "analytics sink partitions assigned",
            partitions=sorted(
                f"{tp.topic}[{tp.partition}]@{self.stored.get((tp.topic, tp.partition), 0)}"
                for tp in partitions
            ),
        )

    def consume(self, consumer: Any) -> int:
        """One poll stored with its offsets, in one transaction; the rows new to the file."""
        now = time.monotonic()
        if now >= self.next_look:
            self.next_look = now + PARTITIONS_SECONDS
            self.take_partitions(consumer)
        if self.unchecked and self.assigned:  # new partitions: did the broker lose its log?
            self.unchecked = False
            self._check_log(consumer, *self._ends(consumer, list(self.assigned)))
        polled = consumer.poll(timeout_ms=POLL_MS, max_records=self.settings.batch_size)
        stored = 0
        if polled:
            batch = batch_of(polled)
            try:
                stored = self._store().write(batch)
            except duckdb.Error:
                self._close_store()
                raise
            self.stored.update(batch.offsets)
            self.written += stored
            self.duplicates += batch.records - len(batch.rejected) - stored
            for rejected in batch.rejected:
                log.error(
                    "analytics sink kept a record that is not an envelope in sink_rejected",
                    record=f"{rejected.topic}[{rejected.kafka_partition}]@{rejected.kafka_offset}",
                    error=rejected.error,
                )
            self._mirror(consumer, batch.offsets)
        self._report(consumer)
        return stored

    def _mirror(self, consumer: Any, offsets: dict[tuple[str, int], int]) -> None:
        """Commit the offsets DuckDB holds to Kafka too, under the group id, for lag tools; best
        effort (the next batch commits again). The consumer is in no group: the commit carries
        no generation, which a broker takes while the group has no members."""
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata, TopicPartition

        try:
            consumer.commit(
                {
                    TopicPartition(topic, partition): OffsetAndMetadata(offset, "", -1)
                    for (topic, partition), offset in offsets.items()
                },
                timeout_ms=MIRROR_TIMEOUT_MS,
            )
        except KafkaError as error:
            if self.mirroring:
                log.warning(
                    "analytics sink could not mirror its offsets to Kafka: lag tools will not see"
                    " them (a group with members, left by an earlier sink or another consumer,"
                    " refuses them); the offsets in DuckDB are unaffected",
                    group=self.settings.group,
                    error=repr(error),
                )
            self.mirroring = False
        else:
            if not self.mirroring:
                log.info("analytics sink mirrors its offsets to Kafka again")
            self.mirroring = True

    def _report(self, consumer: Any) -> None:
        """Every few seconds: log and write how far behind the stream the file is."""
        now = time.monotonic()
        if now - self.last_status < self.settings.status_seconds:
            return
        self.last_status = now
        status = self.look(consumer)
        write_status(self.database, status)
        self.status = status
        log.info(
            "analytics sink progress",
            events=status.events,
            behind_records=status.behind,
            behind_seconds=status.seconds_behind,
            written=self.written,
            duplicates=self.duplicates,
            rejected=status.rejected,
            partitions=len(status.partitions),
        )

    def look(self, consumer: Any) -> SinkStatus:
        """The sink's progress now: per partition held, the stored offset and the end."""
        store = self._store()
        assigned = sorted(self.assigned, key=lambda tp: (tp.topic, tp.partition))
        ends, certain = self._ends(consumer, assigned) if assigned else ({}, set())
        self._check_log(consumer, ends, certain)
        events, rejected, newest = store.totals()
        partitions = [
            PartitionStatus(
                tp.topic,
                tp.partition,
                self.stored.get((tp.topic, tp.partition)),
                int(ends.get(tp, 0)),
            )
            for tp in assigned
        ]
        return SinkStatus(
            at=datetime.now(UTC),
            group=self.settings.group,
            events=events,
            rejected=rejected,
            written=self.written,
            duplicates=self.duplicates,
            newest_event_at=newest,
            partitions=partitions,
        )

    def _ends(self, consumer: Any, partitions: list[Any]) -> tuple[dict[Any, int], set[Any]]:
        """The offset each partition's next record will get, and the partitions whose end is
        certain. The embedded broker (Tansu 0.6) reports its last *batch's* first offset + 1: a
        second consumer (the probe) reads on from there to the last record (on Kafka that read
        finds the one record before the end); an end it could not read in time is a lower
        bound only."""
        from kafka import KafkaConsumer

        try:
            reported = consumer.end_offsets(partitions)
        except KeyError as error:  # kafka-python's answer for a partition the broker lost
            raise PartitionsGone(f"the broker no longer knows {error}") from error
        ends = {tp: int(end) for tp, end in reported.items()}
        certain = {tp for tp, end in ends.items() if end == 0}
        pending = set(ends) - certain
        if not pending:
            return ends, certain
        if self.probe is None:
            self.probe = KafkaConsumer(
                bootstrap_servers=self.kafka.bootstrap_servers,
                client_id="smartqueue-analytics-sink-lag",
                enable_auto_commit=False,
                fetch_max_wait_ms=20,
                max_poll_records=100_000,
            )
        self.probe.assign(sorted(pending))
        for tp in pending:
            self.probe.seek(tp, ends[tp] - 1)
        deadline = time.monotonic() + PROBE_SECONDS
        while pending and time.monotonic() < deadline:
            for tp, records in self.probe.poll(timeout_ms=200).items():
                ends[tp] = max(ends[tp], records[-1].offset + 1)
                pending.discard(tp)
                certain.add(tp)
        return ends, certain

    def _check_log(self, consumer: Any, ends: dict[Any, int], certain: set[Any]) -> bool:
        """A stored offset past its partition's end means the broker's log was replaced (the
        embedded broker keeps it in memory, and is fed the whole log again): forget the
        offsets of every partition held, in DuckDB too, and read them all again from their
        beginning; the copies are left out by event id. True if so."""
        past = sorted(
            f"{tp.topic}[{tp.partition}]"
            for tp in certain
            if self.stored.get((tp.topic, tp.partition), 0) > ends[tp]
        )
        if not past:
            return False
        held = sorted(self.assigned, key=lambda tp: (tp.topic, tp.partition))
        log.warning(
            "the broker lost records the sink had read: reading every partition again"
            " from its beginning (copies are left out)",
            past_their_end=past,
        )
        keys = [(tp.topic, tp.partition) for tp in held]
        self._store().forget(keys)
        for key in keys:
            self.stored.pop(key, None)
        consumer.seek_to_beginning(*held)
        return True

    def _close_probe(self) -> None:
        if self.probe is not None:
            try:
                self.probe.close(autocommit=False)
            except Exception as error:  # a broken consumer may fail to close; drop it
                log.debug("analytics sink lag probe close failed", error=repr(error))
            self.probe = None

    def _store(self) -> SinkStore:
        if self.store is None:
            raise RuntimeError("the analytics sink's store is opened with its consumer")
        return self.store

    def _close_store(self) -> None:
        if self.store is not None:
            try:
                self.store.close()
            except duckdb.Error as error:  # a broken connection may fail to close; drop it
                log.debug("analytics sink store close failed", error=repr(error))
            self.store = None


def start_sink(
    kafka: KafkaSettings,
    settings: AnalyticsSinkSettings,
    database: Path,
    supervisor: Supervisor,
) -> AnalyticsSink:
    """Run a sink in a supervised thread until the supervisor's stop is set."""
    sink = AnalyticsSink(kafka, settings, database)
    supervisor.add("analytics-sink", sink.run)
    return sink
