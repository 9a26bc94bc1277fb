"""A tenant's remote-join settings: whether joins need a one-time SMS code.

Revision ID: 0015

A write-side table (``roles.WRITE_SIDE_TABLES``) under forced row-level security applied after
the migrations, one row per tenant that saved its settings (no row: codes are off). Plain DDL,
as 0010, because the store writes with psycopg statements.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the settings table."""
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS public_join_settings (
            tenant_id  uuid PRIMARY KEY,
            join_code  text NOT NULL CHECK (join_code IN ('off', 'sms')),
            updated_at timestamptz NOT NULL
        )
        """
    )


def downgrade() -> None:
    """Drop the table: every tenant's joins need no code again."""
    op.execute("DROP TABLE IF EXISTS public_join_settings")
