"""The analytics sink's pure parts and its DuckDB file: a record becomes a faithful row, copies of
one event are stored once, and a batch's rows and offsets commit together or not at all."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec
import pytest
from kafka.structs import TopicPartition

from domain.tickets import Ticket
from infrastructure.analytics.rows import Batch, EventRow, Rejected, batch_of, first_of_each, row_of
from infrastructure.analytics.settings import load_sink_settings
from infrastructure.analytics.sink import AnalyticsSink, PartitionsGone
from infrastructure.analytics.status import PartitionStatus, SinkStatus, judge
from infrastructure.analytics.store import SinkStore
from infrastructure.kafka.contract import envelope_of
from infrastructure.settings import KafkaSettings, SettingsError

TOPIC = "smartqueue.ticket.v1"


@dataclass(frozen=True)
class Record:
    """A consumed record as kafka-python hands it over (the fields the sink reads)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


def published_ticket_events(position: int = 100) -> list[bytes]:
    """A real ticket's events as the relay publishes them: issued, then called."""
    ticket = Ticket(
        tenant_id=uuid.uuid4(),
        queue_id=uuid.uuid4(),
        service_id=uuid.uuid4(),
        number="A-001",
        priority=0,
        channel="kiosk",
        customer_id=None,
        issued_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    ticket.call(uuid.uuid4(), "3", datetime(2026, 3, 2, 9, 4, 30, tzinfo=UTC))
    return [
        msgspec.json.encode(envelope_of(event, position + index)[1])
        for index, event in enumerate(ticket.collect_events())
    ]


def envelope(event_id: str, **changes: object) -> bytes:
    """A hand-made envelope (for what the contract cannot produce: future fields, bad values)."""
    aggregate_id = event_id.split(":")[0]
    value = {
        "event_id": event_id,
        "event_type": "Ticket.Called",
        "schema_version": 1,
        "tenant_id": str(uuid.uuid4()),
        "aggregate_type": "Ticket",
        "aggregate_id": aggregate_id,
        "aggregate_version": int(event_id.split(":")[1]),
        "log_position": 7,
        "occurred_at": "2026-03-02T09:04:30.250Z",
        "actor": {"id": None, "role": None},
        "correlation_id": None,
        "causation_id": None,
        "data": {"at": "2026-03-02T09:04:30.120Z", "agent_id": str(uuid.uuid4()), "counter": "3"},
        **changes,
    }
    return json.dumps(value).encode()


def test_a_published_event_becomes_a_row_with_every_envelope_field_and_its_data_verbatim() -> None:
    issued, called = published_ticket_events(position=100)
    row = row_of(Record(TOPIC, 2, 41, called))
    sent = json.loads(called)
    assert isinstance(row, EventRow)
    assert row.event_id == sent["event_id"] == f"{sent['aggregate_id']}:2"
    assert (row.topic, row.kafka_partition, row.kafka_offset) == (TOPIC, 2, 41)
    assert row.tenant_id == sent["tenant_id"]
    assert (row.aggregate_type, row.aggregate_id, row.aggregate_version) == (
        "Ticket",
        sent["aggregate_id"],
        2,
    )
    assert (row.event_type, row.schema_version, row.log_position) == ("Ticket.Called", 1, 101)
    assert datetime.fromisoformat(row.occurred_at) == datetime.fromisoformat(sent["occurred_at"])
    assert json.loads(row.payload) == sent["data"]
    assert json.loads(row.payload)["at"] == "2026-03-02T09:04:30Z"
    first = row_of(Record(TOPIC, 2, 40, issued))
    assert isinstance(first, EventRow) and first.event_type == "Ticket.Issued"
    assert json.loads(first.payload)["channel"] == "kiosk"


def test_fields_and_event_types_a_later_contract_adds_are_kept_as_published() -> None:
    event_id = f"{uuid.uuid4()}:3"
    data = {"at": "2026-03-02T09:04:30Z", "brand_new": {"nested": [1, 2.5, None]}}
    value = envelope(event_id, event_type="Ticket.Teleported", data=data, future_field=True)
    row = row_of(Record(TOPIC, 0, 0, value))
    assert isinstance(row, EventRow)
    assert row.event_type == "Ticket.Teleported"
    assert json.loads(row.payload) == data


@pytest.mark.parametrize(
    "value",
    [
        b"not json",
        None,
        b'{"event_id": "x"}',
        envelope(f"{uuid.uuid4()}:1", aggregate_id="not-a-uuid"),
        envelope(f"{uuid.uuid4()}:1", occurred_at="yesterday"),
    ],
)
def test_a_record_that_is_not_an_envelope_is_rejected_with_its_bytes_and_why(value) -> None:
    rejected = row_of(Record(TOPIC, 1, 9, value))
    assert isinstance(rejected, Rejected)
    assert (rejected.topic, rejected.kafka_partition, rejected.kafka_offset) == (TOPIC, 1, 9)
    assert rejected.value == (value or b"")
    assert rejected.error


def test_copies_of_an_event_in_one_batch_are_kept_once_at_the_first_copy() -> None:
    a, b = f"{uuid.uuid4()}:1", f"{uuid.uuid4()}:1"
    rows = [row_of(Record(TOPIC, 0, offset, envelope(i))) for offset, i in enumerate([a, b, a, a])]
    kept = first_of_each(row for row in rows if isinstance(row, EventRow))
    assert [(row.event_id, row.kafka_offset) for row in kept] == [(a, 0), (b, 1)]


def test_a_batch_moves_each_partition_past_its_last_record_rejected_ones_included() -> None:
    a, b = f"{uuid.uuid4()}:1", f"{uuid.uuid4()}:1"
    batch = batch_of(
        {
            (TOPIC, 0): [Record(TOPIC, 0, 5, envelope(a)), Record(TOPIC, 0, 6, b"junk")],
            ("smartqueue.queue.v1", 2): [
                Record("smartqueue.queue.v1", 2, 0, envelope(b)),
                Record("smartqueue.queue.v1", 2, 1, envelope(a)),
            ],
        }
    )
    assert batch.offsets == {(TOPIC, 0): 7, ("smartqueue.queue.v1", 2): 2}
    assert [row.event_id for row in batch.rows] == [a, b]
    assert [(r.kafka_offset, r.value) for r in batch.rejected] == [(6, b"junk")]
    assert batch.records == 4


def stored_ids(store: SinkStore) -> list[str]:
    return [row[0] for row in store.connection.execute("SELECT event_id FROM events").fetchall()]


def test_an_event_stored_once_is_never_stored_again_whatever_batch_brings_it(
    tmp_path: Path,
) -> None:
    issued, called = published_ticket_events()
    store = SinkStore(tmp_path / "sink.duckdb")
    first = batch_of({0: [Record(TOPIC, 0, 0, issued), Record(TOPIC, 0, 1, called)]})
    # The relay re-sent both after a restart: new offsets, another partition even.
    again = batch_of({1: [Record(TOPIC, 1, 0, called), Record(TOPIC, 1, 1, issued)]})
    assert store.write(first) == 2
    assert store.write(again) == 0
    assert store.write(first) == 0
    assert len(stored_ids(store)) == 2
    offsets, (kept_offset,) = (
        store.offsets(),
        store.connection.execute(
            "SELECT kafka_offset FROM events WHERE event_type = 'Ticket.Called'"
        ).fetchone(),
    )
    assert offsets == {(TOPIC, 0): 2, (TOPIC, 1): 2}
    assert kept_offset == 1  # the first copy read
    store.close()


def test_a_batch_that_fails_leaves_neither_its_rows_nor_its_offsets(tmp_path: Path) -> None:
    issued, called = published_ticket_events()
    path = tmp_path / "sink.duckdb"
    store = SinkStore(path)
    store.write(batch_of({0: [Record(TOPIC, 0, 0, issued)]}))
    good = row_of(Record(TOPIC, 0, 1, called))
    assert isinstance(good, EventRow)
    broken = EventRow(**{**good.__dict__, "event_id": f"{uuid.uuid4()}:1", "payload": "{nope"})
    failing = Batch([good, broken], [], {(TOPIC, 0): 3}, 2)
    with pytest.raises(duckdb.Error, match=r"(?i)json"):
        store.write(failing)
    assert store.offsets() == {(TOPIC, 0): 1}
    assert len(stored_ids(store)) == 1
    store.close()
    reopened = SinkStore(path)  # as a restarted sink finds it
    assert reopened.offsets() == {(TOPIC, 0): 1}
    assert reopened.write(batch_of({0: [Record(TOPIC, 0, 1, called)]})) == 1
    reopened.close()


def test_rejected_records_are_kept_in_their_own_table_once(tmp_path: Path) -> None:
    store = SinkStore(tmp_path / "sink.duckdb")
    batch = batch_of({0: [Record(TOPIC, 0, 3, b"\x00binary")]})
    store.write(batch)
    store.write(batch)
    rows = store.connection.execute("SELECT kafka_offset, value FROM sink_rejected").fetchall()
    assert rows == [(3, b"\x00binary")]
    assert store.totals()[:2] == (0, 1)
    store.close()


def test_the_file_defaults_under_the_home_and_a_bad_setting_names_its_variable(
    tmp_path: Path,
) -> None:
    settings = load_sink_settings({})
    assert settings.database_path(tmp_path) == tmp_path / "analytics" / "events.duckdb"
    chosen = load_sink_settings({"SMARTQUEUE_ANALYTICS_SINK_PATH": str(tmp_path / "x.duckdb")})
    assert chosen.database_path(Path("/elsewhere")) == tmp_path / "x.duckdb"
    with pytest.raises(SettingsError, match="SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE"):
        load_sink_settings({"SMARTQUEUE_ANALYTICS_SINK_BATCH_SIZE": "0"})


class FakeConsumer:
    """What the sink asks of kafka-python's consumer to take its partitions: the broker's
    topics and partitions, a manual assignment and seeks (no ``subscribe``: no group)."""

    def __init__(self, partitions: dict[str, set[int]]) -> None:
        self.partitions = partitions
        self.assignment: list[TopicPartition] = []
        self.positions: dict[TopicPartition, Any] = {}

    def topics(self) -> set[str]:
        return set(self.partitions)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return self.partitions.get(topic)

    def assign(self, partitions: list[TopicPartition]) -> None:
        """The whole assignment; positions of partitions held before are kept, as
        kafka-python keeps them."""
        self.assignment = list(partitions)
        self.positions = {tp: self.positions[tp] for tp in partitions if tp in self.positions}

    def seek(self, partition: TopicPartition, offset: int) -> None:
        assert partition in self.assignment
        self.positions[partition] = offset

    def seek_to_beginning(self, *partitions: TopicPartition) -> None:
        for partition in partitions:
            assert partition in self.assignment
            self.positions[partition] = "beginning"


def a_sink(tmp_path: Path) -> AnalyticsSink:
    return AnalyticsSink(KafkaSettings(), load_sink_settings({}), tmp_path / "sink.duckdb")


def test_the_sink_takes_every_partition_of_the_contracts_topics_at_the_offsets_in_duckdb(
    tmp_path: Path,
) -> None:
    consumer = FakeConsumer(
        {
            TOPIC: {0, 1, 2},
            "smartqueue.queue.v1": {0, 1},
            "smartqueue.ticket.v2": {0},  # another major version: another contract
            "payments": {0},
            "__consumer_offsets": {0},
        }
    )
    sink = a_sink(tmp_path)
    sink.stored = {(TOPIC, 1): 40, ("smartqueue.queue.v1", 0): 0}
    sink.take_partitions(consumer)
    ticket = [TopicPartition(TOPIC, partition) for partition in range(3)]
    queue = [TopicPartition("smartqueue.queue.v1", partition) for partition in range(2)]
    assert sorted(consumer.assignment) == sorted(ticket + queue)
    assert consumer.positions == {
        ticket[0]: "beginning",  # never read: the whole partition
        ticket[1]: 40,
        ticket[2]: "beginning",
        queue[0]: 0,
        queue[1]: "beginning",
    }
    assert sink.assigned == set(ticket + queue)
    assert sink.seeks == 5


def test_a_topic_or_partition_added_later_is_taken_and_the_ones_held_keep_their_place(
    tmp_path: Path,
) -> None:
    consumer = FakeConsumer({TOPIC: {0}})
    sink = a_sink(tmp_path)
    sink.take_partitions(consumer)
    held = TopicPartition(TOPIC, 0)
    consumer.positions[held] = 17  # read on since
    sink.take_partitions(consumer)  # nothing new: nothing sought again
    assert consumer.positions == {held: 17}
    consumer.partitions[TOPIC] = {0, 1}
    consumer.partitions["smartqueue.device.v1"] = {0}
    sink.take_partitions(consumer)
    assert consumer.positions == {
        held: 17,
        TopicPartition(TOPIC, 1): "beginning",
        TopicPartition("smartqueue.device.v1", 0): "beginning",
    }
    assert sink.seeks == 3


def test_partitions_the_broker_no_longer_has_make_the_sink_start_a_new_consumer(
    tmp_path: Path,
) -> None:
    consumer = FakeConsumer({TOPIC: {0, 1}})
    sink = a_sink(tmp_path)
    sink.take_partitions(consumer)
    del consumer.partitions[TOPIC]  # a new broker that has not made the topics yet
    with pytest.raises(PartitionsGone, match=r"smartqueue\.ticket\.v1\[0\]"):
        sink.take_partitions(consumer)


def status_holding(partitions: list[PartitionStatus]) -> SinkStatus:
    return SinkStatus(
        at=datetime.now(UTC) - timedelta(seconds=1),
        group="g",
        events=10,
        rejected=0,
        written=10,
        duplicates=0,
        newest_event_at=None,
        partitions=partitions,
    )


def test_a_sink_holding_no_partition_is_a_problem_though_nothing_is_behind() -> None:
    caught_up = status_holding([PartitionStatus(TOPIC, 0, 10, 10)])
    assert judge(caught_up, 30, 0).problem is None
    assert judge(status_holding([PartitionStatus(TOPIC, 0, 4, 10)]), 30, 5).problem is not None
    idle = status_holding([])
    assert idle.behind == 0
    assert judge(idle, 30, None).problem == "holds no partition: it reads nothing"
