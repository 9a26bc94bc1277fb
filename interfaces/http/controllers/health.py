"""Liveness and readiness."""

from __future__ import annotations

from litestar import Controller, Request, Response, get

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
        """PostgreSQL answers; 503 otherwise."""
        checks = {}
        try:
            with container_of(request).pool.connection(timeout=2) as connection:
                connection.execute("SELECT 1")
            checks["postgresql"] = "ok"
        except Exception as exc:
            checks["postgresql"] = f"unavailable: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return Response(
            Health(status="ok" if ready else "unavailable", checks=checks),
            status_code=200 if ready else 503,
        )
