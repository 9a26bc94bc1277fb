"""KPIs: one row per hourly bucket (tenant, site, service, queue, agent or none, site-local day
and hour) with counts, sums, maxima and mergeable sketches of waits and service times.

Revision ID: 0021

A read model (the ``kpis`` projection fills it from position 0; its position is cleared here so an
upgrade with history behind it builds it). Definitions frozen here, as 0008.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Column,
    Date,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

frozen = MetaData()

kpis = Table(
    "kpis",
    frozen,
    Column("tenant_id", Uuid, nullable=False),
    Column("bucket_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("agent_id", Uuid),
    Column("day", Date, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("arrivals", Integer, nullable=False),
    Column("arrivals_by_channel", JSONB, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in (
            "served",
            "no_shows",
            "cancellations",
            "abandonments",
            "transferred_out",
            "waits_counted",
            "services_counted",
            "sla_met",
            "sla_counted",
        )
    ),
    Column("wait_total_seconds", Double, nullable=False),
    Column("wait_max_seconds", Double),
    Column("wait_sketch", JSONB, nullable=False),
    Column("service_total_seconds", Double, nullable=False),
    Column("service_max_seconds", Double),
    Column("service_sketch", JSONB, nullable=False),
    PrimaryKeyConstraint("tenant_id", "bucket_id", name="kpis_pkey"),
    Index("kpis_tenant_id_day_idx", "tenant_id", "day"),
)
FORGET = (
    "DELETE FROM projection_tracking WHERE projection_name IN ('kpis', 'kpis__rebuild');"
    " DELETE FROM projection_state WHERE projection_name IN ('kpis', 'kpis__rebuild')"
)


def upgrade() -> None:
    """Create the read model (forced row-level security, the reader's and projector's grants)."""
    create_tenant_tables(kpis)
    op.execute(FORGET)


def downgrade() -> None:
    """Drop it and its position and state."""
    drop_tables(kpis)
    op.execute(FORGET)
