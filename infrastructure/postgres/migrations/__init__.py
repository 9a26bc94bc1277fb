"""Alembic migrations of the read-model tables and (from 0007) the write-side tables, and
what their revisions share."""

from __future__ import annotations

from alembic import op
from sqlalchemy import Table

from infrastructure.postgres.row_security import secure_statements


def create_tenant_tables(*tables: Table) -> None:
    """Create ``tables`` with their indexes, forced row-level security and the reader's grant."""
    bind = op.get_bind()
    for table in tables:
        table.create(bind)
        for statement in secure_statements(table.name):
            op.execute(statement)


def drop_tables(*tables: Table) -> None:
    """Drop ``tables``, last first (their policies and grants go with them)."""
    for table in reversed(tables):
        table.drop(op.get_bind())
