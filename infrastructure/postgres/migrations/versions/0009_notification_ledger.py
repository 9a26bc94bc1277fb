"""The notification ledger: one row per customer message, its delivery state and attempts.

Revision ID: 0009

A write-side table (``roles.WRITE_SIDE_TABLES``): the runtime reads and writes it for the
transaction's tenant only, under forced row-level security applied after the migrations. The
primary key is the message id (``domain.delivery.message_id``), so recording a message twice
(a redelivered Kafka record) adds nothing. ``recipient`` and ``body`` are null once the customer
is erased. Plain DDL, as 0007, because the ledger writes with psycopg statements.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UPGRADE = (
    """
    CREATE TABLE IF NOT EXISTS notification_ledger (
        message_id    uuid PRIMARY KEY,
        tenant_id     uuid NOT NULL,
        ticket_id     uuid,
        customer_id   uuid,
        kind          text NOT NULL,
        channel       text NOT NULL,
        recipient     text,
        language      text NOT NULL,
        body          jsonb,
        status        text NOT NULL CHECK
                      (status IN ('queued', 'sent', 'delivered', 'failed', 'dead')),
        attempts      integer NOT NULL DEFAULT 0,
        attempt_limit integer NOT NULL,
        provider_id   text,
        error         text,
        erased        boolean NOT NULL DEFAULT false,
        created_at    timestamptz NOT NULL,
        sent_at       timestamptz,
        delivered_at  timestamptz,
        updated_at    timestamptz NOT NULL
    )
    """,
    # The staff list: newest first per tenant, and its filters.
    "CREATE INDEX IF NOT EXISTS notification_ledger_order"
    " ON notification_ledger (tenant_id, created_at DESC, message_id DESC)",
    "CREATE INDEX IF NOT EXISTS notification_ledger_ticket"
    " ON notification_ledger (tenant_id, ticket_id) WHERE ticket_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS notification_ledger_customer"
    " ON notification_ledger (tenant_id, customer_id) WHERE customer_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS notification_ledger_dead"
    " ON notification_ledger (updated_at) WHERE status = 'dead'",
)


def upgrade() -> None:
    """Create the ledger and its indexes."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the ledger with every row (the delivery history of every message)."""
    op.execute("DROP TABLE IF EXISTS notification_ledger")
