"""``smartqueue gateway status``'s numbers on a real broker: per partition of the gateway's
topics, the group's committed offset, the partition's end and the lag between them."""

from __future__ import annotations

import dataclasses
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata, TopicPartition

from infrastructure.kafka.client import ensure_topics
from infrastructure.kafka.gateway_status import TOPICS, group_lag
from infrastructure.settings import KafkaSettings, load_settings
from tests.integration.conftest import on_own_broker

pytestmark = pytest.mark.integration

kafka_bootstrap = on_own_broker()
TICKETS = "smartqueue.ticket.v1"


@pytest.fixture(scope="module")
def kafka(kafka_bootstrap: str) -> KafkaSettings:
    return dataclasses.replace(load_settings().kafka, bootstrap_servers=kafka_bootstrap)


def _produce_batched(bootstrap: str, partition: int, count: int) -> None:
    """``count`` records in one produce request (a batch, as the relay sends them)."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=100)
    try:
        sent = [producer.send(TICKETS, value=b"{}", partition=partition) for _ in range(count)]
        producer.flush()
        assert all(future.get(10) for future in sent)
    finally:
        producer.close()


def _commit(bootstrap: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        consumer.assign(list(offsets))
        consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
    finally:
        consumer.close()


def test_lag_is_what_the_group_has_not_committed_counting_every_record_of_a_batch(
    kafka: KafkaSettings,
) -> None:
    ensure_topics(kafka)
    before = {(lag.topic, lag.partition): lag.end for lag in group_lag(kafka, "nobody")}
    first, second = TopicPartition(TICKETS, 0), TopicPartition(TICKETS, 1)
    _produce_batched(kafka.bootstrap_servers, 0, 7)
    _produce_batched(kafka.bootstrap_servers, 1, 3)
    end_0 = before[(TICKETS, 0)] + 7
    end_1 = before[(TICKETS, 1)] + 3
    group = f"lag-{uuid.uuid4().hex[:8]}"
    _commit(kafka.bootstrap_servers, group, {first: end_0 - 4, second: end_1})

    lags = {(lag.topic, lag.partition): lag for lag in group_lag(kafka, group)}

    assert {topic for topic, _ in lags} == set(TOPICS)
    assert (lags[(TICKETS, 0)].committed, lags[(TICKETS, 0)].end) == (end_0 - 4, end_0)
    assert lags[(TICKETS, 0)].behind == 4
    assert (lags[(TICKETS, 1)].end, lags[(TICKETS, 1)].behind) == (end_1, 0)
    # Partitions the group never committed on have no position, hence no lag figure.
    others = [lag for key, lag in lags.items() if key not in {(TICKETS, 0), (TICKETS, 1)}]
    assert others and all(lag.committed is None and lag.behind is None for lag in others)
