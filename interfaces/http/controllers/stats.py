"""Queue statistics: one queue's day, or every queue's day for a branch dashboard (a read model,
trailing commands by the projection's lag unless ``min_position`` asks to read one's writes)."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from application.consistency import Consistency
from application.identity import Principal
from application.stats import QueueStatsView, StatsQueries
from domain.errors import InvalidInput
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.security import scoped

# Taken as text and parsed here, like the audit log's times, so the document says exactly what
# is accepted and an impossible date (2026-02-30) is a 422 naming the parameter.
Day = Annotated[
    str | None,
    QueryParameter(
        name="day",
        pattern=r"^\d{4}-\d{2}-\d{2}$",
        format="date",
        description="Site-local day (ISO 8601 date); default: today where the queue is",
    ),
]
STATS_ERRORS = problems(400, 401, 403, 404, 422, 503)
READ_MODELS = ("queue_stats",)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"day must be an ISO 8601 date, like 2026-11-27; got {text!r}") from None


class StatsController(Controller):
    """Queue statistics of the tenant: counts, waits, service times and SLA compliance."""

    path = f"{TENANT_PATH}/queues"
    tags = ["stats"]
    dependencies = TENANT_SCOPED

    @get(
        "/{queue_id:uuid}/stats",
        operation_id="getQueueStats",
        sync_to_thread=True,
        responses=STATS_ERRORS,
        **scoped("stats:read"),
    )
    def get_queue_stats(
        self,
        consistency: UseCase[Consistency],
        stats: UseCase[StatsQueries],
        request: Request,
        member: NamedDependency[Principal],
        queue_id: FromPath[UUID],
        day: Day = None,
        min_position: MinPosition = None,
    ) -> QueueStatsView:
        """One queue's statistics for a site-local day; a day without activity is all zeros."""
        await_read_models(consistency, READ_MODELS, min_position)
        return stats.get_queue_stats(member.tenant_id, queue_id, _day(day), member.site_id)

    @get(
        "/stats",
        operation_id="listQueueStats",
        sync_to_thread=True,
        responses=STATS_ERRORS,
        **scoped("stats:read"),
    )
    def list_queue_stats(
        self,
        consistency: UseCase[Consistency],
        stats: UseCase[StatsQueries],
        request: Request,
        member: NamedDependency[Principal],
        day: Day = None,
        min_position: MinPosition = None,
    ) -> list[QueueStatsView]:
        """Every queue's statistics for a site-local day (a branch dashboard), in the order the
        queues were opened."""
        await_read_models(consistency, READ_MODELS, min_position)
        return stats.list_queue_stats(member.tenant_id, _day(day), member.site_id)
