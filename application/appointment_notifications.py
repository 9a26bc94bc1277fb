"""Which messages an appointment's events send its customer, and when.

Booking, moving and cancelling an appointment tell the customer at once
(:data:`APPOINTMENT_EVENT_KINDS`). A live appointment also gets timed messages: a reminder at
each of the tenant's offsets before its start (default 24 h and 1 h) and "you can check in
now" when its check-in window opens (the service's ``early_minutes`` before the start). A timed
message whose time had already passed when the event happened (booked 30 minutes before the
start: no 1-hour reminder) is not planned.

Ids are deterministic: an immediate message's derives from the event (as a ticket's), a timed
one's from the appointment, its kind, its start and its offset, so handling a batch again adds
nothing, and a moved appointment gets new timed messages while the old ones, when they come due,
are no longer news (:func:`appointment_news_gone`) and are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import UUID, uuid5

from application.appointment_views import AppointmentView
from application.appointments import Appointments
from application.catalogue import Catalogue
from application.customers import Customers
from application.notifications import PlannedMessage, Recipient, event_uuid, plan_messages
from application.views import CustomerView, ServiceView, SiteView
from domain.appointments import LIVE
from domain.messages import MessageKind

K = MessageKind
APPOINTMENT_EVENT_KINDS: dict[str, MessageKind] = {
    "Appointment.Booked": K.APPOINTMENT_CONFIRMED,
    "Appointment.Rescheduled": K.APPOINTMENT_RESCHEDULED,
    "Appointment.Cancelled": K.APPOINTMENT_CANCELLED,
}
"""The appointment events that tell its customer something at once, and what."""

TIMED_AFTER = frozenset({"Appointment.Booked", "Appointment.Rescheduled"})
"""The events after which the appointment's timed messages are planned (for its new start)."""


@dataclass(frozen=True)
class Timed:
    """A message due at ``send_at``: a reminder ``offset_minutes`` before the start, or the
    opening of check-in (its offset is the service's ``early_minutes``)."""

    kind: MessageKind
    send_at: datetime
    offset_minutes: int


def timed_messages(
    start: datetime,
    early_minutes: int,
    reminder_minutes: tuple[int, ...] | list[int],
    happened_at: datetime,
) -> list[Timed]:
    """The reminders and the check-in opening of an appointment starting at ``start``, in
    time order, leaving out those whose time had passed when the event (booking or move)
    ``happened_at``."""
    wanted = [
        Timed(K.APPOINTMENT_REMINDER, start - timedelta(minutes=m), m)
        for m in set(reminder_minutes)
    ]
    wanted.append(
        Timed(K.APPOINTMENT_CHECK_IN_OPEN, start - timedelta(minutes=early_minutes), early_minutes)
    )
    return sorted(
        (timed for timed in wanted if timed.send_at >= happened_at),
        key=lambda timed: (timed.send_at, timed.kind.value),
    )


def timed_event_id(appointment_id: UUID, kind: MessageKind, start: datetime, offset: int) -> UUID:
    """The key of a timed message, in place of an event's: the same appointment, kind, start
    and offset always name the same message; another start names another."""
    return uuid5(appointment_id, f"{kind.value}:{start.timestamp():.0f}:{offset}")


def immediate_event_id(appointment_id: UUID, version: int) -> UUID:
    """The key of the message an appointment's event sends at once."""
    return event_uuid(appointment_id, version)


def plan_timed(
    timed: Timed,
    appointment_id: UUID,
    start: datetime,
    recipient: Recipient,
    timezone: str,
    ends_at: datetime,
) -> list[PlannedMessage]:
    """The messages of ``timed``, each held until its time (or, when that falls in the
    customer's quiet hours, until they end); none when the quiet hours last past ``ends_at``
    (a reminder after the start, a check-in call after the window closed tells nothing)."""
    event_id = timed_event_id(appointment_id, timed.kind, start, timed.offset_minutes)
    plan = plan_messages(timed.kind, event_id, recipient, timed.send_at, timezone)
    not_before = plan.not_before or timed.send_at
    if not_before >= ends_at:
        return []
    return [replace(message, not_before=not_before) for message in plan.messages]


def appointment_news_gone(
    kind: MessageKind,
    planned_start: datetime | None,
    status: str,
    start: datetime,
) -> str | None:
    """Why a message of ``kind`` planned for an appointment starting at ``planned_start`` is no
    longer news now that the appointment is ``status`` and starts at ``start``; ``None`` when
    it still is. A cancellation is always news; the others only while the appointment holds
    its place at the start they name."""
    if kind is K.APPOINTMENT_CANCELLED:
        return None
    if status not in LIVE:
        return f"no longer news: the appointment is {status}"
    if planned_start is not None and planned_start != start:
        return "no longer news: the appointment moved"
    return None


@dataclass(frozen=True)
class AppointmentFacts:
    """What the notifier reads about an appointment's event, from the contexts that own it:
    the appointment, its service and site (catalogue), its customer."""

    appointments: Appointments
    catalogue: Catalogue
    customers: Customers

    def get_appointment(self, tenant_id: UUID, appointment_id: UUID) -> AppointmentView:
        return self.appointments.get_appointment(tenant_id, appointment_id)

    def get_service(self, tenant_id: UUID, service_id: UUID) -> ServiceView:
        return self.catalogue.get_service(tenant_id, service_id)

    def get_site(self, tenant_id: UUID, site_id: UUID) -> SiteView:
        return self.catalogue.get_site(tenant_id, site_id)

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView:
        return self.customers.get_customer(tenant_id, customer_id)
