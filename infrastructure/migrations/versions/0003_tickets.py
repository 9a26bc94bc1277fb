"""Read models: the tickets list, the waiting lines and the queues' policies, under RLS.

Revision ID: 0003
"""

from __future__ import annotations

from alembic import op

from infrastructure.read_models import secure_statements, ticket_queues, tickets, waiting_line

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (tickets, waiting_line, ticket_queues)


def upgrade() -> None:
    """Create the tables with their indexes, forced row-level security and the reader's grant."""
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)
        for statement in secure_statements(table.name):
            op.execute(statement)


def downgrade() -> None:
    """Drop the tables (their policies go with them)."""
    for table in reversed(TABLES):
        table.drop(op.get_bind())
