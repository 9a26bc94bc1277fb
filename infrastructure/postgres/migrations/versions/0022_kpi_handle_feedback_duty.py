"""KPIs: handle time and feedback in each hourly bucket, and agents' time on duty per hour.

Revision ID: 0022

``kpis`` gains the handle time (call to end of the visits an agent called) and the feedback
counts (CSAT and NPS answers, counted in the hour they were given); ``kpi_agent_duty`` holds each
agent's time on duty (and paused) per site-local hour, for utilisation and served per agent-hour.
Both are written by the ``kpis`` projection, whose position and state are cleared here: it folds
the log again from position 0, so history gets the new figures too. Definitions frozen here.
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

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

frozen = MetaData()

kpi_agent_duty = Table(
    "kpi_agent_duty",
    frozen,
    Column("tenant_id", Uuid, nullable=False),
    Column("bucket_id", Uuid, nullable=False),
    Column("agent_id", Uuid, nullable=False),
    Column("site_id", Uuid),
    Column("day", Date, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("on_duty_seconds", Double, nullable=False),
    Column("paused_seconds", Double, nullable=False),
    PrimaryKeyConstraint("tenant_id", "bucket_id", name="kpi_agent_duty_pkey"),
    Index("kpi_agent_duty_tenant_id_day_idx", "tenant_id", "day"),
)
NEW_COLUMNS = (
    ("handles_counted", "integer"),
    ("handle_total_seconds", "double precision"),
    ("csat_responses", "integer"),
    ("csat_total", "integer"),
    ("csat_satisfied", "integer"),
    ("nps_responses", "integer"),
    ("nps_promoters", "integer"),
    ("nps_detractors", "integer"),
)
FORGET = (
    "DELETE FROM projection_tracking WHERE projection_name IN ('kpis', 'kpis__rebuild');"
    " DELETE FROM projection_state WHERE projection_name IN ('kpis', 'kpis__rebuild')"
)


def upgrade() -> None:
    """Add the columns, create the duty table (forced row-level security, grants), and have the
    projection fold the log again: it rewrites every bucket (the rows stay readable meanwhile,
    with the old figures until their day is folded again)."""
    for name, kind in NEW_COLUMNS:
        op.execute(f"ALTER TABLE kpis ADD COLUMN {name} {kind} NOT NULL DEFAULT 0")
    create_tenant_tables(kpi_agent_duty)
    op.execute(FORGET)


def downgrade() -> None:
    """Drop the duty table and the columns; the projection folds the log again."""
    drop_tables(kpi_agent_duty)
    for name, _ in NEW_COLUMNS:
        op.execute(f"ALTER TABLE kpis DROP COLUMN {name}")
    op.execute(FORGET)
