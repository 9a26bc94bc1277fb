"""The agent board's queries under row-level security, and the wait estimator fed by it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, and_, any_, exists, or_, select

from application.agent_board import BoardEntry, BoardFilter, BoardTicket, board_order
from domain.agents import AgentStatus
from domain.errors import InvalidInput
from infrastructure.audit_store import tenant_transaction
from infrastructure.read_models import agent_board, queue_eta
from projections.agent_board_rows import BoardAgent, served_today
from projections.eta import QueueState, handover

Clock = Callable[[], datetime]
ON_DUTY = (AgentStatus.AVAILABLE.value, AgentStatus.BUSY.value)


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _serves(queue_ids: Any) -> Any:
    """The board row is assigned to one of ``queue_ids`` or holds one of their tickets."""
    return or_(
        queue_ids == any_(agent_board.c.queue_ids), queue_ids == agent_board.c.ticket_queue_id
    )


class PostgresAgentBoard:
    """The board of a tenant's agents, read as the tenant under RLS."""

    def __init__(self, engine: Engine, clock: Clock = _utc_now) -> None:
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


class PostgresWaitEstimator:
    """:class:`application.ports.WaitEstimator` by the hand-over estimator of
    :mod:`projections.eta`, fed from the agent board and the queue's recent samples.

    On duty for a queue: available or busy with the queue among their assigned queues. Each of
    them holding a ticket (of any queue) is busy since they called it. With nobody on duty there
    is no estimate (``None``): neither the baseline nor the hand-over can say when someone will
    come. Before the queue has any sample the estimator assumes the default service time.
    """

    def __init__(self, engine: Engine, clock: Clock = _utc_now) -> None:
        self.engine = engine
        self.clock = clock

    def estimate(self, tenant_id: UUID, queue_id: UUID, position: int) -> int | None:
        state = self.queue_state(tenant_id, queue_id, position)
        eta = handover(state)
        return None if eta is None else round(eta)

    def queue_state(self, tenant_id: UUID, queue_id: UUID, position: int) -> QueueState:
        """What the estimator knows about the queue now (read in one transaction)."""
        if position < 1:
            raise InvalidInput("position starts at 1 (the next ticket called)")
        with tenant_transaction(self.engine, tenant_id) as connection:
            holds = _on_duty(connection, tenant_id, queue_id)
            samples = connection.execute(
                select(queue_eta.c.service_seconds, queue_eta.c.occupancy_seconds).where(
                    queue_eta.c.tenant_id == tenant_id, queue_eta.c.queue_id == queue_id
                )
            ).first()
        services, occupancies = samples if samples is not None else ((), ())
        return QueueState(
            now=self.clock().timestamp(),
            position=position,
            active_agents=len(holds),
            busy_since=tuple(since.timestamp() for since in holds if since is not None),
            recent_service_seconds=tuple(services),
            recent_occupancy_seconds=tuple(occupancies),
        )


def _on_duty(connection: Connection, tenant_id: UUID, queue_id: UUID) -> list[datetime | None]:
    """When each agent on duty for the queue called the ticket it holds (``None``: free)."""
    query = select(agent_board.c.ticket_since).where(
        agent_board.c.tenant_id == tenant_id,
        agent_board.c.status.in_(ON_DUTY),
        queue_id == any_(agent_board.c.queue_ids),
    )
    return list(connection.execute(query).scalars())
