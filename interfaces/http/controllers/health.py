"""Liveness and readiness."""

from __future__ import annotations

import contextlib

from litestar import Controller, Request, Response, get

from infrastructure.container import Container
from infrastructure.following.runner import read_models
from infrastructure.kafka.client import broker_reachable
from infrastructure.kafka.gateway_status import last_heartbeat
from infrastructure.kafka.relay import RELAY_NAME, relay_lag
from infrastructure.roles.health import RoleHealth, roles_health
from interfaces.http.schemas import Health
from interfaces.http.security import container_of


class HealthController(Controller):
    """Probes for load balancers and orchestrators."""

    path = "/api/v1/health"
    tags = ["health"]

    @get("/", operation_id="liveness", security=[])
    async def liveness(self) -> Health:
        """The process is up and serving."""
        return Health(status="ok")

    @get("/ready", operation_id="readiness", security=[], sync_to_thread=True)
    def readiness(self, request: Request) -> Response[Health]:
        """PostgreSQL and Redis answer (503 otherwise); how far each read model trails the log.

        With a Kafka broker configured, also whether it is reachable, how far the relay trails
        the log and whether a display gateway beat lately (``silent``: live sockets get no
        changes); none makes the API unready: commands never wait for Kafka.

        ``roles`` says whether each projection (and the relay) is alive and keeping up, and
        ``dead_letters`` which events projections set aside: a silent, stalled or lagging role,
        a silent display gateway or a dead letter makes the status ``degraded``, still with 200
        (taking the API out of a load balancer would not help a role; the probes of the roles
        themselves are ``smartqueue projections status`` and ``smartqueue relay status``)."""
        container = container_of(request)
        checks, lag, relay = {}, None, None
        roles: dict[str, str] | None = None
        letters: dict[str, int] | None = None
        try:
            with container.pool.connection(timeout=2) as connection:
                connection.execute("SELECT 1")
            checks["postgresql"] = "ok"
            lag = projection_lag(container)
            health = role_health(container)
            roles = {row.name: row.problem or "ok" for row in health}
            letters = {row.name: row.dead_letters for row in health if row.dead_letters}
        except Exception as exc:
            checks["postgresql"] = f"unavailable: {type(exc).__name__}"
        try:
            container.redis.ping()
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        bootstrap = container.settings.kafka.bootstrap_servers
        if bootstrap:
            checks["kafka"] = broker_reachable(bootstrap)
            checks["display_gateway"] = gateway_heartbeat(container)
            with contextlib.suppress(Exception):  # PostgreSQL down: already reported above
                relay = relay_lag(container.read_engine, container.app.recorder).behind
        degraded = (
            bool(letters)
            or any(state != "ok" for state in (roles or {}).values())
            or checks.get("display_gateway", "ok") == "silent"
        )
        return Response(
            Health(
                status="unavailable" if not ready else "degraded" if degraded else "ok",
                checks=checks,
                projection_lag=lag,
                relay_lag=relay,
                roles=roles,
                dead_letters=letters,
            ),
            status_code=200 if ready else 503,
        )


def projection_lag(container: Container) -> dict[str, int]:
    """Events each read model has still to apply (an upper bound: the log has gaps)."""
    store = container.consistency.store
    head = store.head()
    return {name: max(0, head - at) for name, at in store.positions(sorted(read_models())).items()}


def role_health(container: Container) -> list[RoleHealth]:
    """Each projection's health, and the relay's when a Kafka broker is configured."""
    names = sorted(read_models())
    if container.settings.kafka.bootstrap_servers:
        names.append(RELAY_NAME)
    return roles_health(
        container.read_engine, container.app.recorder, names, container.settings.supervision
    )


def gateway_heartbeat(container: Container) -> str:
    """``ok`` when a display gateway of the configured group beat within three intervals."""
    try:
        beat = last_heartbeat(container.redis, container.settings.live.gateway_group)
    except Exception as exc:  # Redis down: reported by its own check
        return f"unknown: {type(exc).__name__}"
    return "ok" if beat is not None else "silent"
