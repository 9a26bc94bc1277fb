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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog
from eventsourcing.persistence import ApplicationRecorder, Mapper, Notification
from sqlalchemy import Connection, Engine, MetaData, Table, text

from infrastructure.following.dead_letters import DeadLetter, record_dead_letter
from infrastructure.following.shared_log import Decoded, SharedLog
from infrastructure.postgres.row_security import PROJECTOR_ROLE
from infrastructure.postgres.tables import (
    agent_board,
    agent_board_tickets,
    appointments,
    audit_log,
    availability,
    directory_agents,
    directory_queues,
    feedback,
    kpi_agent_duty,
    kpis,
    queue_eta,
    queue_stats,
    ticket_queues,
    tickets,
    waiting_line,
)
from infrastructure.postgres.tracking import record_position, tracked_position
from infrastructure.read_models.agent_board import PostgresAgentBoardView
from infrastructure.read_models.appointments import PostgresAppointmentsView
from infrastructure.read_models.audit_log import PostgresAuditLogView
from infrastructure.read_models.availability import PostgresAvailabilityView
from infrastructure.read_models.directory import PostgresDirectoryView
from infrastructure.read_models.feedback import PostgresFeedbackView
from infrastructure.read_models.kpis import make_kpi_view
from infrastructure.read_models.queue_stats import make_queue_stats_view
from infrastructure.read_models.tickets import PostgresTicketsView
from projections.agent_board import AgentBoardProjection
from projections.appointments import AppointmentsProjection
from projections.audit_log import AuditLogProjection
from projections.availability import AvailabilityProjection
from projections.base import Projection
from projections.directory import DirectoryProjection
from projections.feedback import FeedbackProjection
from projections.kpis_projection import KpisProjection
from projections.queue_day import SlaRule
from projections.queue_stats_projection import QueueStatsProjection
from projections.tickets import TicketsProjection

DEFAULT_BATCH_SIZE = 1000

log = structlog.get_logger(__name__)


class EventFailed(Exception):
    """A projection could not apply one event: decoding or handling it raised. The batch's
    transaction is to be rolled back; the follower counts the attempts on that event."""

    def __init__(self, projection: str, notification: Notification, error: Exception) -> None:
        self.projection = projection
        self.position = notification.id
        self.event_id = f"{notification.originator_id}:{notification.originator_version}"
        self.topic = notification.topic
        self.error = f"{type(error).__name__}: {error}"
        super().__init__(
            f"{projection} failed on event {self.position} ({self.topic}): {self.error}"
        )


class FlushingView(Protocol):
    """A view that buffers a batch's changes and writes them in the caller's transaction."""

    def flush(self, connection: Connection) -> None: ...


@runtime_checkable
class StatefulView(Protocol):
    """A view whose projection keeps working state between batches (a fold's open visits).

    The runner calls ``load`` after locking the tracking row and before the batch's first
    event (not at all when there is none); ``flush`` then stores the state with the rows, so
    state, rows and position always commit together. ``name`` is the tracking name: a
    rebuild's shadow keeps its own state.
    """

    def load(self, connection: Connection, name: str) -> None: ...

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


def read_models(sla: SlaRule | None = None) -> dict[str, ReadModel]:
    """Every read model, by projection name. ``sla`` is the queue statistics' SLA rule (from
    settings: see ``sla_rule``; the default rule when not given)."""
    rule = sla or SlaRule()
    models = [
        ReadModel(
            AuditLogProjection(),
            {"audit_log": audit_log},
            lambda tables: PostgresAuditLogView(tables["audit_log"]),
        ),
        ReadModel(
            AgentBoardProjection(),
            {
                "agent_board": agent_board,
                "agent_board_tickets": agent_board_tickets,
                "queue_eta": queue_eta,
            },
            PostgresAgentBoardView,
        ),
        ReadModel(
            QueueStatsProjection(),
            {"queue_stats": queue_stats},
            lambda tables: make_queue_stats_view(tables, rule),
        ),
        ReadModel(
            TicketsProjection(),
            {"tickets": tickets, "waiting_line": waiting_line, "ticket_queues": ticket_queues},
            PostgresTicketsView,
        ),
        ReadModel(
            DirectoryProjection(),
            {"directory_queues": directory_queues, "directory_agents": directory_agents},
            PostgresDirectoryView,
        ),
        ReadModel(
            AvailabilityProjection(), {"availability": availability}, PostgresAvailabilityView
        ),
        ReadModel(FeedbackProjection(), {"feedback": feedback}, PostgresFeedbackView),
        ReadModel(
            AppointmentsProjection(),
            {"appointments": appointments},
            PostgresAppointmentsView,
        ),
        ReadModel(
            KpisProjection(),
            {"kpis": kpis, "kpi_agent_duty": kpi_agent_duty},
            lambda tables: make_kpi_view(tables, rule),
        ),
    ]
    return {model.name: model for model in models}


def act_as_projector(connection: Connection) -> None:
    """Write every tenant's read-model rows for the rest of this transaction (``SET LOCAL``:
    the role ends with the transaction, so a pooled connection never keeps it)."""
    connection.execute(text(f"SET LOCAL ROLE {PROJECTOR_ROLE}"))


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
        shared: SharedLog | None = None,
    ) -> None:
        self.model = model
        self.recorder = recorder
        self.mapper = mapper
        self.batch_size = batch_size
        self.tracking_name = tracking_name or model.name
        self.tables = tables or model.tables
        self.shared = shared  # the process's one read of the log, if its followers share it
        self.position = 0  # where the last batch left the tracking position

    def apply_batch(
        self, connection: Connection, poison: Mapping[int, DeadLetter] | None = None
    ) -> int:
        """Apply the next batch inside the caller's open transaction; the number of events read.

        The tracking row stays locked until the caller commits, so a second runner (or a rebuild
        swapping tables) waits instead of applying the same events again. An event that raises
        raises :class:`EventFailed`; one in ``poison`` (by position) is not applied but stored
        as its dead letter, in the same transaction as the position that passes it. The batch
        runs as the projector, the one role that may write every tenant's rows, and only until
        it returns.
        """
        act_as_projector(connection)
        position = tracked_position(connection, self.tracking_name, lock=True)
        count = self.apply_after(connection, position, poison)
        if self.position != position:
            record_position(connection, self.tracking_name, self.position)
        connection.execute(text("SET LOCAL ROLE NONE"))
        return count

    def apply_after(
        self,
        connection: Connection,
        position: int,
        poison: Mapping[int, DeadLetter] | None = None,
    ) -> int:
        """The body of :meth:`apply_batch` for a caller that has locked the tracking row at
        ``position``, acts as the projector and records the new position (``self.position``)
        itself: a :class:`~infrastructure.following.process.FollowerGroup` does so once for all
        the read models of its transaction. The number of events read."""
        batch = self._after(position)
        view = self.model.make_view(self.tables)
        if batch and isinstance(view, StatefulView):
            view.load(connection, self.tracking_name)  # an idle poll need not decode the state
        last = position
        for item in batch:
            notification = item.notification
            if notification.id <= last:  # a redelivery: already applied
                continue
            letter = (poison or {}).get(notification.id)
            if letter is None:
                self.apply_one(notification, view, item)
            else:
                record_dead_letter(connection, letter)
                log.error(
                    "projection set a poison event aside",
                    projection=letter.projection,
                    position=letter.position,
                    event_id=letter.event_id,
                    topic=letter.topic,
                    attempts=letter.attempts,
                    error=letter.error,
                )
            last = notification.id
        view.flush(connection)
        self.position = last
        return len(batch)

    def _after(self, position: int) -> list[Decoded]:
        """The next batch: from the process's shared read, or from the store (decoded later)."""
        if self.shared is not None:
            return self.shared.after(position, self.batch_size)
        notifications = self.recorder.select_notifications(
            start=position, limit=self.batch_size, inclusive_of_start=False
        )
        return [Decoded(notification) for notification in notifications]

    def apply_one(
        self, notification: Notification, view: Any, decoded: Decoded | None = None
    ) -> None:
        """Decode one notification (unless ``decoded`` already holds its event) and let the
        projection apply it to ``view``."""
        try:
            if decoded is not None and decoded.error is not None:
                raise decoded.error
            if decoded is not None and decoded.event is not None:
                event = decoded.event
            else:
                event = self.mapper.to_domain_event(notification)
            self.model.projection.handle(event, notification.id, view)
        except Exception as error:  # any failure is this event's: the follower counts it
            raise EventFailed(self.model.name, notification, error) from error

    def catch_up(self, engine: Engine, on_progress: Callable[[int], None] | None = None) -> int:
        """Apply batches, one transaction each, until the log is exhausted (at least up to its
        head when called); events read. A short batch is the end only past that head: the
        concurrent recorder ends a read before an id that may still commit, and a batch's own
        transaction is one it waits for, so the next batch passes the id."""
        head = self.recorder.max_notification_id() or 0
        total = 0
        while True:
            with engine.begin() as connection:
                count = self.apply_batch(connection)
                position = tracked_position(connection, self.tracking_name)
            total += count
            if on_progress is not None:
                on_progress(position)
            if count < self.batch_size and position >= head:
                return total
