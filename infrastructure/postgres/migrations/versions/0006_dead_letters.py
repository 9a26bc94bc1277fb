"""Dead letters: events a projection set aside after failing on them several times.

Revision ID: 0006
"""

from __future__ import annotations

from alembic import op

from infrastructure.postgres.migrations import drop_tables
from infrastructure.postgres.tables import projection_dead_letters

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``projection_dead_letters``: cross-tenant operator data, so no ``tenant_id``, no
    row-level security and no grant to the API's reader role."""
    projection_dead_letters.create(op.get_bind())


def downgrade() -> None:
    """Drop the dead letters."""
    drop_tables(projection_dead_letters)
