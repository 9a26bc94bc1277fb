"""The shard map: which event-store database holds each tenant (docs/sharding.md).

Revision ID: 0020

``tenant_shards`` maps a tenant (and its slug, unique across every shard) to the name of its
shard. Only the directory database's map is read; the others' stay empty. The column is
``tenant``, not ``tenant_id``, on purpose: the map is read before any tenant is known, so it is
platform bookkeeping (like ``projection_tracking``), not a table under row-level security.
Definitions frozen here (see 0008).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, DateTime, MetaData, String, Table, Uuid

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

frozen = MetaData()

tenant_shards = Table(
    "tenant_shards",
    frozen,
    Column("tenant", Uuid, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("shard", String(63), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
)


def upgrade() -> None:
    """Create the (empty) map."""
    tenant_shards.create(op.get_bind())


def downgrade() -> None:
    """Drop it."""
    tenant_shards.drop(op.get_bind())
