"""Read models: queue statistics per queue and site-local day, and stateful projections' state.

Revision ID: 0002
"""

from __future__ import annotations

from alembic import op

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables
from infrastructure.postgres.tables import projection_state, queue_stats

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``queue_stats`` (tenant rows, forced RLS, readable by the reader role) and
    ``projection_state`` (the projections' own bookkeeping: no grant)."""
    projection_state.create(op.get_bind())
    create_tenant_tables(queue_stats)


def downgrade() -> None:
    """Drop both tables."""
    drop_tables(projection_state, queue_stats)
