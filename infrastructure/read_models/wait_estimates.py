"""Wait estimates: :func:`domain.eta.eta_seconds` fed from the agent board and each queue's
recent samples (both kept by the agent board projection), read under row-level security."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import Connection, Engine, select

from domain.errors import InvalidInput
from domain.eta import DEFAULT_SERVING_WINDOW_SECONDS, QueueState, eta_seconds, serves_queue
from infrastructure.postgres.tables import agent_board, queue_eta
from infrastructure.postgres.tenancy import tenant_transaction
from infrastructure.read_models.agent_board import ON_DUTY, Clock, utc_now


class PostgresWaitEstimator:
    """:class:`application.ports.WaitEstimator` by :func:`domain.eta.eta_seconds`, fed
    from the agent board and the queue's recent samples.

    Active for a queue: agents available or busy who serve it by
    :func:`domain.eta.serves_queue` (assigned to it, holding one of its tickets, or having
    called or finished one of its tickets within ``serving_window_seconds``). Each of them
    holding a ticket (of any queue) is busy since they called it. With nobody on duty there is
    no estimate (``None``): neither the baseline nor the hand-over can say when someone will
    come. Before the queue has any sample the estimator assumes the default service time.
    """

    def __init__(
        self,
        engine: Engine,
        clock: Clock = utc_now,
        serving_window_seconds: float = DEFAULT_SERVING_WINDOW_SECONDS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.serving_window_seconds = serving_window_seconds

    def estimate(self, tenant_id: UUID, queue_id: UUID, position: int) -> int | None:
        return self.estimate_all(tenant_id, [(queue_id, position)])[0]

    def estimate_all(
        self, tenant_id: UUID, waiting: Sequence[tuple[UUID, int]]
    ) -> list[int | None]:
        return [eta_seconds(state) for state in self.queue_states(tenant_id, waiting)]

    def queue_state(self, tenant_id: UUID, queue_id: UUID, position: int) -> QueueState:
        """What the estimator knows about the queue now (read in one transaction)."""
        return self.queue_states(tenant_id, [(queue_id, position)])[0]

    def queue_states(
        self, tenant_id: UUID, waiting: Sequence[tuple[UUID, int]]
    ) -> list[QueueState]:
        """The state behind each ``(queue_id, position)``, all read in one transaction at one
        moment: tickets shown together get their estimates from the same facts."""
        if any(position < 1 for _, position in waiting):
            raise InvalidInput("position starts at 1 (the next ticket called)")
        queue_ids = {queue_id for queue_id, _ in waiting}
        if not queue_ids:
            return []
        with tenant_transaction(self.engine, tenant_id) as connection:
            agents = _on_duty(connection, tenant_id)
            samples = _samples(connection, tenant_id, queue_ids)
        now = self.clock().timestamp()
        states = {
            queue_id: self._state(queue_id, now, agents, *samples.get(queue_id, ((), ())))
            for queue_id in queue_ids
        }
        return [
            msgspec.structs.replace(states[queue_id], position=position)
            for queue_id, position in waiting
        ]

    def _state(
        self,
        queue_id: UUID,
        now: float,
        agents: Sequence[Any],
        services: Sequence[float],
        occupancies: Sequence[float],
    ) -> QueueState:
        serving = [
            agent
            for agent in agents
            if serves_queue(
                assigned=queue_id in agent.queue_ids,
                holds_its_ticket=agent.ticket_queue_id == queue_id,
                last_worked_at=(agent.worked_at or {}).get(str(queue_id)),
                now=now,
                window_seconds=self.serving_window_seconds,
            )
        ]
        return QueueState(
            now=now,
            position=1,
            active_agents=len(serving),
            busy_since=tuple(
                agent.ticket_since.timestamp() for agent in serving if agent.ticket_since
            ),
            recent_service_seconds=tuple(services),
            recent_occupancy_seconds=tuple(occupancies),
        )


def _on_duty(connection: Connection, tenant_id: UUID) -> Sequence[Any]:
    """The tenant's agents on duty: what :func:`domain.eta.serves_queue` needs of them and
    when each called the ticket it holds (``ticket_since`` ``None``: free). A branch has tens of
    agents, so the rule is applied to all of them here rather than restated in SQL."""
    query = select(
        agent_board.c.queue_ids,
        agent_board.c.ticket_queue_id,
        agent_board.c.ticket_since,
        agent_board.c.worked_at,
    ).where(agent_board.c.tenant_id == tenant_id, agent_board.c.status.in_(ON_DUTY))
    return connection.execute(query).all()


def _samples(
    connection: Connection, tenant_id: UUID, queue_ids: set[UUID]
) -> dict[UUID, tuple[Sequence[float], Sequence[float]]]:
    """Each queue's recent service durations and holds, oldest first."""
    query = select(
        queue_eta.c.queue_id, queue_eta.c.service_seconds, queue_eta.c.occupancy_seconds
    ).where(queue_eta.c.tenant_id == tenant_id, queue_eta.c.queue_id.in_(queue_ids))
    return {
        row.queue_id: (row.service_seconds, row.occupancy_seconds)
        for row in connection.execute(query)
    }
