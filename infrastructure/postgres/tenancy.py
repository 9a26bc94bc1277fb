"""Row-level security from the application's side: scoping a transaction to one tenant.

Every tenant table has a forced RLS policy on ``app.tenant_id`` (see
:mod:`infrastructure.postgres.roles`).
Writers (psycopg) call :func:`set_tenant` in their transaction; readers (SQLAlchemy) open
:func:`tenant_transaction`, which also drops to the reader role.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import Connection, Engine, text

from infrastructure.postgres.row_security import READER_ROLE, TENANT_SETTING


def set_tenant(connection: psycopg.Connection[Any] | psycopg.Cursor[Any], tenant_id: UUID) -> None:
    """Scope the open transaction to ``tenant_id``: row-level security shows and accepts only
    its rows, until the transaction ends (``set_config(..., true)``), so a pooled connection
    never carries it to its next user."""
    connection.execute("SELECT set_config(%s, %s, true)", (TENANT_SETTING, str(tenant_id)))


@contextmanager
def tenant_transaction(
    engine: Engine, tenant_id: UUID, repeatable: bool = False
) -> Iterator[Connection]:
    """A read transaction that sees only ``tenant_id``'s rows.

    The role and the tenant are both transaction-local (``SET LOCAL``, ``set_config(..., true)``):
    they end with the transaction, so a pooled connection never carries them to the next caller.
    The role neither owns the tables nor bypasses RLS, so the policy always applies, whichever
    login the pool uses (the runtime login, or an owner where one login does everything).
    """
    with engine.connect() as connection, _begin(connection, repeatable):
        connection.execute(text(f"SET LOCAL ROLE {READER_ROLE}"))
        connection.execute(
            text("SELECT set_config(:name, :tenant, true)"),
            {"name": TENANT_SETTING, "tenant": str(tenant_id)},
        )
        yield connection


def _begin(connection: Connection, repeatable: bool) -> Any:
    if repeatable:
        connection.execution_options(isolation_level="REPEATABLE READ")
    return connection.begin()
