"""Builds a process's objects from settings: the one place that wires infrastructure to ports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import psycopg
import redis
from psycopg_pool import ConnectionPool

from application.app import SmartQueue
from application.idempotency import IdempotencyStore, KeyPolicy
from application.identity import Identity
from infrastructure.customer_store import SCHEMA as CUSTOMER_SCHEMA
from infrastructure.customer_store import PostgresCustomerProfiles
from infrastructure.database import event_store_env, open_pool, resolve_database_url
from infrastructure.idempotency_store import SCHEMA as IDEMPOTENCY_SCHEMA
from infrastructure.idempotency_store import PostgresIdempotencyStore
from infrastructure.identity_store import SCHEMA, Argon2Hasher, PostgresCredentialStore
from infrastructure.rate_limit import RedisLoginLimiter
from infrastructure.redis_server import connect_redis, resolve_redis_url
from infrastructure.settings import Settings
from infrastructure.tokens import JwtTokenService, load_signing_key

MIGRATION_LOCK = 7_301_001  # advisory lock id: one migrator at a time


@dataclass
class Container:
    """The long-lived objects of one process, closed together."""

    settings: Settings
    database_url: str
    app: SmartQueue
    pool: ConnectionPool
    redis_url: str
    redis: redis.Redis
    identity: Identity
    idempotency: IdempotencyStore
    closed: bool = field(default=False)

    def close(self) -> None:
        """Release every connection this process holds."""
        if not self.closed:
            self.closed = True
            self.app.close()
            self.pool.close()
            self.redis.close()


def build_container(settings: Settings) -> Container:
    """Connect to PostgreSQL and Redis (starting the embedded ones when no URL is set) and wire
    the application."""
    database_url = resolve_database_url(settings)
    redis_url = resolve_redis_url(settings)
    pool = open_pool(database_url, size=max(2, settings.database.pool_size // 2))
    app = SmartQueue(
        env=event_store_env(database_url, settings, create_tables=False),
        customer_profiles=PostgresCustomerProfiles(pool),
    )
    client = connect_redis(redis_url)
    auth = settings.auth
    identity = Identity(
        app=app,
        credentials=PostgresCredentialStore(pool),
        tokens=JwtTokenService(
            client,
            key=load_signing_key(auth.jwt_secret, settings.home),
            issuer=auth.issuer,
            audience=auth.audience,
            access_ttl_seconds=auth.token_ttl_seconds,
            refresh_ttl_seconds=auth.refresh_ttl_seconds,
        ),
        hasher=Argon2Hasher(),
        limiter=RedisLoginLimiter(
            redis_url, auth.login_attempts_per_account, auth.login_attempts_per_address
        ),
    )
    policy = KeyPolicy(
        ttl=timedelta(seconds=settings.idempotency.ttl_seconds),
        lease=timedelta(seconds=settings.idempotency.lease_seconds),
    )
    idempotency = PostgresIdempotencyStore(pool, policy)
    return Container(settings, database_url, app, pool, redis_url, client, identity, idempotency)


def migrate(settings: Settings) -> str:
    """Create every table (event store, identity, customers, idempotency keys) once, under an
    advisory lock."""
    database_url = resolve_database_url(settings)
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
        try:
            SmartQueue(env=event_store_env(database_url, settings, create_tables=True)).close()
            connection.execute(SCHEMA)
            connection.execute(CUSTOMER_SCHEMA)
            connection.execute(IDEMPOTENCY_SCHEMA)
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    return database_url
