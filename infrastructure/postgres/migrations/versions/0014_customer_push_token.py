"""A customer's profile keeps the push token of their app.

Revision ID: 0014

A nullable column of the personal-data table: erasure deletes the row, token included. Profiles
saved before it have no token (``null``): push does not reach them until their app registers.
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE customer_profiles ADD COLUMN IF NOT EXISTS push_token text")


def downgrade() -> None:
    op.execute("ALTER TABLE customer_profiles DROP COLUMN IF EXISTS push_token")
