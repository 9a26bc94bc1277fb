"""Feedback over HTTP: the customer's page data and submit by capability token (no staff
token), once per visit; the staff's list and figures (``feedback:read``)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody, QueryParameter

from application.consistency import Consistency
from application.feedback import FeedbackRequest, Feedbacks, FeedbackView
from application.feedback_reports import (
    FeedbackFilter,
    FeedbackListItem,
    FeedbackReports,
    FeedbackStatsRow,
)
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.moments import aware, moment_parameter
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.rate_limits import client_address, limit_public_request
from interfaces.http.schemas import Body
from interfaces.http.security import scoped

Tag = Annotated[str, msgspec.Meta(max_length=40, examples=["staff"])]


class PublicFeedback(Body):
    """A customer's answers about their completed visit: ``csat`` 1 to 5 and/or ``nps`` 0 to 10
    (at least one), an optional ``comment`` (at most 1,000 characters, personal data: kept
    outside the events and erased with the customer) and ``tags`` from the page's list. Values
    out of range answer 422."""

    csat: int | None = None
    nps: int | None = None
    comment: Annotated[str, msgspec.Meta(max_length=4000)] | None = None
    tags: Annotated[list[Tag], msgspec.Meta(max_length=20)] = msgspec.field(default_factory=list)


class FeedbackReceipt(msgspec.Struct, kw_only=True):
    """What the customer sees after submitting: their answers back, no ids of anyone."""

    csat: int | None
    nps: int | None
    tags: list[str]
    comment: str | None


def provide_feedback(request: Request) -> Feedbacks:
    """The feedback context, once the request was counted against its client's address."""
    limit_public_request(request)
    feedback = request.app.state.use_cases["feedback"]
    if feedback is None:
        raise RuntimeError("the process was built without the feedback context")
    return feedback


class PublicFeedbackController(Controller):
    """The feedback page's data and submit, reached by the visit's feedback token only."""

    path = "/api/v1/public/feedback/{token:str}"
    tags = ["public", "feedback"]
    dependencies = {"feedback": Provide(provide_feedback, sync_to_thread=False)}

    @get(
        "/",
        operation_id="getFeedbackRequest",
        sync_to_thread=True,
        responses=problems(400, 404, 429, 503),
    )
    def get_request(
        self, feedback: NamedDependency[Feedbacks], token: FromPath[str]
    ) -> FeedbackRequest:
        """The visit's site and service, its ticket number, whether feedback was already given,
        the tags to choose from. A bad or expired token answers 404."""
        return feedback.get_request(token)

    @post(
        "/",
        operation_id="submitFeedback",
        status_code=201,
        sync_to_thread=True,
        responses=problems(400, 404, 409, 422, 429, 503),
    )
    def submit(
        self,
        request: Request,
        feedback: NamedDependency[Feedbacks],
        token: FromPath[str],
        data: JSONBody[PublicFeedback],
    ) -> FeedbackReceipt:
        """Give feedback on the completed visit: 201 once; 409 ``feedback_given`` the second
        time, 409 ``visit_not_completed`` before the visit was completed; 422 for values out
        of range or unknown tags."""
        given = feedback.submit_feedback(
            token,
            csat=data.csat,
            nps=data.nps,
            comment=data.comment,
            tags=data.tags,
            client_ip=client_address(request),
        )
        return FeedbackReceipt(
            csat=given.csat, nps=given.nps, tags=given.tags, comment=given.comment
        )


SiteFilter = Annotated[UUID | None, QueryParameter(name="site_id", description="Only this site")]
ServiceFilter = Annotated[
    UUID | None, QueryParameter(name="service_id", description="Only this service")
]
AgentFilter = Annotated[
    UUID | None, QueryParameter(name="agent_id", description="Only visits served by this agent")
]
From = moment_parameter("from", "Feedback given (visits completed) at or after (ISO 8601)")
To = moment_parameter("to", "Feedback given (visits completed) before (ISO 8601)")
GroupByParameter = Annotated[
    Literal["site", "service", "agent", "day"] | None,
    QueryParameter(
        name="group_by",
        description="One row per site, service, agent or day (in the site's time zone)",
    ),
]
READ_MODELS = ("feedback", "tickets", "directory", "agent_board")
"""``agent_board`` holds each queue's time zone (``queue_eta``): the figures' local days."""
AppointmentFilter = Annotated[
    UUID | None,
    QueryParameter(name="appointment_id", description="Only the feedback of this appointment"),
]
OriginFilter = Annotated[
    Literal["appointment", "walk_in"] | None,
    QueryParameter(
        name="origin",
        description="appointment: visits an appointment's check-in began; walk_in: the others",
    ),
]


class FeedbackController(Controller):
    """The tenant's feedback and its figures (managers and admins: ``feedback:read``)."""

    path = f"{TENANT_PATH}/feedback"
    tags = ["feedback"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listFeedback",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("feedback:read"),
    )
    def list_feedback(
        self,
        consistency: UseCase[Consistency],
        feedback_reports: UseCase[FeedbackReports],
        member: NamedDependency[Principal],
        site_id: SiteFilter = None,
        service_id: ServiceFilter = None,
        agent_id: AgentFilter = None,
        since: From = None,
        until: To = None,
        appointment_id: AppointmentFilter = None,
        origin: OriginFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[FeedbackListItem]:
        """A page of feedback, newest first, matching every given filter (comments are
        personal data and are not listed)."""
        await_read_models(consistency, READ_MODELS, min_position)
        where = FeedbackFilter(
            site_id,
            service_id,
            agent_id,
            aware(since, "from"),
            aware(until, "to"),
            appointment_id=appointment_id,
            origin=origin,
        )
        page = feedback_reports.list_feedback(member.tenant_id, where, page_request(cursor, limit))
        return to_response(page, limit)

    @get(
        "/{feedback_id:uuid}",
        operation_id="getFeedback",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 429, 503),
        **scoped("feedback:read"),
    )
    def get_feedback(
        self,
        feedback: UseCase[Feedbacks],
        member: NamedDependency[Principal],
        feedback_id: FromPath[UUID],
    ) -> FeedbackView:
        """One feedback with its comment (personal data: ``null`` once its customer was erased,
        or when none was given)."""
        return feedback.get_feedback(member.tenant_id, feedback_id)

    @get(
        "/stats",
        operation_id="getFeedbackStats",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("feedback:read"),
    )
    def stats(
        self,
        consistency: UseCase[Consistency],
        feedback_reports: UseCase[FeedbackReports],
        member: NamedDependency[Principal],
        site_id: SiteFilter = None,
        service_id: ServiceFilter = None,
        agent_id: AgentFilter = None,
        since: From = None,
        until: To = None,
        group_by: GroupByParameter = None,
        min_position: MinPosition = None,
    ) -> FeedbackStats:
        """CSAT average and distribution, NPS (% promoters 9-10 minus % detractors 0-6) and
        response rate (feedback / completed visits), overall or per group."""
        await_read_models(consistency, READ_MODELS, min_position)
        where = FeedbackFilter(
            site_id, service_id, agent_id, aware(since, "from"), aware(until, "to")
        )
        rows = feedback_reports.feedback_stats(member.tenant_id, where, group_by)
        return FeedbackStats(group_by=group_by, items=rows)


class FeedbackStats(msgspec.Struct, kw_only=True):
    """The figures, one row per group (one row with ``key`` null when not grouped)."""

    group_by: str | None
    items: list[FeedbackStatsRow]
