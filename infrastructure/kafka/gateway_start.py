"""Where a consumer group (a display gateway's, the notifier's) starts on a partition it never
committed (a new group): at the process's own start time, less a margin for clock skew. Joining
a group takes seconds, and what happened meanwhile must reach the displays and the customers;
what came before, displays get from their snapshot.

The relay stamps each record with its event's time, so "the start time" means events that
happened after it, not records published after it: a log published again (the embedded broker
keeps nothing across restarts, and ``smartqueue dev`` publishes the whole log again) is old news.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

START_MARGIN_SECONDS = 5.0  # a new group starts this much before the process's start time
# A new group never reads more than this many records a partition before its end when the record
# that far back is already older than the start time (the log is in event-time order): the
# broker's own answer is not always that good (below), and reading a whole partition cost more
# than a minute on a log of 100,000 events.
START_WINDOW_RECORDS = 2000
PROBE_TIMEOUT_MS = 5000

TimestampAt = Callable[[Any, Any, int], "int | None"]


def process_started_at() -> float:
    """When this process started, as the OS recorded it (seconds since the epoch). Not the time
    the consumer was built: imports alone take seconds on a busy machine, and an event of those
    seconds is news to a group that starts now."""
    import psutil

    return psutil.Process().create_time()


def record_timestamp(consumer: Any, partition: Any, offset: int) -> int | None:
    """The timestamp of the record at ``offset`` of ``partition``, read by a short-lived
    consumer outside any group on ``consumer``'s brokers; None if none came in time."""
    from kafka import KafkaConsumer

    probe = KafkaConsumer(
        bootstrap_servers=consumer.config["bootstrap_servers"],
        client_id="smartqueue-start-probe",
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
    )
    try:
        probe.assign([partition])
        probe.seek(partition, offset)
        deadline = time.monotonic() + PROBE_TIMEOUT_MS / 1000
        while time.monotonic() < deadline:
            records = probe.poll(timeout_ms=200, max_records=1).get(partition)
            if records:
                return int(records[0].timestamp)
        return None
    finally:
        probe.close(autocommit=False)


class NewGroupStart:
    """Seeks partitions without a committed offset to the start time, and leaves out the
    records stamped before it that the seek could not skip."""

    def __init__(self, started_at: float, timestamp_at: TimestampAt = record_timestamp) -> None:
        self.started_at = started_at
        self.timestamp_at = timestamp_at
        self.older_than: dict[Any, int] = {}  # partitions sought: skip records before this

    def seek(self, consumer: Any, partitions: set[Any]) -> None:
        """Start ``partitions`` (without a committed offset: a new group) at the start time less
        the margin, and commit that.

        The broker's lookup by time gives the offset where it can. Where it says there is
        nothing that recent (Kafka: ``None``), the end as read *before* the lookup: anything
        published since has a later offset. Where it cannot tell (no lookup by time, or an
        answer of "offset 0, timestamp -1"), the beginning. The embedded broker (Tansu) looks
        up by the time a record was *appended*, so after a log published again it answers with
        the start of that burst: when the answer lies more than :data:`START_WINDOW_RECORDS`
        before the end and the record there is already older than the start time, the group
        starts there instead. Records before the start time are then left out by
        :meth:`recent`, until the first one after it."""
        from kafka.errors import KafkaError
        from kafka.structs import OffsetAndMetadata, OffsetAndTimestamp

        partitions = partitions or set(consumer.assignment())
        if not partitions:
            return
        since = int((self.started_at - START_MARGIN_SECONDS) * 1000)
        ends = consumer.end_offsets(list(partitions))
        try:
            found = consumer.offsets_for_times(dict.fromkeys(partitions, since))
        except KafkaError as error:
            log.warning("the broker cannot look offsets up by time", error=repr(error))
            found = dict.fromkeys(partitions, OffsetAndTimestamp(0, -1, -1))  # cannot tell
        unknown = {tp for tp in partitions if found.get(tp) is not None and found[tp].timestamp < 0}
        beginnings = consumer.beginning_offsets(sorted(unknown)) if unknown else {}
        offsets = {}
        for partition in partitions:
            at = found.get(partition)
            end = int(ends[partition])
            if at is None:
                offsets[partition] = end
                continue
            offset = int(beginnings[partition]) if partition in unknown else int(at.offset)
            offsets[partition] = self._nearer(consumer, partition, offset, end, since)
            self.older_than[partition] = since
        for partition, offset in offsets.items():
            consumer.seek(partition, offset)
        consumer.commit({tp: OffsetAndMetadata(at, "", -1) for tp, at in offsets.items()})
        log.info(
            "gateway group starts at its start time",
            since=since,
            partitions=sorted(f"{tp.topic}[{tp.partition}]@{at}" for tp, at in offsets.items()),
            filtered=sorted(f"{tp.topic}[{tp.partition}]" for tp in self.older_than),
        )

    def _nearer(self, consumer: Any, partition: Any, offset: int, end: int, since: int) -> int:
        """``offset``, or the start of the window before ``end`` when that is later and its
        record already older than ``since`` (everything before it then is too)."""
        window = end - START_WINDOW_RECORDS
        if offset >= window:
            return offset
        try:
            stamped = self.timestamp_at(consumer, partition, window)
        except Exception as error:  # the broker's answer stands; only slower to read
            log.warning("cannot read the record at a start window", error=repr(error))
            return offset
        return window if stamped is not None and stamped < since else offset

    def recent(self, partition: Any, records: list[Any]) -> list[Any]:
        """``records`` without those stamped before the start time of a partition just sought
        (see :meth:`seek`)."""
        since = self.older_than.get(partition)
        if since is None:
            return records
        recent = [record for record in records if record.timestamp >= since]
        if recent:
            del self.older_than[partition]  # from here on, every record counts
            return records[records.index(recent[0]) :]
        return []
