"""The directory: the tenant's queues and agents as their lists show them.

Revision ID: 0008

The tables start empty; the projections process fills them from the start of the log (a new
projection starts at position 0), and ``smartqueue projections rebuild directory`` rebuilds them.
Their definition is frozen here rather than taken from ``infrastructure/read_models``, so this
revision does not change when the live definition does later (see 0005 and 0007).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import BigInteger, Column, Index, Integer, MetaData, String, Table, Text, Uuid
from sqlalchemy.dialects.postgresql import ARRAY

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

frozen = MetaData()

directory_queues = Table(
    "directory_queues",
    frozen,
    Column("queue_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("listed_at", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_ids", ARRAY(Uuid), nullable=False),
    Column("algorithm", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("waiting", Integer, nullable=False),
    Index("directory_queues_tenant_id_listed_at_idx", "tenant_id", "listed_at"),
    Index("directory_queues_tenant_id_site_id_listed_at_idx", "tenant_id", "site_id", "listed_at"),
)

directory_agents = Table(
    "directory_agents",
    frozen,
    Column("agent_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("listed_at", BigInteger, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("counter", Text),
    Column("queue_ids", ARRAY(Uuid), nullable=False),
    Column("current_ticket_id", Uuid),
    Index("directory_agents_tenant_id_listed_at_idx", "tenant_id", "listed_at"),
)

TABLES = (directory_queues, directory_agents)
# The projection's position belongs to the tables: empty tables must be filled from position 0.
FORGET_POSITION = (
    "DELETE FROM projection_tracking WHERE projection_name IN ('directory', 'directory__rebuild')"
)


def upgrade() -> None:
    """Create the tables with forced row-level security and the reader's and projector's
    grants."""
    create_tenant_tables(*TABLES)
    op.execute(FORGET_POSITION)


def downgrade() -> None:
    """Drop the directory's tables and its position."""
    drop_tables(*TABLES)
    op.execute(FORGET_POSITION)
