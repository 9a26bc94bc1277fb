"""Customers' feedback comments in PostgreSQL: the ``feedback_comments`` table (Alembic
revision 0017). Writes are side writes executed in the feedback's (or the erasure's) event
transaction; reads use the process's pool, scoped to one tenant by row-level security."""

from __future__ import annotations

from uuid import UUID

from psycopg_pool import ConnectionPool

from application.feedback import FeedbackComment
from infrastructure.postgres.side_writes import SqlWrite
from infrastructure.postgres.tenancy import set_tenant


class PostgresFeedbackComments:
    """The ``FeedbackComments`` port on PostgreSQL."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def insert(self, comment: FeedbackComment) -> SqlWrite:
        return SqlWrite(
            "INSERT INTO feedback_comments"
            " (tenant_id, feedback_id, customer_id, comment, created_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (
                comment.tenant_id,
                comment.feedback_id,
                comment.customer_id,
                comment.comment,
                comment.created_at,
            ),
            comment.tenant_id,
        )

    def delete_for_customer(self, tenant_id: UUID, customer_id: UUID) -> SqlWrite:
        return SqlWrite(
            "DELETE FROM feedback_comments WHERE tenant_id = %s AND customer_id = %s",
            (tenant_id, customer_id),
            tenant_id,
        )

    def get(self, tenant_id: UUID, feedback_id: UUID) -> str | None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                "SELECT comment FROM feedback_comments WHERE tenant_id = %s AND feedback_id = %s",
                (tenant_id, feedback_id),
            ).fetchone()
        return row[0] if row else None
