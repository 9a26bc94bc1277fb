"""Where a display gateway of a new consumer group starts on each partition: at its start time
(less a margin) by the broker's lookup by time; at the end read before the lookup where the
broker says nothing is that recent; a bounded window before the end (or the beginning, when
nearer), leaving out older records, where the broker cannot tell (no lookup by time, or Tansu's
"offset 0, timestamp -1")."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import UnsupportedVersionError
from kafka.structs import OffsetAndMetadata, OffsetAndTimestamp, TopicPartition

from infrastructure.kafka.gateway_start import (
    START_MARGIN_SECONDS,
    START_WINDOW_RECORDS,
    NewGroupStart,
)

FOUND, NOTHING, CANNOT_TELL = (TopicPartition("t", n) for n in range(3))
STARTED = 1_000_000.0
SINCE = int((STARTED - START_MARGIN_SECONDS) * 1000)


class FakeConsumer:
    """Answers lookups by time from a table; records seeks and commits."""

    def __init__(self, by_time: dict[Any, Any] | Exception, length: int = 30) -> None:
        self.by_time = by_time
        self.length = length  # records between each partition's beginning and its end
        self.asked_since: set[int] = set()
        self.seeks: dict[Any, int] = {}
        self.committed: dict[Any, OffsetAndMetadata] = {}

    def assignment(self) -> set[Any]:
        return {FOUND, NOTHING, CANNOT_TELL}

    def end_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        return {partition: 10 + self.length + partition.partition for partition in partitions}

    def beginning_offsets(self, partitions: list[Any]) -> dict[Any, int]:
        return {partition: 10 + partition.partition for partition in partitions}

    def offsets_for_times(self, timestamps: dict[Any, int]) -> dict[Any, Any]:
        self.asked_since |= set(timestamps.values())
        if isinstance(self.by_time, Exception):
            raise self.by_time
        return {partition: self.by_time.get(partition) for partition in timestamps}

    def seek(self, partition: Any, offset: int) -> None:
        self.seeks[partition] = offset

    def commit(self, offsets: dict[Any, OffsetAndMetadata]) -> None:
        self.committed.update(offsets)


def _gateway(stamps: dict[int, int] | None = None) -> NewGroupStart:
    """A start whose probe reads record timestamps from ``stamps`` (offset -> timestamp)."""
    return NewGroupStart(STARTED, lambda consumer, partition, offset: (stamps or {}).get(offset))


def _record(partition: TopicPartition, offset: int, timestamp: int) -> ConsumerRecord:
    return ConsumerRecord(
        partition.topic, partition.partition, None, offset, timestamp, 0, None, b"{}", [], None,
        -1, 2, -1,
    )  # fmt: skip


def test_a_new_group_starts_where_the_broker_s_answer_allows():
    consumer = FakeConsumer(
        {
            FOUND: OffsetAndTimestamp(7, SINCE + 10, 0),
            NOTHING: None,
            CANNOT_TELL: OffsetAndTimestamp(0, -1, 0),  # Tansu, whatever the partition holds
        }
    )
    gateway = _gateway()
    gateway.seek(consumer, {FOUND, NOTHING, CANNOT_TELL})
    assert consumer.asked_since == {SINCE}
    assert consumer.seeks == {FOUND: 7, NOTHING: 41, CANNOT_TELL: 12}
    assert {tp: at.offset for tp, at in consumer.committed.items()} == consumer.seeks
    assert gateway.older_than == {FOUND: SINCE, CANNOT_TELL: SINCE}  # NOTHING starts at its end


def test_a_partition_read_from_its_beginning_leaves_out_the_records_before_the_start_time():
    gateway = _gateway()
    gateway.seek(FakeConsumer(UnsupportedVersionError()), set())
    assert set(gateway.older_than) == {FOUND, NOTHING, CANNOT_TELL}
    old, new, later = (
        _record(FOUND, 10, SINCE - 1),
        _record(FOUND, 11, SINCE),
        _record(FOUND, 12, SINCE - 50),  # once past the start time, every record counts
    )
    assert gateway.recent(FOUND, [old]) == []
    assert gateway.recent(FOUND, [new, later]) == [new, later]
    assert gateway.recent(FOUND, [old]) == [old]


def test_a_start_far_before_the_end_moves_to_the_window_when_the_record_there_is_older():
    """Tansu answers by append time: after a log published again, the start of that burst."""
    end = 10 + 100_000
    window = end - START_WINDOW_RECORDS
    found = {FOUND: OffsetAndTimestamp(10, SINCE + 1, 0)}
    older = FakeConsumer(found, length=100_000)
    _gateway({window: SINCE - 60_000}).seek(older, {FOUND})
    assert older.seeks == {FOUND: window}
    assert older.committed[FOUND].offset == window
    newer = FakeConsumer(found, length=100_000)  # a real burst of recent events: keep them all
    _gateway({window: SINCE + 5}).seek(newer, {FOUND})
    assert newer.seeks == {FOUND: 10}
    unread = FakeConsumer(found, length=100_000)  # the probe saw nothing: the answer stands
    _gateway({}).seek(unread, {FOUND})
    assert unread.seeks == {FOUND: 10}


def test_a_long_partition_the_broker_cannot_tell_about_is_read_from_its_window():
    end = 10 + 100_000
    window = end - START_WINDOW_RECORDS
    consumer = FakeConsumer(UnsupportedVersionError(), length=100_000)
    gateway = _gateway({window: SINCE - 1})
    gateway.seek(consumer, {FOUND})
    assert consumer.seeks == {FOUND: window}
    first = _record(FOUND, window, SINCE - 1)
    assert gateway.recent(FOUND, [first]) == []  # still filtered by time within the window
    newer = _record(FOUND, window + 1, SINCE + 1)
    assert gateway.recent(FOUND, [newer]) == [newer]


def test_the_start_time_is_when_the_process_started_not_when_the_consumer_was_built() -> None:
    # A child that spends 1.5 s (as imports do on a busy machine) before it asks.
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import time; time.sleep(1.5); "
            "from infrastructure.kafka.gateway_start import process_started_at; "
            "print(time.time() - process_started_at())",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert float(child.stdout) >= 1.4
