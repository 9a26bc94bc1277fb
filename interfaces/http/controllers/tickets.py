"""Tickets: take one, follow it, and move it through its lifecycle."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from application.identity import Principal
from application.views import TicketView
from domain.errors import TicketNotFound
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, problems
from interfaces.http.idempotency import idempotent
from interfaces.http.schemas import TicketCancel, TicketIssue, TicketTransfer
from interfaces.http.security import command_context, container_of, scoped

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
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
    ) -> TicketView:
        app = container_of(request).app
        command = getattr(app, COMMANDS[action])
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
        responses=problems(400, 401, 403, 404, 409, 422, 503),
        **idempotent(scoped("tickets:issue")),
    )
    def issue(
        self, request: Request, member: NamedDependency[Principal], data: JSONBody[TicketIssue]
    ) -> TicketView:
        """Take a ticket in a queue: its number, position and ETA. A kiosk may issue only in
        the queues of its own site (403 ``wrong_site``)."""
        container = container_of(request)
        container.devices.check_queue_site(member.tenant_id, member.site_id, data.queue_id)
        return container.app.issue_ticket(
            command_context(request, member),
            data.queue_id,
            service_id=data.service_id,
            customer_id=data.customer_id,
            priority=data.priority,
            channel=data.channel,
        )

    @get(
        "/{ticket_id:uuid}",
        operation_id="getTicket",
        sync_to_thread=True,
        responses=problems(401, 403, 404),
        **scoped("tickets:read"),
    )
    def get_ticket(
        self, request: Request, member: NamedDependency[Principal], ticket_id: FromPath[UUID]
    ) -> TicketView:
        """A ticket with its status, position and ETA."""
        container = container_of(request)
        ticket = container.app.get_ticket(member.tenant_id, ticket_id)
        missing = TicketNotFound(f"no ticket with id {ticket_id}")
        container.devices.check_queue_site(
            member.tenant_id, member.site_id, ticket.queue_id, missing
        )
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
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        data: JSONBody[TicketCancel | None] = None,
    ) -> TicketView:
        """Withdraw a waiting or called ticket."""
        reason = data.reason if data else ""
        return container_of(request).app.cancel_ticket(
            command_context(request, member), ticket_id, reason
        )

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
        request: Request,
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        data: JSONBody[TicketTransfer],
    ) -> TicketView:
        """Send the ticket to wait in another queue: ``first``, ``last`` or ``sorted``."""
        return container_of(request).app.transfer_ticket(
            command_context(request, member), ticket_id, data.queue_id, data.placement
        )
