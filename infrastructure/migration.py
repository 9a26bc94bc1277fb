"""The schema of a deployment: the event store's tables, the Alembic migrations (write-side
tables and read models), the runtime role's grants and row-level security."""

from __future__ import annotations

from pathlib import Path

import psycopg
import structlog
from alembic import command
from alembic.config import Config

from application.app import SmartQueue
from infrastructure.postgres.database import event_store_env, resolve_database_url
from infrastructure.postgres.roles import (
    apply_privileges,
    may_migrate,
    prepare_roles,
    resolve_migration_url,
)
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.settings import Settings

log = structlog.get_logger(__name__)

MIGRATION_LOCK = 7_301_001  # advisory lock id: one migrator at a time


def migrate(settings: Settings) -> str:
    """Create every table (the event store's, then by Alembic the write-side tables and the
    read models) once, under an advisory lock, as the migration role; then set up the runtime
    role's grants and row-level security. Returns the runtime's URL.

    Run by a login that may not create anything (the runtime's own, when no migration URL is
    given), it does nothing: the schema is the migration role's business."""
    database_url = resolve_database_url(settings)
    owner_url = resolve_migration_url(settings)
    with psycopg.connect(owner_url, autocommit=True) as connection:
        if not may_migrate(connection):
            log.info(
                "schema left alone: this login may not create objects", role=connection.info.user
            )
            return database_url
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            runtime = prepare_roles(connection, database_url)
            app = SmartQueue(env=event_store_env(owner_url, settings, create_tables=True))
            event_tables = _event_tables(app)
            app.close()
            upgrade_read_models(owner_url)
            apply_privileges(connection, runtime, event_tables)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return database_url


def _event_tables(app: SmartQueue) -> list[str]:
    recorders = [app.recorder, getattr(app.snapshots, "recorder", None)]
    return [name for r in recorders if (name := getattr(r, "events_table_name", None))]


MIGRATIONS = Path(__file__).parent / "postgres" / "migrations"


def upgrade_read_models(database_url: str) -> None:
    """Apply the Alembic migrations: the read models and the write-side tables (idempotent:
    Alembic tracks its head)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy_engine(database_url, pool_size=1)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
