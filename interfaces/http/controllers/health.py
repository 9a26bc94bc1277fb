"""Liveness and readiness."""

from __future__ import annotations

import contextlib

from litestar import Controller, Request, Response, get

from infrastructure.container import Container
from infrastructure.display_gateway import last_heartbeat
from infrastructure.projection_runner import read_models
from infrastructure.relay import broker_reachable, relay_lag
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
        changes); none makes the API unready: commands never wait for Kafka."""
        container = container_of(request)
        checks, lag, relay = {}, None, None
        try:
            with container.pool.connection(timeout=2) as connection:
                connection.execute("SELECT 1")
            checks["postgresql"] = "ok"
            lag = projection_lag(container)
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
        return Response(
            Health(
                status="ok" if ready else "unavailable",
                checks=checks,
                projection_lag=lag,
                relay_lag=relay,
            ),
            status_code=200 if ready else 503,
        )


def projection_lag(container: Container) -> dict[str, int]:
    """Events each read model has still to apply (an upper bound: the log has gaps)."""
    store = container.consistency.store
    head = store.head()
    return {name: max(0, head - at) for name, at in store.positions(sorted(read_models())).items()}


def gateway_heartbeat(container: Container) -> str:
    """``ok`` when a display gateway of the configured group beat within three intervals."""
    try:
        beat = last_heartbeat(container.redis, container.settings.live.gateway_group)
    except Exception as exc:  # Redis down: reported by its own check
        return f"unknown: {type(exc).__name__}"
    return "ok" if beat is not None else "silent"
