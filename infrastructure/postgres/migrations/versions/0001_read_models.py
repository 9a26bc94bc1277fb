"""Read models: projection tracking and the audit log, with tenant row-level security.

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op

from infrastructure.postgres.row_security import READER_ROLE, secure_statements
from infrastructure.postgres.tables import audit_log, projection_tracking

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the tables, the reader role (cluster-wide, so created if missing) and RLS."""
    # Roles are shared by every database of the server, so another database's migration may
    # create it at the same moment: both outcomes are fine.
    op.execute(
        f"""
        DO $$ BEGIN
            CREATE ROLE {READER_ROLE} NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$
        """
    )
    # The API connects as the migrating user and switches to the reader per transaction
    # (SET LOCAL ROLE), which needs membership; superusers have it implicitly.
    op.execute(
        """
        DO $$ BEGIN
            IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
                EXECUTE format('GRANT %I TO %I', 'READER', current_user);
            END IF;
        END $$
        """.replace("READER", READER_ROLE)
    )
    op.execute(f"GRANT USAGE ON SCHEMA public TO {READER_ROLE}")
    bind = op.get_bind()
    projection_tracking.create(bind)
    audit_log.create(bind)
    # The tables this revision creates, not TENANT_TABLES: that list grows with later revisions.
    for table in ("audit_log",):
        for statement in secure_statements(table):
            op.execute(statement)


def downgrade() -> None:
    """Drop the read models (the role stays: other databases may use it)."""
    audit_log.drop(op.get_bind())
    projection_tracking.drop(op.get_bind())
