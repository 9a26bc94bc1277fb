"""The called tickets past their queue's auto no-show delay, across tenants, for the worker's
sweep (:class:`application.call_expiry.CallExpiry`).

One query joins the tickets read model (``called_at`` is the latest call or recall) to the
directory's queues (``auto_no_show_minutes``), over the partial index of called tickets
(Alembic 0013). The worker knows no tenant: the query runs in a read-only transaction as the
projector role, whose policy sees every tenant's read-model rows, and returns only ids and call
times.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, text

from application.call_expiry import OverdueCall
from infrastructure.postgres.row_security import PROJECTOR_ROLE

OVERDUE = text(
    "SELECT t.tenant_id, t.ticket_id, t.called_at FROM tickets t"
    " JOIN directory_queues q ON q.queue_id = t.queue_id AND q.tenant_id = t.tenant_id"
    " WHERE t.status = 'called' AND q.auto_no_show_minutes IS NOT NULL"
    " AND t.called_at <= :now - make_interval(mins => q.auto_no_show_minutes)"
    " ORDER BY t.called_at LIMIT :limit"
)


class PostgresOverdueCalls:
    """Reads overdue calls on the process's read engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def overdue(self, now: datetime, limit: int) -> list[OverdueCall]:
        with self.engine.begin() as connection:
            connection.execute(text("SET TRANSACTION READ ONLY"))
            connection.execute(text(f"SET LOCAL ROLE {PROJECTOR_ROLE}"))
            rows = connection.execute(OVERDUE, {"now": now, "limit": limit}).all()
        return [OverdueCall(*row) for row in rows]
