"""The audit log: who did what, when, from where (a read model, filtered and paginated)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from application.audit import AuditEntryView, AuditFilter, AuditLog
from application.consistency import Consistency
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.moments import aware, moment_parameter
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.security import scoped

ActorFilter = Annotated[
    UUID | None, QueryParameter(name="actor_id", description="Only events caused by this user")
]
EventTypeFilter = Annotated[
    str | None,
    QueryParameter(
        name="event_type",
        max_length=200,
        description="Only events of this type, e.g. `Ticket.Called`",
    ),
]
AggregateFilter = Annotated[
    UUID | None,
    QueryParameter(name="aggregate_id", description="Only events of this ticket, queue, user..."),
]
Since = moment_parameter("since", "Events recorded at or after (ISO 8601; UTC if naive)")
Until = moment_parameter("until", "Events recorded before (ISO 8601)")


class AuditController(Controller):
    """The tenant's audit log, newest first. It trails commands by the projection's lag."""

    path = f"{TENANT_PATH}/audit"
    tags = ["audit"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listAuditEntries",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("audit:read"),
    )
    def list_entries(
        self,
        consistency: UseCase[Consistency],
        audit: UseCase[AuditLog],
        request: Request,
        member: NamedDependency[Principal],
        actor_id: ActorFilter = None,
        event_type: EventTypeFilter = None,
        aggregate_id: AggregateFilter = None,
        since: Since = None,
        until: Until = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[AuditEntryView]:
        """A page of audit entries matching every given filter."""
        await_read_models(consistency, ("audit_log",), min_position)
        where = AuditFilter(
            actor_id=actor_id,
            event_type=event_type,
            aggregate_id=aggregate_id,
            since=aware(since, "since"),
            until=aware(until, "until"),
        )
        page = audit.search(member.tenant_id, where, page_request(cursor, limit))
        return to_response(page, limit)
