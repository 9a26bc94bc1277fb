"""Outbound webhooks: each tenant's subscriptions and the log of their deliveries.

Revision ID: 0011

Two write-side tables (``roles.WRITE_SIDE_TABLES``), under forced row-level security applied
after the migrations: the secret is stored as the tenant gave it (it signs every request), so
no other role reads it. A delivery's id derives from (event id, subscription id), so the same
event read twice (a redelivered Kafka record) adds nothing; its ``payload`` is the published
envelope, which carries no personal data.
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

UPGRADE = (
    """
    CREATE TABLE IF NOT EXISTS webhook_subscriptions (
        subscription_id uuid PRIMARY KEY,
        tenant_id       uuid NOT NULL,
        url             text NOT NULL,
        event_types     text[] NOT NULL,
        secret          text NOT NULL,
        active          boolean NOT NULL DEFAULT true,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS webhook_subscriptions_tenant"
    " ON webhook_subscriptions (tenant_id, created_at, subscription_id)",
    """
    CREATE TABLE IF NOT EXISTS webhook_deliveries (
        delivery_id     uuid PRIMARY KEY,
        tenant_id       uuid NOT NULL,
        subscription_id uuid NOT NULL
                        REFERENCES webhook_subscriptions (subscription_id) ON DELETE CASCADE,
        event_id        text NOT NULL,
        event_type      text NOT NULL,
        payload         jsonb NOT NULL,
        status          text NOT NULL CHECK
                        (status IN ('queued', 'delivered', 'failed', 'dead')),
        attempts        integer NOT NULL DEFAULT 0,
        attempt_limit   integer NOT NULL,
        response_code   integer,
        error           text,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        delivered_at    timestamptz
    )
    """,
    "CREATE INDEX IF NOT EXISTS webhook_deliveries_log"
    " ON webhook_deliveries (tenant_id, subscription_id, created_at DESC, delivery_id DESC)",
    # Twilio's status callbacks find their message by the provider's id (MessageSid).
    "CREATE INDEX IF NOT EXISTS notification_ledger_provider"
    " ON notification_ledger (provider_id) WHERE provider_id IS NOT NULL",
)


def upgrade() -> None:
    """Create the subscriptions, the delivery log and their indexes."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the delivery log and the subscriptions (their secrets with them)."""
    op.execute("DROP INDEX IF EXISTS notification_ledger_provider")
    op.execute("DROP TABLE IF EXISTS webhook_deliveries")
    op.execute("DROP TABLE IF EXISTS webhook_subscriptions")
