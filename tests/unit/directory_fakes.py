"""The directory read model in memory: the projection's view and the application's port in one
fake, fed from an in-memory SmartQueue's log (by hand, or before every query once it is given
the application as ``log``: a read model without lag)."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from eventsourcing.application import Application

from application.paging import Page, PageRequest, map_page, paginate
from application.views import AgentView, QueueView
from projections.directory import (
    AgentChange,
    AgentEntry,
    DirectoryProjection,
    QueueChange,
    QueueEntry,
)


@dataclass
class MemoryDirectory:
    """Rows by id; a page is the tenant's rows in ``listed_at`` order, paginated like lists."""

    queue_rows: dict[UUID, QueueEntry] = field(default_factory=dict)
    agent_rows: dict[UUID, AgentEntry] = field(default_factory=dict)
    position: int = 0
    log: Application | None = None
    """When given, every query first applies what this application logged since the last."""

    # -- the projection's view --------------------------------------------------------------------

    def add_queue(self, queue: QueueEntry) -> None:
        self.queue_rows[queue.queue_id] = queue

    def change_queue(self, queue_id: UUID, change: QueueChange) -> None:
        if queue_id in self.queue_rows:
            self.queue_rows[queue_id] = change(self.queue_rows[queue_id])

    def add_agent(self, agent: AgentEntry) -> None:
        self.agent_rows[agent.agent_id] = agent

    def change_agent(self, agent_id: UUID, change: AgentChange) -> None:
        if agent_id in self.agent_rows:
            self.agent_rows[agent_id] = change(self.agent_rows[agent_id])

    def follow(self, app: Application) -> None:
        """Apply every event ``app`` logged since the last call."""
        projection = DirectoryProjection()
        while notifications := app.notification_log.select(
            start=self.position,
            limit=app.notification_log.section_size,
            inclusive_of_start=False,
        ):
            for notification in notifications:
                event = app.mapper.to_domain_event(notification)
                projection.handle(event, notification.id, self)
            self.position = notifications[-1].id

    def _catch_up(self) -> None:
        if self.log is not None:
            self.follow(self.log)

    # -- the application's port -------------------------------------------------------------------

    def queues(
        self, tenant_id: UUID, page: PageRequest, site_id: UUID | None = None
    ) -> Page[QueueView]:
        self._catch_up()
        rows = sorted(
            (
                row
                for row in self.queue_rows.values()
                if row.tenant_id == tenant_id and site_id in (None, row.site_id)
            ),
            key=lambda row: row.listed_at,
        )
        return map_page(paginate(rows, lambda row: str(row.queue_id), page), queue_view)

    def agents(self, tenant_id: UUID, page: PageRequest) -> Page[AgentView]:
        self._catch_up()
        rows = sorted(
            (row for row in self.agent_rows.values() if row.tenant_id == tenant_id),
            key=lambda row: row.listed_at,
        )
        return map_page(paginate(rows, lambda row: str(row.agent_id), page), agent_view)


def queue_view(row: QueueEntry) -> QueueView:
    return QueueView(
        id=row.queue_id,
        name=row.name,
        site_id=row.site_id,
        service_ids=list(row.service_ids),
        algorithm=row.algorithm,
        status=row.status,
        waiting=row.waiting,
        auto_no_show_minutes=row.auto_no_show_minutes,
    )


def agent_view(row: AgentEntry) -> AgentView:
    return AgentView(
        id=row.agent_id,
        user_id=row.user_id,
        name=row.name,
        status=row.status,
        counter=row.counter,
        queue_ids=list(row.queue_ids),
        current_ticket_id=row.current_ticket_id,
    )
