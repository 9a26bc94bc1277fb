"""The directory lists each queue's auto no-show delay.

Revision ID: 0012

A nullable column: every queue saved before it had no delay (``null``, off), so the rows the
directory already holds stay equal to their aggregates without a rebuild.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE directory_queues ADD COLUMN IF NOT EXISTS auto_no_show_minutes integer")


def downgrade() -> None:
    op.execute("ALTER TABLE directory_queues DROP COLUMN IF EXISTS auto_no_show_minutes")
