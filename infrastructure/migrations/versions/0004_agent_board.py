"""The agent board: agents, their live tickets and each queue's recent samples for the ETA.

Revision ID: 0004
"""

from __future__ import annotations

from alembic import op

from infrastructure.read_models import (
    agent_board,
    agent_board_tickets,
    queue_eta,
    secure_statements,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (agent_board, agent_board_tickets, queue_eta)


def upgrade() -> None:
    """Create the tables with forced row-level security and the reader's grant."""
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)
        for statement in secure_statements(table.name):
            op.execute(statement)


def downgrade() -> None:
    """Drop the board's tables (its tracking row goes with a rebuild)."""
    for table in reversed(TABLES):
        table.drop(op.get_bind())
