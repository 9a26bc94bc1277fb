"""The staff's view of notifications over the ledger and the delivery jobs: the
:class:`application.staff_notifications.NotificationOutbox` port in PostgreSQL and dramatiq."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from application.notifications import PlannedMessage
from application.paging import Page, PageRequest
from application.staff_notifications import NotificationFilter, NotificationView
from domain.delivery import Delivery, DeliveryStatus
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.templates import render_message


def view_of(entry: LedgerEntry) -> NotificationView:
    """A ledger entry without its address or body."""
    delivery = entry.delivery
    return NotificationView(
        id=delivery.id,
        kind=delivery.kind.value,
        channel=delivery.channel.value,
        status=delivery.status.value,
        attempts=delivery.attempts,
        ticket_id=delivery.ticket_id,
        appointment_id=entry.appointment_id,
        created_at=delivery.created_at,
        sent_at=delivery.sent_at,
        not_before=delivery.not_before,
        reason=delivery.error if delivery.status is DeliveryStatus.SKIPPED else None,
    )


class LedgerOutbox:
    """Reads the ledger for staff; records and queues the messages they send."""

    def __init__(self, ledger: PostgresLedger, jobs: DeliveryJobs, max_attempts: int) -> None:
        self.ledger = ledger
        self.jobs = jobs
        self.max_attempts = max_attempts

    def search(
        self, tenant_id: UUID, where: NotificationFilter, request: PageRequest
    ) -> Page[NotificationView]:
        page = self.ledger.search(
            tenant_id,
            request,
            ticket_id=where.ticket_id,
            status=where.status,
            channel=where.channel,
            appointment_id=where.appointment_id,
            kind=where.kind,
        )
        return Page([view_of(entry) for entry in page.items], page.next_cursor)

    def record_and_queue(
        self,
        tenant_id: UUID,
        planned: PlannedMessage,
        ticket_id: UUID,
        customer_id: UUID,
        values: dict[str, object],
        now: datetime,
    ) -> None:
        rendered = render_message(planned.kind, planned.channel, planned.language, values)
        body = MessageBody(text=rendered.text, subject=rendered.subject, html=rendered.html)
        delivery = Delivery(
            id=planned.message_id,
            kind=planned.kind,
            channel=planned.channel,
            created_at=now,
            address=planned.address,
            body=body.encode(),
            ticket_id=ticket_id,
            attempt_limit=self.max_attempts,
        )
        entry = LedgerEntry(tenant_id, delivery, planned.language, customer_id)
        if self.ledger.record(entry) or (
            self.ledger.get(tenant_id, planned.message_id).delivery.status is DeliveryStatus.QUEUED
        ):
            self.jobs.enqueue(tenant_id, planned.message_id)
