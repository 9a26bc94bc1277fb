"""Availability: the places taken in each slot of a service at a site, one row per schedule.

Revision ID: 0016

The table starts empty; the projections process fills it from the start of the log, and
``smartqueue projections rebuild availability`` rebuilds it. Its definition is frozen here rather
than taken from ``infrastructure/postgres/tables.py`` (see 0008).
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Date, Index, MetaData, Table, Uuid
from sqlalchemy.dialects.postgresql import JSONB

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

frozen = MetaData()

availability = Table(
    "availability",
    frozen,
    Column("schedule_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("taken", JSONB, nullable=False),
    Column("places", JSONB, nullable=False),
    Index(
        "availability_tenant_id_site_id_service_id_day_idx",
        "tenant_id",
        "site_id",
        "service_id",
        "day",
    ),
)

TABLES = (availability,)
# The projection's position belongs to the table: an empty table must be filled from position 0.
FORGET_POSITION = (
    "DELETE FROM projection_tracking "
    "WHERE projection_name IN ('availability', 'availability__rebuild')"
)


def upgrade() -> None:
    """Create the table with forced row-level security and the reader's and projector's
    grants."""
    create_tenant_tables(*TABLES)
    op.execute(FORGET_POSITION)


def downgrade() -> None:
    """Drop the table and its position."""
    drop_tables(*TABLES)
    op.execute(FORGET_POSITION)
