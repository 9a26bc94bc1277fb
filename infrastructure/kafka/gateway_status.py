"""What the display gateway says about itself: its heartbeat and skipped records in Redis, and
where its consumer group stands on its topics (``smartqueue gateway status``, readiness)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from application.live import Heartbeat
from infrastructure.kafka.contract import topic_of
from infrastructure.settings import KafkaSettings

TOPICS = tuple(topic_of(aggregate) for aggregate in ("Ticket", "Queue", "Agent"))


def heartbeat_key(group: str) -> str:
    """Where the gateways of ``group`` leave their last heartbeat (expires after three beats)."""
    return f"sq:live:gateway:{group}"


def skipped_key(group: str) -> str:
    """How many malformed records ``group``'s gateways skipped (and, under ``:last``, why)."""
    return f"sq:live:gateway:{group}:skipped"


def skipped_records(client: redis.Redis, group: str) -> tuple[int, str | None]:
    """The number of malformed records ``group`` skipped and a description of the last one."""
    count, last = client.mget(skipped_key(group), skipped_key(group) + ":last")
    if isinstance(last, bytes):
        last = last.decode()
    return int(count or 0), last


def last_heartbeat(client: redis.Redis, group: str) -> Heartbeat | None:
    """The latest heartbeat of ``group``'s gateways, if one beat within three intervals."""
    value = client.get(heartbeat_key(group))
    return None if value is None else msgspec.json.decode(value, type=Heartbeat)


@dataclass(frozen=True)
class PartitionLag:
    """Where a consumer group stands on one partition of the gateway's topics."""

    topic: str
    partition: int
    committed: int | None
    """The group's committed offset; None before the group ever committed here."""
    end: int
    """The offset the partition's next message will get."""

    @property
    def behind(self) -> int | None:
        """Messages published but not yet handled by the group (None: no position yet)."""
        return None if self.committed is None else max(self.end - self.committed, 0)


def group_lag(settings: KafkaSettings, group: str) -> list[PartitionLag]:
    """The committed offset and the end of every partition of the gateway's topics, for
    ``group`` (``smartqueue gateway status``). Topics not created yet have no partitions."""
    from kafka import KafkaAdminClient, KafkaConsumer
    from kafka.structs import TopicPartition

    admin = KafkaAdminClient(
        bootstrap_servers=settings.bootstrap_servers, client_id="smartqueue-gateway-status"
    )
    try:
        committed = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    consumer = KafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers,
        client_id="smartqueue-gateway-status",
        enable_auto_commit=False,
        max_poll_records=100_000,
    )
    try:
        partitions = [
            TopicPartition(topic, number)
            for topic in TOPICS
            for number in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        ends = _ends(consumer, consumer.end_offsets(partitions)) if partitions else {}
    finally:
        consumer.close()
    lags = []
    for partition in partitions:
        offset = committed.get(partition)
        known = offset is not None and offset.offset >= 0
        lags.append(
            PartitionLag(
                partition.topic,
                partition.partition,
                offset.offset if known else None,
                int(ends[partition]),
            )
        )
    return lags


def _ends(consumer: Any, reported: dict[Any, int], timeout: float = 3.0) -> dict[Any, int]:
    """The true end of each partition. Tansu 0.6 (the embedded broker) reports a partition's end
    as its last *batch's* first offset + 1: read from the offset before the reported end to the
    last record there. On Kafka that read finds the one record before the end: no change."""
    ends = dict(reported)
    pending = {partition for partition, end in reported.items() if end > 0}
    consumer.assign(sorted(pending))
    for partition in pending:
        consumer.seek(partition, reported[partition] - 1)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for partition, records in consumer.poll(timeout_ms=200).items():
            ends[partition] = max(ends[partition], records[-1].offset + 1)
            pending.discard(partition)
    return ends
