"""A tenant's notification set-up: its own message templates and its notification settings.

Revision ID: 0010

Two write-side tables (``roles.WRITE_SIDE_TABLES``), read and written by the runtime for the
transaction's tenant only, under forced row-level security applied after the migrations.
``notification_templates`` holds one row per kind, channel and language the tenant overrides
(the id derives from them); ``notification_settings`` one row per tenant that saved its
settings. Plain DDL, as 0007 and 0009, because the store writes with psycopg statements.
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

UPGRADE = (
    """
    CREATE TABLE IF NOT EXISTS notification_templates (
        template_id uuid PRIMARY KEY,
        tenant_id   uuid NOT NULL,
        kind        text NOT NULL,
        channel     text NOT NULL,
        language    text NOT NULL,
        subject     text,
        text        text NOT NULL,
        html        text,
        created_at  timestamptz NOT NULL,
        updated_at  timestamptz NOT NULL,
        UNIQUE (tenant_id, kind, channel, language)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS notification_settings (
        tenant_id             uuid PRIMARY KEY,
        kinds                 jsonb NOT NULL,
        turn_near_position    integer,
        turn_near_eta_minutes integer,
        updated_at            timestamptz NOT NULL
    )
    """,
)


def upgrade() -> None:
    """Create the templates and settings tables."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop both tables: every tenant is back to the built-in templates and default settings."""
    op.execute("DROP TABLE IF EXISTS notification_settings")
    op.execute("DROP TABLE IF EXISTS notification_templates")
