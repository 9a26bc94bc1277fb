"""Write-side tables: credentials, customer profiles, idempotency keys, device credentials.

Revision ID: 0007

Until this revision ``migrate`` ran these statements on every start, outside Alembic. They are
plain DDL, frozen here as they were, rather than SQLAlchemy ``Table`` objects: the stores write
these tables with psycopg statements, not SQLAlchemy, so a ``Table`` would be a second definition
used by nothing else; the functional and partial indexes, the ``CHECK`` and the ``jsonb`` default
read as they run; and a revision must not change when a store's code does later (0004 built its
table from the live definition, which 0005 then had to tolerate). A later change to one of these
tables is a new revision.

Every statement is ``IF NOT EXISTS``: databases made before this revision already have the
tables (made by those statements), and upgrading them must keep their rows. Grants, forced
row-level security and the functions that read these tables are applied by
``infrastructure/postgres/roles.py`` after the migrations, as for every other table.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WRITE_SIDE_TABLES = (
    "identity_credentials",
    "customer_profiles",
    "idempotency_keys",
    "device_credentials",
)

UPGRADE = (
    """
    CREATE TABLE IF NOT EXISTS identity_credentials (
        user_id       uuid PRIMARY KEY,
        tenant_id     uuid NOT NULL,
        email         text NOT NULL,
        password_hash text NOT NULL,
        active        boolean NOT NULL DEFAULT true,
        created_at    timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE UNIQUE INDEX IF NOT EXISTS identity_credentials_email"
    " ON identity_credentials (lower(email))",
    # Opaque tokens were replaced by signed JWTs with a Redis denylist.
    "DROP TABLE IF EXISTS identity_tokens",
    """
    CREATE TABLE IF NOT EXISTS customer_profiles (
        tenant_id   uuid NOT NULL,
        customer_id uuid NOT NULL,
        name        text NOT NULL,
        phone_e164  text,
        email       text,
        metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
        created_at  timestamptz NOT NULL,
        PRIMARY KEY (tenant_id, customer_id)
    )
    """,
    "CREATE INDEX IF NOT EXISTS customer_profiles_order"
    " ON customer_profiles (tenant_id, created_at, customer_id)",
    "CREATE INDEX IF NOT EXISTS customer_profiles_phone"
    " ON customer_profiles (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL",
    """
    CREATE TABLE IF NOT EXISTS idempotency_keys (
        tenant_id           uuid NOT NULL,
        key                 text NOT NULL,
        request_fingerprint text NOT NULL,
        state               text NOT NULL CHECK (state IN ('in_flight', 'completed')),
        claim_id            uuid NOT NULL,
        response_status     smallint,
        response_headers    jsonb,
        response_body       bytea,
        created_at          timestamptz NOT NULL,
        locked_until        timestamptz,
        PRIMARY KEY (tenant_id, key)
    )
    """,
    "CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at)",
    # Set in the transaction of the command's events (a side write): the command took effect.
    # Databases made before this column existed lack it: existing keys read as not applied.
    "ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS applied boolean NOT NULL DEFAULT false",
    """
    CREATE TABLE IF NOT EXISTS device_credentials (
        device_id   uuid PRIMARY KEY,
        tenant_id   uuid NOT NULL,
        secret_hash text NOT NULL,
        active      boolean NOT NULL DEFAULT true,
        created_at  timestamptz NOT NULL DEFAULT now()
    )
    """,
)


def upgrade() -> None:
    """Create the write-side tables and their indexes where they are missing; keep any rows."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop the write-side tables, with their rows (every credential, profile, key and device
    secret), their indexes and their policies. ``identity_tokens`` is not brought back."""
    for table in reversed(WRITE_SIDE_TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
