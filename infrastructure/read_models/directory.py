"""The directory read model in PostgreSQL: the projection's view, and the queries behind
``GET queues/`` and ``GET agents/``.

A page is one query: the tenant's rows in ``listed_at`` order after the cursor's row. The cursor
names the last item of the previous page by id, as :func:`application.paging.paginate` does, so
the page boundary holds while items are added; the query fetches from the cursor's own row on
(``listed_at >=``), and a cursor whose row is not the first one back (unknown, another tenant's,
or filtered out) is refused like ``paginate`` refuses it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from uuid import UUID

from sqlalchemy import ColumnElement, Connection, Engine, Table, select

from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from application.views import AgentView, QueueView
from domain.errors import InvalidInput
from infrastructure.postgres.row_buffer import RowBuffer
from infrastructure.postgres.tables import directory_agents, directory_queues
from infrastructure.read_models.audit_log import tenant_transaction
from projections.directory import AgentChange, AgentEntry, QueueChange, QueueEntry

View = TypeVar("View", QueueView, AgentView)

INVALID_CURSOR = "cursor is not valid; pass the cursor of the previous page"


class PostgresDirectoryView:
    """Buffers a batch's queue and agent rows; writes them at ``flush``."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.queues = RowBuffer(tables["directory_queues"], QueueEntry)
        self.agents = RowBuffer(tables["directory_agents"], AgentEntry)

    def add_queue(self, queue: QueueEntry) -> None:
        self.queues.put(queue)

    def change_queue(self, queue_id: UUID, change: QueueChange) -> None:
        self.queues.change((queue_id,), change)

    def add_agent(self, agent: AgentEntry) -> None:
        self.agents.put(agent)

    def change_agent(self, agent_id: UUID, change: AgentChange) -> None:
        self.agents.change((agent_id,), change)

    def flush(self, connection: Connection) -> None:
        """Write the batch inside the caller's transaction."""
        self.queues.flush(connection)
        self.agents.flush(connection)


def _queue_view(row: Any) -> QueueView:
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


def _agent_view(row: Any) -> AgentView:
    return AgentView(
        id=row.agent_id,
        user_id=row.user_id,
        name=row.name,
        status=row.status,
        counter=row.counter,
        queue_ids=list(row.queue_ids),
        current_ticket_id=row.current_ticket_id,
    )


def _cursor_id(cursor: str) -> UUID:
    try:
        return UUID(decode_cursor(cursor))
    except ValueError:
        raise InvalidInput(INVALID_CURSOR) from None


class PostgresDirectory:
    """Lists of the tenant's queues and agents, as the tenant's reader (row-level security
    applies)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def queues(
        self, tenant_id: UUID, page: PageRequest, site_id: UUID | None = None
    ) -> Page[QueueView]:
        """A page of the tenant's queues, oldest first; only those of ``site_id`` when given."""
        conditions = [] if site_id is None else [directory_queues.c.site_id == site_id]
        return self._page(tenant_id, directory_queues, page, conditions, _queue_view)

    def agents(self, tenant_id: UUID, page: PageRequest) -> Page[AgentView]:
        """A page of the tenant's agents, in the order their users were registered."""
        return self._page(tenant_id, directory_agents, page, [], _agent_view)

    def _page(
        self,
        tenant_id: UUID,
        table: Table,
        page: PageRequest,
        conditions: list[ColumnElement[bool]],
        view: Callable[[Any], View],
    ) -> Page[View]:
        [key] = table.primary_key.columns
        # tenant_id is in the query too, although RLS alone enforces it: it lets the planner use
        # the (tenant_id, ..., listed_at) indexes.
        query = select(table).where(table.c.tenant_id == tenant_id, *conditions)
        after = None if page.cursor is None else _cursor_id(page.cursor)
        if after is not None:
            cursor_row = select(table.c.listed_at).where(key == after).scalar_subquery()
            query = query.where(table.c.listed_at >= cursor_row)
        fetched = page.limit + 1 + (after is not None)  # the cursor's row, the page, one more
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(query.order_by(table.c.listed_at).limit(fetched)).all()
        if after is not None:
            if not rows or getattr(rows[0], key.name) != after:
                raise InvalidInput(INVALID_CURSOR)
            rows = rows[1:]
        items = [view(row) for row in rows[: page.limit]]
        more = len(rows) > page.limit
        return Page(items, encode_cursor(str(items[-1].id)) if more and items else None)
