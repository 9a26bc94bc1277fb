"""Liveness and readiness."""

from __future__ import annotations

from litestar import Controller, Response, get

from application.readiness import ReadinessProbe
from interfaces.http.controllers.common import UseCase
from interfaces.http.schemas import Health


class HealthController(Controller):
    """Probes for load balancers and orchestrators."""

    path = "/api/v1/health"
    tags = ["health"]

    @get("/", operation_id="liveness", security=[])
    async def liveness(self) -> Health:
        """The process is up and serving."""
        return Health(status="ok")

    @get("/ready", operation_id="readiness", security=[], sync_to_thread=True)
    def readiness(self, probe: UseCase[ReadinessProbe]) -> Response[Health]:
        """PostgreSQL and Redis answer (503 otherwise); how far each read model trails the log.

        With a Kafka broker configured, also whether it is reachable, how far the relay trails
        the log and whether a display gateway beat lately (``silent``: live sockets get no
        changes); none makes the API unready: commands never wait for Kafka.

        ``roles`` says whether each projection (and the relay) is alive and keeping up, and
        ``dead_letters`` which events projections set aside: a silent, stalled or lagging role,
        a silent display gateway or a dead letter makes the status ``degraded``, still with 200
        (taking the API out of a load balancer would not help a role; the probes of the roles
        themselves are ``smartqueue projections status`` and ``smartqueue relay status``)."""
        found = probe.check()
        return Response(
            Health(
                status=found.status,
                checks=found.checks,
                projection_lag=found.projection_lag,
                relay_lag=found.relay_lag,
                roles=found.roles,
                dead_letters=found.dead_letters,
            ),
            status_code=200 if found.ready else 503,
        )
