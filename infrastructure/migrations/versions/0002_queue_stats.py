"""Read models: queue statistics per queue and site-local day, and stateful projections' state.

Revision ID: 0002
"""

from __future__ import annotations

from alembic import op

from infrastructure.read_models import projection_state, queue_stats, secure_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``queue_stats`` (tenant rows, forced RLS, readable by the reader role) and
    ``projection_state`` (the projections' own bookkeeping: no grant)."""
    bind = op.get_bind()
    projection_state.create(bind)
    queue_stats.create(bind)
    for statement in secure_statements("queue_stats"):
        op.execute(statement)


def downgrade() -> None:
    """Drop both tables."""
    queue_stats.drop(op.get_bind())
    projection_state.drop(op.get_bind())
