"""Notifications for staff: the tenant's delivery ledger, and a free message to a ticket's
customer."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.staff_notifications import (
    FREE_TEXT_MAX_CHARS,
    NotificationFilter,
    Notifications,
    NotificationView,
)
from domain.delivery import DeliveryStatus
from domain.messages import Channel, MessageKind
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.idempotency import idempotent
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.security import scoped

TicketFilter = Annotated[
    UUID | None, QueryParameter(name="ticket_id", description="Only this ticket's messages")
]
AppointmentFilter = Annotated[
    UUID | None,
    QueryParameter(name="appointment_id", description="Only this appointment's messages"),
]
KindFilter = Annotated[
    str | None,
    QueryParameter(
        name="kind",
        max_length=40,
        description=f"Only messages of this kind: {', '.join(k.value for k in MessageKind)}",
    ),
]
StatusFilter = Annotated[
    str | None,
    QueryParameter(
        name="status",
        max_length=40,
        description=f"Only messages in this state: {', '.join(s.value for s in DeliveryStatus)}",
    ),
]
ChannelFilter = Annotated[
    str | None,
    QueryParameter(
        name="channel",
        max_length=40,
        description=f"Only messages on this channel: {', '.join(c.value for c in Channel)}",
    ),
]


class FreeMessage(msgspec.Struct, frozen=True):
    """A staff member's words to a ticket's customer, sent as they are (never a template)."""

    text: str
    """1 to ``FREE_TEXT_MAX_CHARS`` characters."""


class FreeMessageSent(msgspec.Struct, frozen=True):
    """The ledger's messages the free message became, one per channel the customer chose."""

    message_ids: list[UUID]


class NotificationController(Controller):
    """What customers were sent, and sending them a word."""

    path = TENANT_PATH
    tags = ["notifications"]
    dependencies = TENANT_SCOPED

    @get(
        "/notifications",
        operation_id="listNotifications",
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 422, 503),
        **scoped("notifications:read"),
    )
    def list_notifications(
        self,
        notifications: UseCase[Notifications],
        member: NamedDependency[Principal],
        ticket_id: TicketFilter = None,
        status: StatusFilter = None,
        channel: ChannelFilter = None,
        appointment_id: AppointmentFilter = None,
        kind: KindFilter = None,
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
    ) -> Paginated[NotificationView]:
        """A page of the delivery ledger, newest first: no address and no body."""
        where = NotificationFilter.parse(ticket_id, status, channel, appointment_id, kind)
        page = notifications.search(member.tenant_id, where, page_request(cursor, limit))
        return to_response(page, limit)

    @post(
        "/tickets/{ticket_id:uuid}/message",
        operation_id="messageTicketCustomer",
        status_code=202,
        sync_to_thread=True,
        responses=problems(400, 401, 403, 404, 409, 422, 503),
        description=f"The text (1 to {FREE_TEXT_MAX_CHARS} characters) goes to the customer on"
        " each channel they chose, in the ledger as a `free_text` message; 409 when the ticket"
        " has no customer or the customer cannot be reached now.",
        **idempotent(scoped("tickets:call")),
    )
    def message_customer(
        self,
        notifications: UseCase[Notifications],
        member: NamedDependency[Principal],
        ticket_id: FromPath[UUID],
        data: JSONBody[FreeMessage],
    ) -> FreeMessageSent:
        """Queue a free message to the ticket's customer."""
        sent = notifications.send_free_text(member.tenant_id, ticket_id, data.text)
        return FreeMessageSent(list(sent.message_ids))
