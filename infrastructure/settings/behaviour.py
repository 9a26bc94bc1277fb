"""Settings of how SmartQueue behaves: idempotency, reads, statistics, devices, live updates,
abuse limits, proxies, ETAs and the supervision of the roles' threads."""

from __future__ import annotations

from dataclasses import dataclass

from infrastructure.settings.variables import (
    FLAG,
    NETWORKS,
    RATE,
    Count,
    Interval,
    Positive,
    Seconds,
    env,
    flag,
    networks,
    rate,
)


@dataclass(frozen=True)
class IdempotencySettings:
    """Idempotency-Key handling of command endpoints."""

    wait_seconds: Seconds = env("SMARTQUEUE_IDEMPOTENCY_WAIT_SECONDS", 5.0)
    """SMARTQUEUE_IDEMPOTENCY_WAIT_SECONDS: how long a duplicate waits for the first request
    with its key to finish before answering 409 (default 5)."""
    lease_seconds: Interval = env("SMARTQUEUE_IDEMPOTENCY_LEASE_SECONDS", 60.0)
    """SMARTQUEUE_IDEMPOTENCY_LEASE_SECONDS: after this, a key whose request never finished (its
    process died) can be taken again (default 60)."""
    ttl_seconds: Interval = env("SMARTQUEUE_IDEMPOTENCY_TTL_SECONDS", 24 * 3600.0)
    """SMARTQUEUE_IDEMPOTENCY_TTL_SECONDS: how long a key is remembered (default 24 hours)."""


@dataclass(frozen=True)
class ReadSettings:
    """Queries of read models."""

    max_wait_seconds: Seconds = env("SMARTQUEUE_READ_WAIT_SECONDS", 3.0)
    """SMARTQUEUE_READ_WAIT_SECONDS: how long a query given ``min_position`` waits for the read
    models to reach it before answering 503 (default 3)."""


@dataclass(frozen=True)
class StatsSettings:
    """How the queue statistics count SLA compliance. The rule is applied when events are
    projected, so changing it takes effect for past days only after
    ``smartqueue projections rebuild queue_stats``."""

    sla_count_abandoned: bool = env("SMARTQUEUE_SLA_COUNT_ABANDONED", True, parse=flag, form=FLAG)
    """SMARTQUEUE_SLA_COUNT_ABANDONED: a ticket cancelled while waiting longer than its target
    counts as an SLA miss (default true)."""
    sla_count_no_show: bool = env("SMARTQUEUE_SLA_COUNT_NO_SHOW", True, parse=flag, form=FLAG)
    """SMARTQUEUE_SLA_COUNT_NO_SHOW: a no-show counts by its call time like any called ticket;
    false leaves no-shows out of SLA compliance altogether (default true)."""


@dataclass(frozen=True)
class DeviceSettings:
    """Displays and kiosks, and the ``worker`` role that notices when they go silent."""

    presence_ttl_seconds: Interval = env("SMARTQUEUE_DEVICE_PRESENCE_SECONDS", 60.0)
    """SMARTQUEUE_DEVICE_PRESENCE_SECONDS: a device counts as online this long after its last
    ping (default 60; devices should ping at least twice as often)."""
    sweep_interval_seconds: Interval = env("SMARTQUEUE_WORKER_INTERVAL_SECONDS", 5.0)
    """SMARTQUEUE_WORKER_INTERVAL_SECONDS: how often the worker looks for devices whose pings
    expired and records them offline (default 5)."""


@dataclass(frozen=True)
class LiveSettings:
    """Live updates: the display gateway and the WebSockets of the API."""

    socket_ticket_seconds: Positive = env("SMARTQUEUE_WS_TICKET_SECONDS", 30)
    """SMARTQUEUE_WS_TICKET_SECONDS: how long a WebSocket ticket stays usable (default 30)."""
    token_check_seconds: Interval = env("SMARTQUEUE_WS_TOKEN_CHECK_SECONDS", 30.0)
    """SMARTQUEUE_WS_TOKEN_CHECK_SECONDS: how often an open socket checks that the token it was
    opened with is still valid; expired or revoked closes it with 4401 (default 30)."""
    socket_backlog: Positive = env("SMARTQUEUE_WS_BACKLOG", 1000)
    """SMARTQUEUE_WS_BACKLOG: changes held for a socket whose client reads slowly; beyond that it
    is closed with 4408 and reconnects for a fresh snapshot (default 1000)."""
    gateway_group: str = env("SMARTQUEUE_GATEWAY_GROUP", "smartqueue-display-gateway")
    """SMARTQUEUE_GATEWAY_GROUP: the display gateway's Kafka consumer group."""
    max_sockets_per_token: Count = env("SMARTQUEUE_WS_MAX_PER_TOKEN", 20)
    """SMARTQUEUE_WS_MAX_PER_TOKEN: WebSockets one access token may hold open at once, across
    every API process; the next is closed with 4429 (default 20; 0 for no limit)."""


@dataclass(frozen=True)
class LimitSettings:
    """Abuse limits: request rates (counted in Redis, shared by every API process; each a
    ``limits`` rate such as ``30/minute``) and the length of a queue's waiting line."""

    api_per_access: str = env("SMARTQUEUE_API_LIMIT_TOKEN", "600/minute", parse=rate, form=RATE)
    """SMARTQUEUE_API_LIMIT_TOKEN: requests one access token may make (default
    ``600/minute``)."""
    kiosk_per_device: str = env("SMARTQUEUE_KIOSK_LIMIT_DEVICE", "30/minute", parse=rate, form=RATE)
    """SMARTQUEUE_KIOSK_LIMIT_DEVICE: tickets one kiosk (device token) may issue (default
    ``30/minute``)."""
    kiosk_per_queue: str = env("SMARTQUEUE_KIOSK_LIMIT_QUEUE", "120/minute", parse=rate, form=RATE)
    """SMARTQUEUE_KIOSK_LIMIT_QUEUE: tickets all kiosks together may issue into one queue
    (default ``120/minute``); staff issues are not counted."""
    queue_max_waiting: Count = env("SMARTQUEUE_QUEUE_MAX_WAITING", 500)
    """SMARTQUEUE_QUEUE_MAX_WAITING: tickets that may wait in one queue; issuing into a full
    queue answers 409 ``queue_full`` (default 500; 0 means no cap). Staff transfers may exceed
    it."""


@dataclass(frozen=True)
class PublicSettings:
    """The customer's own pages: remote join and "my ticket" (no staff token)."""

    requests_per_address: str = env(
        "SMARTQUEUE_PUBLIC_LIMIT_ADDRESS", "300/minute", parse=rate, form=RATE
    )
    """SMARTQUEUE_PUBLIC_LIMIT_ADDRESS: public API requests (join pages, "my ticket" polls and
    actions) one client address may make (default ``300/minute``: a whole office behind one
    address following its tickets)."""
    joins_per_address: str = env(
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS", "10/hour", parse=rate, form=RATE
    )
    """SMARTQUEUE_PUBLIC_JOIN_LIMIT_ADDRESS: tickets one client address may take remotely
    (default ``10/hour``)."""
    joins_per_phone: str = env(
        "SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE", "3/hour", parse=rate, form=RATE
    )
    """SMARTQUEUE_PUBLIC_JOIN_LIMIT_PHONE: tickets taken remotely with one phone number
    (default ``3/hour``); remote joins also count against the queue's kiosk limit."""
    codes_per_address: str = env(
        "SMARTQUEUE_PUBLIC_CODE_LIMIT_ADDRESS", "10/hour", parse=rate, form=RATE
    )
    """SMARTQUEUE_PUBLIC_CODE_LIMIT_ADDRESS: one-time join codes one client address may ask
    for (default ``10/hour``), where the tenant requires them."""
    codes_per_phone: str = env(
        "SMARTQUEUE_PUBLIC_CODE_LIMIT_PHONE", "3/hour", parse=rate, form=RATE
    )
    """SMARTQUEUE_PUBLIC_CODE_LIMIT_PHONE: one-time join codes sent to one phone number
    (default ``3/hour``; Redis keeps only a digest of the number)."""
    join_code_ttl_seconds: Positive = env("SMARTQUEUE_PUBLIC_JOIN_CODE_TTL_SECONDS", 600)
    """SMARTQUEUE_PUBLIC_JOIN_CODE_TTL_SECONDS: how long a one-time join code is good for
    (default 600: ten minutes)."""
    base_url: str = env("SMARTQUEUE_PUBLIC_BASE_URL", "")
    """SMARTQUEUE_PUBLIC_BASE_URL: the address customers reach the pages at
    (``https://queue.example.com``), printed in join-page QR codes; empty (the default) uses
    the address the staff member's request came to."""
    more_time_places: Positive = env("SMARTQUEUE_MORE_TIME_PLACES", 3)
    """SMARTQUEUE_MORE_TIME_PLACES: places a waiting ticket moves back when its customer asks
    for more time, once per ticket (default 3)."""


@dataclass(frozen=True)
class ProxySettings:
    """Which reverse proxies may name the client's address."""

    trusted: tuple[str, ...] = env("SMARTQUEUE_TRUSTED_PROXIES", (), parse=networks, form=NETWORKS)
    """SMARTQUEUE_TRUSTED_PROXIES: comma-separated addresses or CIDR networks of the proxies
    whose ``X-Forwarded-For``/``X-Forwarded-Proto`` are believed (``*`` for any peer). Empty
    (the default) believes no forwarding header: the client is the TCP peer."""


@dataclass(frozen=True)
class EtaSettings:
    """How the ETA of waiting tickets is estimated."""

    serving_window_seconds: Seconds = env("SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS", 900.0)
    """SMARTQUEUE_ETA_SERVING_WINDOW_SECONDS: an agent on duty who called or finished a ticket of
    a queue this recently counts as serving it, assigned to it or not (default 900, 15 minutes)."""


@dataclass(frozen=True)
class SupervisionSettings:
    """The roles' worker threads, poison events and the status probes."""

    projection_max_attempts: Positive = env("SMARTQUEUE_PROJECTION_MAX_ATTEMPTS", 3)
    """SMARTQUEUE_PROJECTION_MAX_ATTEMPTS: a projection that fails this many times in a row on
    the same event records it as a dead letter and goes on without it (default 3)."""
    max_restarts: Count = env("SMARTQUEUE_MAX_THREAD_RESTARTS", 5)
    """SMARTQUEUE_MAX_THREAD_RESTARTS: a role's thread that dies this many times in a row (with
    back-off) makes the process exit non-zero, for its supervisor to restart it (default 5)."""
    silent_seconds: Interval = env("SMARTQUEUE_ROLE_SILENT_SECONDS", 30.0)
    """SMARTQUEUE_ROLE_SILENT_SECONDS: a projection or the relay that has neither moved nor
    checked in for this long is silent (dead, or not running) (default 30)."""
    max_lag: Count = env("SMARTQUEUE_MAX_LAG", 1000)
    """SMARTQUEUE_MAX_LAG: events a projection or the relay may trail the log before the status
    probes fail (default 1000)."""
