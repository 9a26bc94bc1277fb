"""Read models: the tickets list, the waiting lines and the queues' policies, under RLS.

Revision ID: 0003
"""

from __future__ import annotations

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables
from infrastructure.postgres.tables import ticket_queues, tickets, waiting_line

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = (tickets, waiting_line, ticket_queues)


def upgrade() -> None:
    """Create the tables with their indexes, forced row-level security and the reader's grant."""
    create_tenant_tables(*TABLES)


def downgrade() -> None:
    """Drop the tables (their policies go with them)."""
    drop_tables(*TABLES)
