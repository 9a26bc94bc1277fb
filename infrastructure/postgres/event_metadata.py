"""Stamping each event with its command's metadata as the event store stores it.

``ContextualApplication.save_in_context`` passes the command's metadata (who asked, from where,
why) as the ``metadata`` keyword of the library's public ``Application.save``, which hands its
keywords to ``EventStore.put``. The event store here takes that keyword off and stores every event
with the metadata in its state, where the audit log, the Kafka contract and ``metadata_of`` read
it back; the recorder gets the other keywords (side writes). The event store comes from the
infrastructure factory's public ``event_store`` method, which the factories of both event stores
(PostgreSQL, in memory) take from :class:`StampingEventStoreFactory`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    AggregateRecorder,
    EventStore,
    InfrastructureFactory,
    Mapper,
    Recording,
)

from application.base import METADATA
from infrastructure.postgres.eventsourcing_internals import with_metadata


class MetadataStampingEventStore(EventStore[Any]):
    """The stock event store; ``put(events, metadata=...)`` stores each event with it."""

    stamps_metadata = True

    def put(
        self, domain_events: Sequence[DomainEventProtocol[Any]], **kwargs: Any
    ) -> list[Recording[Any]]:
        metadata = kwargs.pop(METADATA, None)
        if metadata is not None:
            domain_events = [with_metadata(event, metadata) for event in domain_events]
        return super().put(domain_events, **kwargs)


class StampingEventStoreFactory(InfrastructureFactory[Any]):
    """Mixed into a ``PERSISTENCE_MODULE`` factory: its event stores stamp metadata."""

    def event_store(
        self, mapper: Mapper[Any] | None = None, recorder: AggregateRecorder | None = None
    ) -> MetadataStampingEventStore:
        store = super().event_store(mapper=mapper, recorder=recorder)
        return MetadataStampingEventStore(mapper=store.mapper, recorder=store.recorder)
