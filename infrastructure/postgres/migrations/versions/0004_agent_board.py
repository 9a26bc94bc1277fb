"""The agent board: agents, their live tickets and each queue's recent samples for the ETA.

Revision ID: 0004
"""

from __future__ import annotations

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables
from infrastructure.postgres.tables import agent_board, agent_board_tickets, queue_eta

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TABLES = (agent_board, agent_board_tickets, queue_eta)


def upgrade() -> None:
    """Create the tables with forced row-level security and the reader's grant."""
    create_tenant_tables(*TABLES)


def downgrade() -> None:
    """Drop the board's tables (its tracking row goes with a rebuild)."""
    drop_tables(*TABLES)
