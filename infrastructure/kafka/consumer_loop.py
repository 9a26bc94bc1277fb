"""The consume, commit and back-off loop the Kafka consumer groups share (the display gateway,
the notifier): a consumer made and subscribed, polled until a stop, closed without committing
when anything goes wrong, and a new one made after a back-off that doubles up to
:data:`MAX_BACKOFF_SECONDS`.

A group's new partitions (no committed offset) start at the process's start time
(:class:`infrastructure.kafka.gateway_start.NewGroupStart`); :func:`poll` seeks them there, and
:func:`pin` commits a position for every partition the consumer is handed, so a partition that
changes hands resumes where it was rather than at its new owner's start time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import structlog

from infrastructure.kafka.client import FAST_GROUP, quiet_kafka_python
from infrastructure.kafka.gateway_start import NewGroupStart
from infrastructure.settings import KafkaSettings

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 5.0
POLL_MS = 200
# Records a poll hands over. A batch is handled (a few reads per event) before the next poll,
# which must come within the group's max_poll_interval_ms (10 s) or the consumer is put out of
# the group and reads the batch again: at 500, a loaded two-core machine took longer than that,
# every time, and the display gateway fell silent. 100 still shares the reads of a busy second.
MAX_RECORDS = 100


def consumer_options(settings: KafkaSettings, group: str, client_id: str) -> dict[str, Any]:
    """A consumer that joins its group in seconds, hands over each message at once and commits
    only when told; without a committed offset its poll raises, and :func:`poll` seeks."""
    return {
        "bootstrap_servers": settings.bootstrap_servers,
        "group_id": group,
        "client_id": client_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "none",
        "fetch_max_wait_ms": 500,
        **FAST_GROUP,
    }


def run_consumer(
    stop: threading.Event,
    connect: Callable[[], Any],
    step: Callable[[Any], object],
    *,
    name: str,
    backoff_seconds: float,
    retry_on: tuple[type[BaseException], ...] = (),
    reconnect_on: tuple[type[BaseException], ...] = (),
) -> None:
    """Call ``step`` with the consumer ``connect`` makes until ``stop``.

    ``retry_on`` trouble: the same consumer (it keeps its partitions) steps again after the
    back-off. Kafka trouble, or ``reconnect_on``: the consumer is closed uncommitted and a new
    one made after the back-off, resuming from the committed offsets."""
    from kafka.errors import KafkaError

    quiet_kafka_python()
    backoff = backoff_seconds
    while not stop.is_set():
        consumer = None
        try:
            consumer = connect()
            while not stop.is_set():
                try:
                    step(consumer)
                    backoff = backoff_seconds
                except retry_on as error:
                    log.warning(
                        "consumer cannot finish a batch; retrying", consumer=name, error=repr(error)
                    )
                    stop.wait(backoff)
                    backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        except (KafkaError, OSError, *reconnect_on) as error:
            log.warning("consumer interrupted; reconnecting", consumer=name, error=repr(error))
            stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        finally:
            if consumer is not None:
                try:
                    consumer.close(autocommit=False)
                except Exception as error:  # a broken consumer may fail to close; drop it
                    log.debug("consumer close failed", consumer=name, error=str(error))


def poll(consumer: Any, start: NewGroupStart, max_records: int) -> dict[Any, list[Any]] | None:
    """One poll's records by partition; None when partitions without a committed offset (a new
    group) were sought to the start instead (:meth:`NewGroupStart.recent` then leaves out the
    records from before it)."""
    from kafka.errors import NoOffsetForPartitionError

    try:
        batch = consumer.poll(timeout_ms=POLL_MS, max_records=max_records)
    except NoOffsetForPartitionError as error:
        start.seek(consumer, set(error.args[0]) if error.args else set())
        return None
    return batch


def pin(consumer: Any, assigned: set[Any]) -> dict[Any, Any]:
    """Commit a position for every partition in ``assigned``, even one nothing was read from,
    so a partition that changes hands resumes where it was. The offsets committed."""
    from kafka.structs import OffsetAndMetadata

    offsets = {
        partition: OffsetAndMetadata(consumer.position(partition), "", -1) for partition in assigned
    }
    if offsets:
        consumer.commit(offsets)
    return offsets
