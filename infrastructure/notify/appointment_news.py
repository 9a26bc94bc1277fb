"""What an appointment event causes: the messages the notifier
(:mod:`infrastructure.notify.notifier`) records in the ledger and queues for its customer.

Booked, moved or cancelled, an appointment with a customer tells them at once (a confirmation,
the new time, the cancellation); booked or moved, it also plans its timed messages, the
reminders at the tenant's offsets and "you can check in now" when its window opens
(:mod:`application.appointment_notifications` decides which and when). A timed message is
recorded ``held`` until its time, as a message held in quiet hours is, and its delivery queued
with that delay; when it comes due, the job checks the appointment still holds its place at the
start the message names (:mod:`infrastructure.notify.jobs`), and skips it otherwise. The
customer's channels, language and quiet hours apply as for tickets; each kind can be switched
off in the tenant's settings.

Appointment events are few next to ticket events: each is decided, recorded and queued on its
own (a batch handled again names the same messages, and the ledger adds nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

import msgspec
import structlog

from application.appointment_notifications import (
    APPOINTMENT_EVENT_KINDS,
    TIMED_AFTER,
    appointment_news_gone,
    immediate_event_id,
    plan_timed,
    timed_messages,
)
from application.appointment_views import AppointmentView
from application.notification_templates import TenantNotificationSettings
from application.notifications import PlannedMessage, Recipient, plan_messages, recipient_of
from application.views import CustomerView, ServiceView, SiteView
from domain.appointments import LIVE
from domain.delivery import Delivery, DeliveryStatus
from domain.errors import NotFound
from domain.messages import MessageKind
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.message_text import appointment_values, render_for_tenant
from infrastructure.notify.ticket_news import TenantSetup
from infrastructure.settings.notify import NotifySettings

log = structlog.get_logger(__name__)

DEFAULT_LATE_MINUTES = 10
"""The check-in window's end after the start when a service has no booking rules (any more)."""


class AppointmentFacts(Protocol):
    """The queries the notifier reads an appointment's context with (the application's
    :class:`application.appointment_notifications.AppointmentFacts`)."""

    def get_appointment(self, tenant_id: UUID, appointment_id: UUID) -> AppointmentView: ...

    def get_service(self, tenant_id: UUID, service_id: UUID) -> ServiceView: ...

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView: ...

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView: ...


AppointmentLink = Callable[[UUID, AppointmentView], "str | None"]
"""The customer's "my appointment" address of an appointment (tenant, appointment)."""


class AppointmentEnvelope(msgspec.Struct):
    """The part of a published appointment envelope the notifier reads."""

    event_type: str
    tenant_id: UUID | None
    aggregate_id: UUID
    aggregate_version: int
    occurred_at: datetime | None = None


class AppointmentNews:
    """Decides, records and queues the messages appointment events cause; see the module
    docstring."""

    def __init__(
        self,
        facts: AppointmentFacts,
        ledger: PostgresLedger,
        jobs: DeliveryJobs,
        settings: NotifySettings,
        *,
        setup: TenantSetup | None = None,
        link: AppointmentLink | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.facts = facts
        self.ledger = ledger
        self.jobs = jobs
        self.settings = settings
        self.setup = setup
        """The tenants' templates and settings; without it, built-in templates and defaults."""
        self.link = link
        """The "my appointment" address, for ``{link}`` (none: no link)."""
        self.clock = clock
        self.recorded = 0  # new ledger entries, for tests and logs

    def handle(self, envelope: AppointmentEnvelope) -> list[PlannedMessage]:
        """Record and queue the messages one appointment event causes (none for most)."""
        tenant_id = envelope.tenant_id
        kind = APPOINTMENT_EVENT_KINDS.get(envelope.event_type)
        if tenant_id is None or (kind is None and envelope.event_type not in TIMED_AFTER):
            return []
        try:
            appointment = self.facts.get_appointment(tenant_id, envelope.aggregate_id)
            if appointment.customer_id is None:
                return []
            customer = self.facts.get_customer(tenant_id, appointment.customer_id)
            service = self.facts.get_service(tenant_id, appointment.service_id)
            site = self.facts.get_site(tenant_id, appointment.site_id)
        except NotFound as error:  # another database's event, an erased customer
            log.info("appointment notification skipped", reason=str(error))
            return []
        tenant = self._tenant_settings(tenant_id)
        recipient = recipient_of(customer)
        now = self.clock()
        planned: list[PlannedMessage] = []
        if kind is not None and tenant.is_on(kind):
            gone = appointment_news_gone(kind, None, appointment.status, appointment.start)
            if gone is None:
                event_id = immediate_event_id(appointment.id, envelope.aggregate_version)
                plan = plan_messages(kind, event_id, recipient, now, site.timezone)
                planned += plan.messages
        if envelope.event_type in TIMED_AFTER and appointment.status in LIVE:
            planned += self._timed(appointment, service, site, tenant, recipient, envelope, now)
        self._record(tenant_id, appointment, service, site, customer.id, planned, now)
        return planned

    def _timed(
        self,
        appointment: AppointmentView,
        service: ServiceView,
        site: SiteView,
        tenant: TenantNotificationSettings,
        recipient: Recipient,
        envelope: AppointmentEnvelope,
        now: datetime,
    ) -> list[PlannedMessage]:
        """The reminders and the check-in opening of the appointment's current start, each
        held until its time; none whose time had passed when the event happened."""
        rules = service.booking
        early = rules.early_minutes if rules is not None else 0
        late = rules.late_minutes if rules is not None else DEFAULT_LATE_MINUTES
        happened_at = envelope.occurred_at or now
        planned: list[PlannedMessage] = []
        for timed in timed_messages(
            appointment.start, early, tenant.appointment_reminder_minutes, happened_at
        ):
            if not tenant.is_on(timed.kind):
                continue
            # A reminder tells nothing once the appointment started; "check in now" nothing
            # once the window closed.
            ends_at = appointment.start
            if timed.kind is MessageKind.APPOINTMENT_CHECK_IN_OPEN:
                ends_at += timedelta(minutes=late)
            planned += plan_timed(
                timed, appointment.id, appointment.start, recipient, site.timezone, ends_at
            )
        return planned

    def _tenant_settings(self, tenant_id: UUID) -> TenantNotificationSettings:
        if self.setup is not None:
            return self.setup.get_settings(tenant_id)
        return TenantNotificationSettings(
            kinds={}, turn_near_position=self.settings.near_position, turn_near_eta_minutes=None
        )

    def _record(
        self,
        tenant_id: UUID,
        appointment: AppointmentView,
        service: ServiceView,
        site: SiteView,
        customer_id: UUID,
        planned: list[PlannedMessage],
        now: datetime,
    ) -> None:
        """Render, record (those already there, or to a customer erased meanwhile, are not
        added) and queue each message that is new or still waits for its job (a crash may have
        come between recording and queueing; the job sends only what still waits)."""
        if not planned:
            return
        link = self.link(tenant_id, appointment) if self.link is not None else None
        entries = []
        for message in planned:
            values = appointment_values(appointment, service, site, link, message.language)
            rendered = render_for_tenant(self.setup, tenant_id, message, values)
            body = MessageBody(text=rendered.text, subject=rendered.subject, html=rendered.html)
            delivery = Delivery(
                id=message.message_id,
                kind=message.kind,
                channel=message.channel,
                created_at=now,
                address=message.address,
                body=body.encode(),
                attempt_limit=self.settings.max_attempts,
                status=DeliveryStatus.HELD if message.not_before else DeliveryStatus.QUEUED,
                not_before=message.not_before,
            )
            entries.append(
                LedgerEntry(
                    tenant_id,
                    delivery,
                    message.language,
                    customer_id,
                    appointment_id=appointment.id,
                    appointment_start=appointment.start,
                )
            )
        added = self.ledger.record_new(entries)
        self.recorded += len(added)
        again = [entry.message_id for entry in entries if entry.message_id not in added]
        queued = added | (self.ledger.queued_among(tenant_id, again) if again else set())
        for entry in entries:
            if entry.message_id in queued:
                not_before = entry.delivery.not_before
                self.jobs.enqueue(tenant_id, entry.message_id, not_before=not_before)
        log.info(
            "appointment notifications",
            appointment_id=str(appointment.id),
            planned=len(entries),
            added=len(added),
        )
