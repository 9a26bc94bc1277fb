"""The agent board read model: its PostgreSQL writer and its queries, side by side.

Writer: the projection's handlers change rows they must first read (an agent, a live ticket, a
queue's samples). Reads belong in the batch's transaction, which the view only gets at ``flush``;
so the view queues the changes and, at flush, runs them in order against a per-batch cache that
reads a row on first use, then writes every changed row with one statement per table. A rebuild's
long batches thus read each agent and queue once, and a ticket issued in the same batch not at all.

Queries: the board of a tenant's agents, read as the tenant under row-level security. The wait
estimator that reads the same rows is in :mod:`infrastructure.postgres.tables.wait_estimates`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Engine, Table, and_, any_, delete, exists, or_, select

from application.agent_board import BoardEntry, BoardFilter, BoardTicket, board_order
from domain.agents import AgentStatus
from infrastructure.postgres.tables import agent_board, queue_eta
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.postgres.upsert import upsert
from projections.agent_board_rows import BoardAgent, Change, LiveTicket, QueueSamples, served_today

Clock = Callable[[], datetime]
ON_DUTY = (AgentStatus.AVAILABLE.value, AgentStatus.BUSY.value)

# -- the writer ----------------------------------------------------------------------------------

Row = TypeVar("Row", BoardAgent, LiveTicket, QueueSamples)


class _Rows(Generic[Row]):
    """One table's rows as dataclasses, read on first use, written back at the end."""

    def __init__(self, connection: Connection, table: Table, row_type: type[Row]) -> None:
        self.connection = connection
        self.table = table
        self.row_type = row_type
        self.names = tuple(field.name for field in fields(row_type))
        [self.key] = table.primary_key.columns
        self.cache: dict[UUID, Row | None] = {}
        self.changed: set[UUID] = set()
        self.dropped: set[UUID] = set()

    def get(self, key: UUID) -> Row | None:
        if key not in self.cache:
            found = (
                self.connection.execute(select(self.table).where(self.key == key))
                .mappings()
                .first()
            )
            self.cache[key] = None if found is None else self.row_type(**found)
        return self.cache[key]

    def put(self, key: UUID, row: Row) -> None:
        self.cache[key] = row
        self.changed.add(key)
        self.dropped.discard(key)

    def drop(self, key: UUID) -> None:
        self.cache[key] = None
        self.changed.discard(key)
        self.dropped.add(key)

    def write(self) -> None:
        if self.changed:
            values = [self._values(self.cache[key]) for key in sorted(self.changed, key=str)]
            statement = upsert(self.table, (self.key.name,), self.names)
            self.connection.execute(statement, values)
        if self.dropped:
            self.connection.execute(delete(self.table).where(self.key.in_(self.dropped)))

    def _values(self, row: Any) -> dict[str, Any]:
        return {name: getattr(row, name) for name in self.names}


class _BatchState:
    """:class:`projections.agent_board.BoardState` over the batch's transaction."""

    def __init__(self, connection: Connection, tables: dict[str, Table]) -> None:
        self.agents = _Rows(connection, tables["agent_board"], BoardAgent)
        self.tickets = _Rows(connection, tables["agent_board_tickets"], LiveTicket)
        self.queues = _Rows(connection, tables["queue_eta"], QueueSamples)

    def agent(self, agent_id: UUID) -> BoardAgent | None:
        return self.agents.get(agent_id)

    def put_agent(self, row: BoardAgent) -> None:
        self.agents.put(row.agent_id, row)

    def ticket(self, ticket_id: UUID) -> LiveTicket | None:
        return self.tickets.get(ticket_id)

    def put_ticket(self, row: LiveTicket) -> None:
        self.tickets.put(row.ticket_id, row)

    def drop_ticket(self, ticket_id: UUID) -> None:
        self.tickets.drop(ticket_id)

    def queue(self, queue_id: UUID) -> QueueSamples | None:
        return self.queues.get(queue_id)

    def put_queue(self, row: QueueSamples) -> None:
        self.queues.put(row.queue_id, row)

    def write(self) -> None:
        for rows in (self.queues, self.tickets, self.agents):
            rows.write()


class PostgresAgentBoardView:
    """Collects a batch's board changes; runs and writes them at ``flush``."""

    def __init__(self, tables: dict[str, Table]) -> None:
        self.tables = tables
        self.pending: list[Change] = []

    def run(self, change: Change) -> None:
        self.pending.append(change)

    def flush(self, connection: Connection) -> None:
        """Apply the batch's changes inside the caller's transaction."""
        if not self.pending:
            return
        state = _BatchState(connection, self.tables)
        for change in self.pending:
            change(state)
        state.write()
        self.pending = []


# -- the queries ---------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def _serves(queue_ids: Any) -> Any:
    """The board row is assigned to one of ``queue_ids`` or holds one of their tickets."""
    return or_(
        queue_ids == any_(agent_board.c.queue_ids), queue_ids == agent_board.c.ticket_queue_id
    )


class PostgresAgentBoard:
    """The board of a tenant's agents, read as the tenant under RLS."""

    def __init__(self, engine: Engine, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def board(self, tenant_id: UUID, where: BoardFilter) -> list[BoardEntry]:
        # tenant_id in the query as well as in the policy: it lets the planner use the index.
        conditions = [agent_board.c.tenant_id == tenant_id]
        if where.status is not None:
            conditions.append(agent_board.c.status == where.status)
        if where.queue_id is not None:
            conditions.append(_serves(where.queue_id))
        if where.agent_id is not None:
            conditions.append(agent_board.c.agent_id == where.agent_id)
        if where.site_id is not None:
            site_queues = and_(queue_eta.c.site_id == where.site_id, _serves(queue_eta.c.queue_id))
            conditions.append(exists().where(site_queues))
        with tenant_transaction(self.engine, tenant_id) as connection:
            rows = connection.execute(select(agent_board).where(*conditions)).mappings().all()
        now = self.clock()
        return sorted((_entry(BoardAgent(**row), now) for row in rows), key=board_order)


def _entry(row: BoardAgent, now: datetime) -> BoardEntry:
    ticket = None
    if row.ticket_id is not None:
        ticket = BoardTicket(
            id=row.ticket_id,
            number=row.ticket_number,
            queue_id=row.ticket_queue_id,
            status=row.ticket_status,
            called_at=row.ticket_since,
        )
    return BoardEntry(
        agent_id=row.agent_id,
        user_id=row.user_id,
        name=row.name,
        status=row.status,
        status_since=row.status_since,
        counter=row.counter,
        queue_ids=list(row.queue_ids),
        ticket=ticket,
        served_today=served_today(row, now),
    )
