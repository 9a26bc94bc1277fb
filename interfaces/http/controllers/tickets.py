"""Tickets: take one, follow it, and move it through its lifecycle."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.exceptions import PermissionDeniedException
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, JSONBody, QueryParameter

from application.consistency import Consistency
from application.devices import Devices
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.ticket_queries import STATUSES, TicketFilter, TicketQueries, parse_statuses
from application.tickets import Tickets
from application.views import TicketView
from domain.access import DEVICE_ROLE, Scope
from domain.errors import TicketNotFound
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.idempotency import idempotent
from interfaces.http.moments import aware, moment_parameter
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.rate_limits import limit_public_issue
from interfaces.http.schemas import TicketCancel, TicketIssue, TicketTransfer
from interfaces.http.security import command_context, scoped

StatusFilter = Annotated[
    list[str] | None,
    QueryParameter(
        name="status",
        description=f"Only tickets in these statuses (repeat it or separate by commas): "
        f"{', '.join(STATUSES)}",
        # The repeated form's items, as documented (not enforced by the framework: the comma
        # form is accepted too, and parse_statuses answers an unknown status 422).
        schema_extra={"items": Schema(type=OpenAPIType.STRING, enum=list(STATUSES))},
    ),
]


def _id_filter(name: str, description: str) -> object:
    return Annotated[UUID | None, QueryParameter(name=name, description=description)]


QueueFilter = _id_filter("queue_id", "Only tickets now in this queue")
ServiceFilter = _id_filter("service_id", "Only tickets for this service")
AgentFilter = _id_filter("agent_id", "Only tickets this agent called (until transferred)")
CustomerFilter = _id_filter("customer_id", "Only this customer's tickets")
SiteFilter = _id_filter("site_id", "Only the tickets of this site's queues")
IssuedSince = moment_parameter("since", "Tickets issued at or after (ISO 8601; UTC if naive)")
IssuedUntil = moment_parameter("until", "Tickets issued before (ISO 8601)")

PRIORITIZE = str(Scope.TICKETS_PRIORITIZE)
OVERRIDE_HOURS = str(Scope.QUEUES_MANAGE)

# 422: an Idempotency-Key reused for another request.
LIFECYCLE_ERRORS = problems(400, 401, 403, 404, 409, 422, 503)


def _lifecycle(action: str, operation_id: str, summary: str):
    """A ``POST tickets/{id}/<action>/`` handler calling the application command ``action``."""

    @post(
        f"/{{ticket_id:uuid}}/{action}",
        operation_id=operation_id,
        status_code=200,
        sync_to_thread=True,
        responses=LIFECYCLE_ERRORS,
        summary=summary,
        **idempotent(scoped("tickets:call")),
    )
    def handler(
        self: Controller,
        tickets: UseCase[Tickets],
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
    ) -> TicketView:
        command = getattr(tickets, COMMANDS[action])
        return command(command_context(request, member), ticket_id)

    handler.__doc__ = summary
    return handler


COMMANDS = {
    "start": "start_ticket",
    "close": "close_ticket",
    "pause": "pause_ticket",
    "resume": "resume_ticket",
    "recall": "recall_ticket",
    "mark_no_show": "mark_no_show",
}


class TicketController(Controller):
    """Tickets of the tenant."""

    path = f"{TENANT_PATH}/tickets"
    tags = ["tickets"]
    dependencies = TENANT_SCOPED

    @post(
        "/",
        operation_id="issueTicket",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 409, 422, 429, 503),
        **idempotent(scoped("tickets:issue")),
    )
    def issue(
        self,
        devices: UseCase[Devices],
        ticket_queries: UseCase[TicketQueries],
        tickets: UseCase[Tickets],
        max_waiting: UseCase[int | None],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[TicketIssue],
    ) -> TicketView:
        """Take a ticket in a queue: its number, position and ETA.

        A priority above 0 needs the ``tickets:prioritize`` scope (staff; 403 otherwise). A kiosk
        may issue only in the queues of its own site (403 ``wrong_site``), and at a limited rate
        per kiosk and per queue (429 with ``Retry-After`` and ``RateLimit`` headers). A queue
        whose waiting line is full answers 409 ``queue_full``. Outside the site's opening hours
        it answers 409 ``site_closed`` (with ``opens_at``, when it opens next), unless
        ``override_hours`` is sent by staff who may manage queues (``queues:manage``)."""
        if data.priority != 0 and PRIORITIZE not in member.scopes:
            raise PermissionDeniedException(
                f"setting a priority needs the {PRIORITIZE!r} scope (staff only); "
                "leave priority out to take a ticket"
            )
        if data.override_hours and OVERRIDE_HOURS not in member.scopes:
            raise PermissionDeniedException(
                f"issuing outside opening hours needs the {OVERRIDE_HOURS!r} scope; "
                "leave override_hours out to take a ticket"
            )
        devices.check_queue_site(member.tenant_id, member.site_id, data.queue_id)
        if member.role == DEVICE_ROLE:
            limit_public_issue(request, f"device:{member.user_id}", data.queue_id)
        ticket = tickets.issue_ticket(
            command_context(request, member),
            data.queue_id,
            service_id=data.service_id,
            customer_id=data.customer_id,
            priority=data.priority,
            channel=data.channel,
            max_waiting=max_waiting,
            override_hours=data.override_hours,
        )
        return ticket_queries.with_eta(member.tenant_id, ticket)

    @get(
        "/",
        operation_id="listTickets",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("tickets:read"),
    )
    def list_tickets(
        self,
        consistency: UseCase[Consistency],
        ticket_queries: UseCase[TicketQueries],
        request: Request,
        member: NamedDependency[Principal],
        status: StatusFilter = None,
        queue_id: QueueFilter = None,
        service_id: ServiceFilter = None,
        agent_id: AgentFilter = None,
        customer_id: CustomerFilter = None,
        site_id: SiteFilter = None,
        since: IssuedSince = None,
        until: IssuedUntil = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        min_position: MinPosition = None,
    ) -> Paginated[TicketView]:
        """A page of tickets matching every given filter, newest first.

        Waiting tickets carry their position and ETA (the same as ``GET tickets/{id}/`` gives).
        The list trails commands by the projections' lag.
        """
        await_read_models(consistency, ("tickets", "agent_board"), min_position)
        where = TicketFilter(
            statuses=parse_statuses(status or []),
            queue_id=queue_id,
            service_id=service_id,
            agent_id=agent_id,
            customer_id=customer_id,
            # A display's token is kept to its own site, whatever it asks for.
            site_id=member.site_id or site_id,
            since=aware(since, "since"),
            until=aware(until, "until"),
        )
        page = ticket_queries.list_tickets(member.tenant_id, where, page_request(cursor, limit))
        return to_response(page, limit)

    @get(
        "/{ticket_id:uuid}",
        operation_id="getTicket",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("tickets:read"),
    )
    def get_ticket(
        self,
        consistency: UseCase[Consistency],
        devices: UseCase[Devices],
        ticket_queries: UseCase[TicketQueries],
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        min_position: MinPosition = None,
    ) -> TicketView:
        """A ticket with its status, position and ETA (from the tickets read model and the agent
        board, so it trails commands by the projections' lag unless ``min_position`` is given).
        A display sees only the tickets of its own site's queues."""
        await_read_models(consistency, ("tickets", "agent_board"), min_position)
        ticket = ticket_queries.get_ticket(member.tenant_id, ticket_id)
        missing = TicketNotFound(f"no ticket with id {ticket_id}")
        devices.check_queue_site(member.tenant_id, member.site_id, ticket.queue_id, missing)
        return ticket

    start = _lifecycle("start", "startTicket", "Start serving a called ticket.")
    close = _lifecycle("close", "closeTicket", "Complete a ticket being served or paused.")
    pause = _lifecycle("pause", "pauseTicket", "Pause a ticket being served.")
    resume = _lifecycle("resume", "resumeTicket", "Resume a paused ticket.")
    recall = _lifecycle("recall", "recallTicket", "Call a called ticket again.")
    mark_no_show = _lifecycle("mark_no_show", "markTicketNoShow", "The called customer never came.")

    @post(
        "/{ticket_id:uuid}/cancel",
        operation_id="cancelTicket",
        status_code=200,
        sync_to_thread=True,
        responses=LIFECYCLE_ERRORS,
        **idempotent(scoped("tickets:write")),
    )
    def cancel(
        self,
        tickets: UseCase[Tickets],
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        data: JSONBody[TicketCancel | None] = None,
    ) -> TicketView:
        """Withdraw a waiting or called ticket."""
        reason = data.reason if data else ""
        return tickets.cancel_ticket(command_context(request, member), ticket_id, reason)

    @post(
        "/{ticket_id:uuid}/transfer",
        operation_id="transferTicket",
        status_code=200,
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 409, 422, 503),
        **idempotent(scoped("tickets:call")),
    )
    def transfer(
        self,
        ticket_queries: UseCase[TicketQueries],
        tickets: UseCase[Tickets],
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        data: JSONBody[TicketTransfer],
    ) -> TicketView:
        """Send the ticket to wait in another queue: ``first``, ``last`` or ``sorted``."""
        ticket = tickets.transfer_ticket(
            command_context(request, member), ticket_id, data.queue_id, data.placement
        )
        return ticket_queries.with_eta(member.tenant_id, ticket)
