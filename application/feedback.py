"""Feedback: what a customer thinks of a completed visit, once per visit, from a link.

The link carries a feedback pass (a :class:`~application.ports.TicketPass` under its own key,
valid for :data:`FEEDBACK_PASS_DAYS` after the visit ended): the customer needs no account. The
comment is personal data, kept in a side table written in the events' transaction and deleted
when the customer is erased; the scores stay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import IntegrityError

from application.app import SmartQueue
from application.base import utc_now
from application.context import CommandContext
from application.ports import SideWrite, TicketPass, TicketPasses
from domain.customers import LANGUAGES
from domain.errors import ResourceNotFound, TicketNotFound
from domain.feedback import TAGS, Feedback, FeedbackGiven, VisitNotFinished, check_scores
from domain.feedback import feedback_id as feedback_id_of
from domain.queues import Queue
from domain.tenancy import Service, Site
from domain.tickets import Ticket, TicketStatus

FEEDBACK_PASS_DAYS = 7
FEEDBACK_LINK = "/feedback/{token}"
PUBLIC_ROLE = "customer"


class FeedbackComment(msgspec.Struct, frozen=True, kw_only=True):
    """A customer's free-text comment on a visit: personal data, never in an event."""

    tenant_id: UUID
    feedback_id: UUID
    customer_id: UUID | None
    comment: str
    created_at: datetime


class FeedbackComments(Protocol):
    """Where comments live. Writes are side writes, committed with the feedback's event."""

    def insert(self, comment: FeedbackComment) -> SideWrite:
        """Keep a new comment."""

    def delete_for_customer(self, tenant_id: UUID, customer_id: UUID) -> SideWrite:
        """Delete every comment of a customer for good (erasure)."""

    def get(self, tenant_id: UUID, feedback_id: UUID) -> str | None:
        """The comment of a feedback, if it has one that was not erased."""


class FeedbackRequest(msgspec.Struct, kw_only=True):
    """What the public feedback page shows: the visit (no personal data) and whether it was
    already answered."""

    site_name: str
    service_name: str
    ticket_number: str
    completed_at: datetime | None
    given: bool
    tags: list[str]
    languages: list[str]


class FeedbackView(msgspec.Struct, kw_only=True):
    """A feedback as staff see it; ``comment`` is ``None`` when none was given or it was
    erased with its customer."""

    id: UUID
    ticket_id: UUID
    site_id: UUID
    service_id: UUID
    queue_id: UUID
    agent_id: UUID | None
    csat: int | None
    nps: int | None
    tags: list[str]
    comment: str | None
    submitted_at: datetime
    appointment_id: UUID | None = None
    """The appointment whose check-in issued the visit's ticket, if it came from one."""


class Feedbacks:
    """Feedback requests, public submits and the staff's view of one feedback."""

    def __init__(
        self,
        store: SmartQueue,
        passes: TicketPasses,
        comments: FeedbackComments,
        clock: Callable[[], datetime] = utc_now,
        pass_days: int = FEEDBACK_PASS_DAYS,
    ) -> None:
        self.store = store
        self.passes = passes
        self.comments = comments
        self.clock = clock
        self.pass_days = pass_days

    def feedback_link(self, tenant_id: UUID, ticket_id: UUID, finished_at: datetime) -> str:
        """The page address a customer is sent once their visit is completed."""
        expires_at = finished_at + timedelta(days=self.pass_days)
        token = self.passes.issue(TicketPass(tenant_id, ticket_id, expires_at))
        return FEEDBACK_LINK.format(token=token)

    def get_request(self, token: str) -> FeedbackRequest:
        """The feedback page's data; a bad or expired token reads as a missing ticket."""
        ticket = self._ticket(token)
        queue = self.store.load(Queue, ticket.queue_id, ticket.tenant_id, ResourceNotFound)
        site = self.store.load(Site, queue.site_id, ticket.tenant_id, ResourceNotFound)
        service = self.store.load(Service, ticket.service_id, ticket.tenant_id, ResourceNotFound)
        return FeedbackRequest(
            site_name=site.name,
            service_name=service.name,
            ticket_number=ticket.number,
            completed_at=ticket.finished_at if ticket.status == TicketStatus.COMPLETED else None,
            given=self.store.find(Feedback, feedback_id_of(ticket.id)) is not None,
            tags=list(TAGS),
            languages=list(LANGUAGES),
        )

    def submit_feedback(
        self,
        token: str,
        csat: int | None = None,
        nps: int | None = None,
        comment: str | None = None,
        tags: Sequence[str] = (),
        client_ip: str | None = None,
    ) -> FeedbackView:
        """Record the customer's feedback on their completed visit, once: a second submit is
        :class:`FeedbackGiven`, a visit not completed :class:`VisitNotFinished`."""
        scores = check_scores(csat, nps, tags, comment)
        ticket = self._ticket(token)
        if ticket.status != TicketStatus.COMPLETED:
            raise VisitNotFinished(f"ticket {ticket.number} is {ticket.status}, not completed")
        if self.store.find(Feedback, feedback_id_of(ticket.id)) is not None:
            raise FeedbackGiven("feedback was already given for this visit")
        queue = self.store.load(Queue, ticket.queue_id, ticket.tenant_id, ResourceNotFound)
        feedback = Feedback.submit(
            tenant_id=ticket.tenant_id,
            ticket_id=ticket.id,
            site_id=queue.site_id,
            service_id=ticket.service_id,
            queue_id=ticket.queue_id,
            agent_id=ticket.agent_id,
            customer_id=ticket.customer_id,
            scores=scores,
            at=self.clock(),
            appointment_id=ticket.appointment_id,
        )
        writes = []
        if scores.comment is not None:
            writes.append(
                self.comments.insert(
                    FeedbackComment(
                        tenant_id=ticket.tenant_id,
                        feedback_id=feedback.id,
                        customer_id=ticket.customer_id,
                        comment=scores.comment,
                        created_at=feedback.submitted_at,
                    )
                )
            )
        context = CommandContext(
            tenant_id=ticket.tenant_id, actor_role=PUBLIC_ROLE, client_ip=client_ip
        )
        try:
            self.store.save_in_context(context, feedback, side_writes=writes)
        except IntegrityError:
            # The same visit's feedback was saved between our check and our save: once only.
            raise FeedbackGiven("feedback was already given for this visit") from None
        return _view(feedback, scores.comment)

    def get_feedback(self, tenant_id: UUID, feedback_id: UUID) -> FeedbackView:
        """One feedback of the tenant, with its comment unless erased."""
        feedback = self.store.load(Feedback, feedback_id, tenant_id, ResourceNotFound)
        comment = self.comments.get(tenant_id, feedback.id) if feedback.has_comment else None
        return _view(feedback, comment)

    def _ticket(self, token: str) -> Ticket:
        ticket_pass = self.passes.verify(token)
        if ticket_pass is None:
            raise TicketNotFound("no ticket for this link (it may have expired)")
        return self.store.load(Ticket, ticket_pass.ticket_id, ticket_pass.tenant_id, TicketNotFound)


def _view(feedback: Feedback, comment: str | None) -> FeedbackView:
    return FeedbackView(
        id=feedback.id,
        ticket_id=feedback.ticket_id,
        site_id=feedback.site_id,
        service_id=feedback.service_id,
        queue_id=feedback.queue_id,
        agent_id=feedback.agent_id,
        csat=feedback.csat,
        nps=feedback.nps,
        tags=list(feedback.tags),
        comment=comment,
        submitted_at=feedback.submitted_at,
        appointment_id=feedback.appointment_id,
    )
