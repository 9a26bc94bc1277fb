"""Appointments: the staff's day list read model, and the feedback read model's appointment link.

Revision ID: 0019

``appointments`` holds one row per appointment (ids, times, status, code, ticket, placement; no
personal data); the projections process fills it from the start of the log, and ``smartqueue
projections rebuild appointments`` rebuilds it. ``feedback`` gains ``appointment_id``: its rows
are emptied and its position forgotten, so the projection writes every row again with the link.
Definitions frozen here (see 0008).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, Date, DateTime, Index, MetaData, String, Table, Text, Uuid

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

frozen = MetaData()

appointments = Table(
    "appointments",
    frozen,
    Column("appointment_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("end", DateTime(timezone=True), nullable=False),
    Column("code", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("customer_id", Uuid),
    Column("ticket_id", Uuid),
    Column("placement", String(20)),
    Column("cancelled_at", DateTime(timezone=True)),
    Index(
        "appointments_tenant_id_site_id_day_start_idx",
        "tenant_id",
        "site_id",
        "day",
        "start",
    ),
    Index(
        "appointments_start_idx",  # live ones only (the sweep)
        "start",
        postgresql_where=sa.text("status IN ('booked', 'rescheduled')"),
    ),
)


# The projections' positions belong to their tables: emptied tables are filled from position 0.
FORGET_POSITIONS = (
    "DELETE FROM projection_tracking WHERE projection_name IN "
    "('appointments', 'appointments__rebuild', 'feedback', 'feedback__rebuild')"
)


def upgrade() -> None:
    """Create the day list's table (forced row-level security, the reader's and projector's
    grants) and the feedback link; both projections start again from position 0."""
    create_tenant_tables(appointments)
    op.add_column("feedback", Column("appointment_id", Uuid))
    op.execute("DELETE FROM feedback")
    op.execute(FORGET_POSITIONS)


def downgrade() -> None:
    """Drop the table, the link, and both positions."""
    drop_tables(appointments)
    op.drop_column("feedback", "appointment_id")
    op.execute("DELETE FROM feedback")
    op.execute(FORGET_POSITIONS)
