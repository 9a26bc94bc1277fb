"""Builds a process's objects from settings: the one place that wires infrastructure to ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
from psycopg_pool import ConnectionPool

from application.app import SmartQueue
from application.idempotency import IdempotencyStore, KeyPolicy
from application.identity import Identity
from infrastructure.database import event_store_env, open_pool, resolve_database_url
from infrastructure.idempotency_store import SCHEMA as IDEMPOTENCY_SCHEMA
from infrastructure.idempotency_store import PostgresIdempotencyStore
from infrastructure.identity_store import (
    SCHEMA,
    Argon2Hasher,
    PostgresCredentialStore,
    PostgresTokenStore,
)
from infrastructure.settings import Settings

MIGRATION_LOCK = 7_301_001  # advisory lock id: one migrator at a time


@dataclass
class Container:
    """The long-lived objects of one process, closed together."""

    settings: Settings
    database_url: str
    app: SmartQueue
    pool: ConnectionPool
    identity: Identity
    idempotency: IdempotencyStore
    closed: bool = field(default=False)

    def close(self) -> None:
        """Release every connection this process holds."""
        if not self.closed:
            self.closed = True
            self.app.close()
            self.pool.close()


def build_container(settings: Settings) -> Container:
    """Connect to the database (starting the embedded one if no URL is set) and wire the app."""
    database_url = resolve_database_url(settings)
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False))
    pool = open_pool(database_url, size=max(2, settings.database.pool_size // 2))
    identity = Identity(
        app=app,
        credentials=PostgresCredentialStore(pool),
        tokens=PostgresTokenStore(pool),
        hasher=Argon2Hasher(),
        token_ttl_seconds=settings.auth.token_ttl_seconds,
    )
    policy = KeyPolicy(
        ttl=timedelta(seconds=settings.idempotency.ttl_seconds),
        lease=timedelta(seconds=settings.idempotency.lease_seconds),
    )
    idempotency = PostgresIdempotencyStore(pool, policy)
    return Container(settings, database_url, app, pool, identity, idempotency)


def migrate(settings: Settings) -> str:
    """Create every table (event store, identity, idempotency keys) once, under an advisory lock."""
    database_url = resolve_database_url(settings)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            SmartQueue(env=event_store_env(database_url, settings, create_tables=True)).close()
            connection.execute(SCHEMA)
            connection.execute(IDEMPOTENCY_SCHEMA)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return database_url
