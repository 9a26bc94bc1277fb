"""A new consumer group (a display gateway's, a notifier's) on a long log of the embedded broker,
which cannot look offsets up by time: it starts a bounded window before each partition's end,
not at the beginning, so its first records come in seconds however long the log, and it still
hands over what was published after its start time and nothing stamped before it."""

from __future__ import annotations

import time
import uuid

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

from infrastructure.kafka.consumer_loop import consumer_options, poll
from infrastructure.kafka.gateway_start import (
    START_MARGIN_SECONDS,
    START_WINDOW_RECORDS,
    NewGroupStart,
)
from infrastructure.settings import KafkaSettings

pytestmark = pytest.mark.integration

PARTITIONS = 2
OLD_RECORDS = 3 * START_WINDOW_RECORDS  # a partition, all stamped before the start time


def _producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)


def test_a_new_group_on_a_long_log_reads_a_window_and_only_what_came_after_its_start(
    kafka_bootstrap: str,
) -> None:
    topic = f"new-group-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        admin.close()
    producer = _producer(kafka_bootstrap)
    stamped_before = int((time.time() - START_MARGIN_SECONDS - 60) * 1000)
    for partition in range(PARTITIONS):
        for n in range(OLD_RECORDS):
            producer.send(topic, b"old %d" % n, partition=partition, timestamp_ms=stamped_before)
    producer.flush(60)

    start = NewGroupStart(time.time())
    settings = KafkaSettings(bootstrap_servers=kafka_bootstrap)
    options = consumer_options(settings, f"g-{uuid.uuid4().hex[:8]}", "new-group-test")
    consumer = KafkaConsumer(**options)
    try:
        consumer.subscribe([topic])
        for partition in range(PARTITIONS):  # published after the start, before the join
            producer.send(topic, b"new %d" % partition, partition=partition)
        producer.flush(30)
        handed: list[bytes] = []
        read = 0
        deadline = time.monotonic() + 60
        while len(handed) < PARTITIONS:
            assert time.monotonic() < deadline, f"only {handed} after reading {read} records"
            batch = poll(consumer, start, max_records=500)
            for tp, records in (batch or {}).items():
                read += len(records)
                handed += [record.value for record in start.recent(tp, records)]
        assert sorted(handed) == [b"new %d" % p for p in range(PARTITIONS)]
        # The window, not the whole log: at most START_WINDOW_RECORDS old records a partition.
        assert read <= PARTITIONS * (START_WINDOW_RECORDS + 1)
        committed = consumer.committed(TopicPartition(topic, 0))
        assert committed is not None and committed >= OLD_RECORDS - START_WINDOW_RECORDS
    finally:
        consumer.close(autocommit=False)
        producer.close()
