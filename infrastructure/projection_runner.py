"""Running projections: batches of the notification log applied with their tracking position.

Each batch is one transaction on the projection's own connection: lock the tracking row, read the
next notifications after it, let the projection turn them into view changes, write those and the
new position, commit. A crash anywhere before the commit leaves neither rows nor position, so the
batch is simply read again: exactly one effect per event.

Gaps: notification ids skip the values of rolled-back writes, so the runner never expects
``position + 1``; it asks for "the next ids after ``position``". The hazard of a later id
committing before an earlier one does not arise with the stock recorder, which takes an
``EXCLUSIVE`` lock on the events table before taking ids and holds it to its commit: ids are
committed in id order, so once id ``n`` is visible every smaller id that will ever exist is too.
(``tests/integration/test_projection_runner.py`` checks it with concurrent writers.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eventsourcing.persistence import ApplicationRecorder, Mapper
from sqlalchemy import Connection, Engine, MetaData, Table

from infrastructure.projection_store import (
    PostgresAuditLogView,
    record_position,
    tracked_position,
)
from infrastructure.read_models import audit_log, ticket_queues, tickets, waiting_line
from infrastructure.ticket_store import PostgresTicketsView
from projections.audit_log import AuditLogProjection
from projections.base import Projection
from projections.tickets import TicketsProjection

DEFAULT_BATCH_SIZE = 1000


class FlushingView(Protocol):
    """A view that buffers a batch's changes and writes them in the caller's transaction."""

    def flush(self, connection: Connection) -> None: ...


@dataclass(frozen=True)
class ReadModel:
    """A projection, the tables it writes and how to build its PostgreSQL view over them."""

    projection: Projection[Any]
    tables: dict[str, Table]
    make_view: Callable[[dict[str, Table]], FlushingView]

    @property
    def name(self) -> str:
        return self.projection.name

    def shadow_tables(self, suffix: str) -> dict[str, Table]:
        """The same tables under other names (a rebuild writes into these)."""
        shadow = MetaData()
        return {
            name: table.to_metadata(shadow, name=name + suffix)
            for name, table in self.tables.items()
        }


def read_models() -> dict[str, ReadModel]:
    """Every read model, by projection name."""
    models = [
        ReadModel(
            AuditLogProjection(),
            {"audit_log": audit_log},
            lambda tables: PostgresAuditLogView(tables["audit_log"]),
        ),
        ReadModel(
            TicketsProjection(),
            {"tickets": tickets, "waiting_line": waiting_line, "ticket_queues": ticket_queues},
            PostgresTicketsView,
        ),
    ]
    return {model.name: model for model in models}


class ProjectionRunner:
    """Applies the log to one read model, batch by batch."""

    def __init__(
        self,
        model: ReadModel,
        recorder: ApplicationRecorder,
        mapper: Mapper[Any],
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        tracking_name: str | None = None,
        tables: dict[str, Table] | None = None,
    ) -> None:
        self.model = model
        self.recorder = recorder
        self.mapper = mapper
        self.batch_size = batch_size
        self.tracking_name = tracking_name or model.name
        self.tables = tables or model.tables

    def apply_batch(self, connection: Connection) -> int:
        """Apply the next batch inside the caller's open transaction; the number of events read.

        The tracking row stays locked until the caller commits, so a second runner (or a rebuild
        swapping tables) waits instead of applying the same events again.
        """
        position = tracked_position(connection, self.tracking_name, lock=True)
        notifications = self.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False
        )
        view = self.model.make_view(self.tables)
        last = position
        for notification in notifications:
            if notification.id <= last:  # a redelivery: already applied
                continue
            event = self.mapper.to_domain_event(notification)
            self.model.projection.handle(event, notification.id, view)
            last = notification.id
        view.flush(connection)
        if last != position:
            record_position(connection, self.tracking_name, last)
        return len(notifications)

    def catch_up(self, engine: Engine, on_progress: Callable[[int], None] | None = None) -> int:
        """Apply batches, one transaction each, until the log is exhausted; events read."""
        total = 0
        while True:
            with engine.begin() as connection:
                count = self.apply_batch(connection)
                position = tracked_position(connection, self.tracking_name)
            total += count
            if on_progress is not None:
                on_progress(position)
            if count < self.batch_size:
                return total
