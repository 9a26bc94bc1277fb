"""Appointment messages end to end: a booking's events go through the relay to the embedded
Kafka broker, the notifier records the customer's confirmation and a reminder held until its
time, and a jobs worker sends them to a real SMTP server; a cancelled appointment's pending
reminder is skipped when it comes due, never sent."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from application.appointment_notifications import AppointmentFacts
from application.appointment_views import AppointmentView
from application.appointments import Appointments
from application.notifications import NotificationFacts
from application.paging import PageRequest
from domain.delivery import DeliveryStatus
from infrastructure.notify.ledger_rows import LedgerEntry
from infrastructure.notify.notifier import Notifier
from infrastructure.settings import load_settings
from interfaces.notifier_cli import appointment_links
from tests.integration import test_notifier
from tests.integration.conftest import TenantWorld, on_own_broker, on_own_database
from tests.integration.test_notifier import Running, Stack, eventually

pytestmark = pytest.mark.integration
stack = test_notifier.stack  # the notifier tests' fixture: SMTP server, ledger, jobs worker

# A database and a broker of their own: the e2e suites' session-wide ``smartqueue relay`` follows
# the session database and holds the relay's lock there, so a relay started here would only stand
# by, and the events would go to the session broker instead of this module's.
container, world = on_own_database()
kafka_bootstrap = on_own_broker()

PARIS = ZoneInfo("Europe/Paris")
REMINDER_MINUTES = 10
DUE_IN = timedelta(seconds=4)
"""How soon the reminder comes due: the shared clock of the notifier and jobs is moved so."""
LINK = re.compile(r"https?://\S+/a/([A-Za-z0-9_.-]+)")


def notifier_with_appointments(stack: Stack) -> Running:
    """The test stack's notifier with what ``smartqueue notifier`` gives it for appointments."""
    container = stack.container
    settings = container.settings
    notifier = Notifier(
        NotificationFacts(
            container.tickets, container.queues, container.catalogue, container.customers
        ),
        stack.ledger,
        stack.jobs,
        dataclasses.replace(settings.kafka, bootstrap_servers=stack.bootstrap),
        load_settings({"SMARTQUEUE_NOTIFIER_GROUP": stack.group}).notify,
        clock=stack.clock,
        setup=container.notification_setup,
        appointment_facts=AppointmentFacts(
            Appointments(container.app), container.catalogue, container.customers
        ),
        appointment_link=appointment_links(container, settings),
    )
    return Running(notifier)


def book_with_reminder_due_soon(
    stack: Stack, world: TenantWorld, address: str
) -> tuple[AppointmentView, datetime]:
    """A customer's appointment 20 to 35 minutes ahead, with a reminder ten minutes before
    it; the stack's clock moved so that the reminder comes due :data:`DUE_IN` from now."""
    app = world.container
    app.notification_setup.put_settings(
        world.context, {}, 3, None, appointment_reminder_minutes=[REMINDER_MINUTES]
    )
    customer = app.customers.register_customer(
        world.context, "Camille Rdv", email=address, channels=["email"], language="fr"
    )
    now = datetime.now(PARIS)
    start = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    start += timedelta(minutes=30)
    send_at = start - timedelta(minutes=REMINDER_MINUTES)
    stack.clock.offset = send_at.astimezone(UTC) - datetime.now(UTC) - DUE_IN
    appointment = app.appointments.book_appointment(
        world.context, world.site_id, world.service_id, start, customer_id=customer.id
    )
    return appointment, send_at


def mails(stack: Stack, address: str, subject_starts: str) -> list:
    return [d for d in stack.smtp.to(address) if d.message["Subject"].startswith(subject_starts)]


def entries(stack: Stack, world: TenantWorld, kind: str) -> list[LedgerEntry]:
    page = stack.ledger.search(world.tenant_id, PageRequest(limit=50))
    return [entry for entry in page.items if entry.delivery.kind.value == kind]


def test_a_booking_sends_its_confirmation_and_the_reminder_at_its_time(
    stack: Stack, world: TenantWorld
) -> None:
    address = "rdv@example.org"
    stack.relay()
    running = notifier_with_appointments(stack)
    eventually(lambda: bool(running.notifier.pinned))

    appointment, send_at = book_with_reminder_due_soon(stack, world, address)
    stack.relay()

    eventually(lambda: bool(mails(stack, address, "Rendez-vous confirmé le")))
    [reminder] = entries(stack, world, "appointment_reminder")
    if reminder.delivery.status is DeliveryStatus.HELD:  # not yet due: not sent either
        assert reminder.delivery.not_before == send_at
        assert not mails(stack, address, "Rappel")
    eventually(lambda: bool(mails(stack, address, "Rappel : rendez-vous le")))
    running.stop()

    local = appointment.start.astimezone(PARIS)
    [confirmation] = mails(stack, address, "Rendez-vous confirmé le")
    text = confirmation.message.get_body(("plain",)).get_content()
    assert f"à {local:%H:%M}. Code {appointment.code}." in text
    assert "Accounts" in text and "Mon rendez-vous" in text
    assert LINK.search(text) is not None
    [sent] = entries(stack, world, "appointment_reminder")
    assert sent.delivery.status is DeliveryStatus.SENT
    assert sent.delivery.sent_at >= send_at  # on the shared clock: not before its time
    # The check-in opened before the booking (30 minutes early): no "check in now" message.
    assert entries(stack, world, "appointment_check_in_open") == []


def test_a_cancelled_appointments_pending_reminder_is_skipped_when_due(
    stack: Stack, world: TenantWorld
) -> None:
    address = "annule@example.org"
    stack.relay()
    running = notifier_with_appointments(stack)
    eventually(lambda: bool(running.notifier.pinned))

    appointment, _ = book_with_reminder_due_soon(stack, world, address)
    stack.relay()
    eventually(lambda: len(entries(stack, world, "appointment_reminder")) == 1)
    world.container.appointments.cancel_appointment(world.context, appointment.id)
    stack.relay()

    eventually(lambda: bool(mails(stack, address, "Rendez-vous du")))  # the cancellation
    eventually(
        lambda: (
            entries(stack, world, "appointment_reminder")[0].delivery.status
            is DeliveryStatus.SKIPPED
        )
    )
    running.stop()
    [skipped] = entries(stack, world, "appointment_reminder")
    assert skipped.delivery.error == "no longer news: the appointment is cancelled"
    assert not mails(stack, address, "Rappel")
