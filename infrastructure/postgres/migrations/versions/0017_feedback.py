"""Feedback: the staff's read model (``feedback``) and the comments, outside the events.

Revision ID: 0017

``feedback`` is a read model (the ``feedback`` projection fills it from position 0; frozen
definition here, as 0008) with one row per feedback: the scores, never the comment.

A write-side table (``roles.WRITE_SIDE_TABLES``) under forced row-level security applied after
the migrations, one row per feedback that came with a comment; erasing the customer deletes
their rows (the scores stay in the events). Plain DDL, as 0010, because the store writes with
psycopg statements.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import ARRAY

from infrastructure.postgres.migrations import create_tenant_tables, drop_tables

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

frozen = MetaData()

feedback = Table(
    "feedback",
    frozen,
    Column("feedback_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("ticket_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("agent_id", Uuid),
    Column("csat", Integer),
    Column("nps", Integer),
    Column("tags", ARRAY(Text), nullable=False),
    Column("has_comment", Boolean, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Index(
        "feedback_tenant_id_submitted_at_feedback_id_idx",
        "tenant_id",
        "submitted_at",
        "feedback_id",
    ),
)
FORGET_POSITION = (
    "DELETE FROM projection_tracking WHERE projection_name IN ('feedback', 'feedback__rebuild')"
)


def upgrade() -> None:
    """Create the read model (forced row-level security, the reader's and projector's grants),
    the comments table and its index by customer (for erasure)."""
    create_tenant_tables(feedback)
    op.execute(FORGET_POSITION)
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS feedback_comments (
            tenant_id   uuid NOT NULL,
            feedback_id uuid NOT NULL,
            customer_id uuid,
            comment     text NOT NULL CHECK (char_length(comment) <= 1000),
            created_at  timestamptz NOT NULL,
            PRIMARY KEY (tenant_id, feedback_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS feedback_comments_customer_idx"
        " ON feedback_comments (tenant_id, customer_id)"
    )


def downgrade() -> None:
    """Drop the tables, every comment with them, and the read model's position."""
    op.execute("DROP TABLE IF EXISTS feedback_comments")
    drop_tables(feedback)
    op.execute(FORGET_POSITION)
