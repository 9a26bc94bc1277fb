"""The agent board remembers when each agent last served each queue (the ETA's on-duty rule).

Revision ID: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add ``agent_board.worked_at`` to a database made before it existed; existing rows start
    empty and fill as agents call (``smartqueue projections rebuild agent_board`` fills them
    from the log at once). 0004 creates the table from the current definition, so on a new
    database the column is already there: hence ``IF NOT EXISTS``."""
    op.execute(
        "ALTER TABLE agent_board ADD COLUMN IF NOT EXISTS worked_at JSONB NOT NULL "
        "DEFAULT '{}'::jsonb"
    )


def downgrade() -> None:
    """Drop the column."""
    op.execute("ALTER TABLE agent_board DROP COLUMN IF EXISTS worked_at")
