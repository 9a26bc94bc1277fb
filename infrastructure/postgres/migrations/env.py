"""Alembic environment: runs on the connection ``migrate()`` passes, else on our settings' URL."""

from __future__ import annotations

import psycopg
from alembic import context
from sqlalchemy import create_engine

from infrastructure.postgres.tables import metadata


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate on the caller's connection (under its advisory lock) or a fresh one."""
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    from infrastructure.postgres.roles import resolve_migration_url
    from infrastructure.settings import current_settings

    url = resolve_migration_url(current_settings())
    engine = create_engine("postgresql+psycopg://", creator=lambda: psycopg.connect(url))
    with engine.connect() as fresh:
        _run(fresh)
    engine.dispose()


run_migrations_online()
