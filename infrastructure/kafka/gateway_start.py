"""Where a display gateway starts on a partition its consumer group never committed (a new
group): at the gateway's own start time, less a margin for clock skew. Joining a group takes
seconds, and what was published meanwhile must reach the displays; what came before, displays
get from their snapshot."""

from __future__ import annotations

from typing import Any

import structlog

log = structlog.get_logger(__name__)

START_MARGIN_SECONDS = 5.0  # a new group starts this much before the gateway's start time


class NewGroupStart:
    """Seeks partitions without a committed offset to the start time and, where the broker
    could not tell where that is, leaves out the records stamped before it."""

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.older_than: dict[Any, int] = {}  # partitions read from their start: skip before

    def seek(self, consumer: Any, partitions: set[Any]) -> None:
        """Start ``partitions`` (without a committed offset: a new group) at the gateway's start
        time less the margin, and commit that.

        The broker's lookup by time gives the offset where it can. Where it says there is
        nothing that recent (Kafka: ``None``), the end as read *before* the lookup: anything
        published since has a later offset. Where it cannot tell (no lookup by time, or Tansu,
        the embedded broker, which answers "offset 0, timestamp -1" even when newer records
        exist), from the beginning, leaving out the records stamped before that time."""
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
            if partition in unknown:
                offsets[partition] = int(beginnings[partition])
                self.older_than[partition] = since
            else:
                offsets[partition] = int(ends[partition]) if at is None else at.offset
            consumer.seek(partition, offsets[partition])
        consumer.commit({tp: OffsetAndMetadata(at, "", -1) for tp, at in offsets.items()})
        log.info(
            "gateway group starts at its start time",
            since=since,
            partitions=sorted(f"{tp.topic}[{tp.partition}]@{at}" for tp, at in offsets.items()),
            filtered=sorted(f"{tp.topic}[{tp.partition}]" for tp in unknown),
        )

    def recent(self, partition: Any, records: list[Any]) -> list[Any]:
        """``records`` without those stamped before the start time of a partition started from
        its beginning (see :meth:`seek`)."""
        since = self.older_than.get(partition)
        if since is None:
            return records
        recent = [record for record in records if record.timestamp >= since]
        if recent:
            del self.older_than[partition]  # from here on, every record counts
            return records[records.index(recent[0]) :]
        return []
