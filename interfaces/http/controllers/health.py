"""Liveness and readiness."""

from __future__ import annotations

from litestar import Controller, Request, Response, get

from infrastructure.container import Container
from infrastructure.projection_runner import read_models
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
        """PostgreSQL and Redis answer (503 otherwise); how far each read model trails the log."""
        container = container_of(request)
        checks, lag = {}, None
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
        return Response(
            Health(status="ok" if ready else "unavailable", checks=checks, projection_lag=lag),
            status_code=200 if ready else 503,
        )


def projection_lag(container: Container) -> dict[str, int]:
    """Events each read model has still to apply (an upper bound: the log has gaps)."""
    store = container.consistency.store
    head = store.head()
    return {name: max(0, head - at) for name, at in store.positions(sorted(read_models())).items()}
