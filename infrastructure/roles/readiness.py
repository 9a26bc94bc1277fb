"""The readiness probe of an API process: PostgreSQL, Redis, and with a Kafka broker the relay
and the display gateways; how far each read model and role trails the log."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import redis
from psycopg_pool import ConnectionPool
from sqlalchemy import Engine

from application.consistency import ProjectionPositions
from application.readiness import Readiness
from infrastructure.following.runner import read_models
from infrastructure.kafka.client import broker_reachable
from infrastructure.kafka.gateway_status import last_heartbeat
from infrastructure.kafka.relay import RELAY_NAME, relay_lag
from infrastructure.roles.health import RoleHealth, roles_health
from infrastructure.settings import Settings


@dataclass
class ProcessReadiness:
    """The ``ReadinessProbe`` over this process's connections."""

    settings: Settings
    pool: ConnectionPool
    redis: redis.Redis
    read_engine: Engine
    recorder: Any
    positions: ProjectionPositions

    def check(self) -> Readiness:
        """Check every store and role now (see ``GET /api/v1/health/ready``)."""
        checks: dict[str, str] = {}
        lag, relay = None, None
        roles: dict[str, str] | None = None
        letters: dict[str, int] | None = None
        try:
            with self.pool.connection(timeout=2) as connection:
                connection.execute("SELECT 1")
            checks["postgresql"] = "ok"
            lag = self.projection_lag()
            health = self.role_health()
            roles = {row.name: row.problem or "ok" for row in health}
            letters = {row.name: row.dead_letters for row in health if row.dead_letters}
        except Exception as exc:
            checks["postgresql"] = f"unavailable: {type(exc).__name__}"
        try:
            self.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
        bootstrap = self.settings.kafka.bootstrap_servers
        if bootstrap:
            checks["kafka"] = broker_reachable(bootstrap)
            checks["display_gateway"] = self.gateway_heartbeat()
            with contextlib.suppress(Exception):  # PostgreSQL down: already reported above
                relay = relay_lag(self.read_engine, self.recorder).behind
        return Readiness(checks, lag, relay, roles, letters)

    def projection_lag(self) -> dict[str, int]:
        """Events each read model has still to apply (an upper bound: the log has gaps)."""
        head = self.positions.head()
        positions = self.positions.positions(sorted(read_models()))
        return {name: max(0, head - at) for name, at in positions.items()}

    def role_health(self) -> list[RoleHealth]:
        """Each projection's health, and the relay's when a Kafka broker is configured."""
        names = sorted(read_models())
        if self.settings.kafka.bootstrap_servers:
            names.append(RELAY_NAME)
        return roles_health(self.read_engine, self.recorder, names, self.settings.supervision)

    def gateway_heartbeat(self) -> str:
        """``ok`` when a display gateway of the configured group beat within three intervals."""
        try:
            beat = last_heartbeat(self.redis, self.settings.live.gateway_group)
        except Exception as exc:  # Redis down: reported by its own check
            return f"unknown: {type(exc).__name__}"
        return "ok" if beat is not None else "silent"
