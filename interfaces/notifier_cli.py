"""``smartqueue notifier``: ticket events from Kafka become customer messages, recorded in the
delivery ledger and queued for ``smartqueue jobs``."""

from __future__ import annotations

import sys
from datetime import timedelta
from uuid import UUID

import click

from application.appointment_notifications import AppointmentFacts
from application.appointment_views import APPOINTMENT_LINK, AppointmentView
from application.appointments import Appointments
from application.notifications import NotificationFacts
from application.ports import TicketPass
from application.views import SiteView, TicketView
from domain.tickets import TicketStatus
from infrastructure.container import Container, build_container
from infrastructure.identity.ticket_passes import (
    APPOINTMENT_LABEL,
    HmacTicketPasses,
    derive_pass_key,
)
from infrastructure.identity.tokens import load_signing_key
from infrastructure.notify.appointment_news import AppointmentLink
from infrastructure.notify.notifier import Notifier, start_notifier
from infrastructure.notify.ticket_news import TicketLink
from infrastructure.notify.wiring import Notifications, build_notifications
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import Settings
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role

APPOINTMENT_PASS_DAYS = 7
"""How long after an appointment's end its link still opens the "my appointment" page."""


def run_notifier_in_background(
    container: Container, notifications: Notifications, settings: Settings, supervisor: Supervisor
) -> Notifier:
    """The notifier in a supervised thread of this process (also ``smartqueue dev``)."""
    facts = NotificationFacts(
        container.tickets, container.queues, container.catalogue, container.customers
    )
    return start_notifier(
        facts,
        notifications.ledger,
        notifications.jobs,
        settings.kafka,
        settings.notify,
        supervisor,
        with_eta=container.ticket_queries.with_eta,
        with_etas=container.ticket_queries.with_etas,
        setup=container.notification_setup,
        webhooks=notifications.webhooks,
        no_shows=notifications.no_shows,
        link=ticket_links(container, settings),
        appointment_facts=AppointmentFacts(
            Appointments(container.app), container.catalogue, container.customers
        ),
        appointment_link=appointment_links(container, settings),
    )


def public_base(settings: Settings) -> str:
    """The public pages' base address: ``SMARTQUEUE_PUBLIC_BASE_URL``, else this process's own
    (right for ``smartqueue dev``)."""
    return (settings.public.base_url or f"http://{settings.http.host}:{settings.http.port}").rstrip(
        "/"
    )


def appointment_links(container: Container, settings: Settings) -> AppointmentLink:
    """``{link}`` in appointment messages: the "my appointment" page, its pass valid until a
    week after the appointment's end."""
    key = load_signing_key(settings.auth.jwt_secret, settings.home)
    passes = HmacTicketPasses(derive_pass_key(key, APPOINTMENT_LABEL))
    base = public_base(settings)

    def link(tenant_id: UUID, appointment: AppointmentView) -> str:
        expires_at = appointment.end + timedelta(days=APPOINTMENT_PASS_DAYS)
        token = passes.issue(TicketPass(tenant_id, appointment.id, expires_at))
        return base + APPOINTMENT_LINK.format(token=token)

    return link


def ticket_links(container: Container, settings: Settings) -> TicketLink | None:
    """``{link}`` in messages: the "my ticket" page at ``SMARTQUEUE_PUBLIC_BASE_URL`` (or this
    process's own address when unset, right for ``smartqueue dev``); once the ticket is
    completed (the feedback request), its feedback page."""
    public, feedback = container.public, container.feedback
    if public is None:
        return None
    base = public_base(settings)

    def link(tenant_id: UUID, ticket: TicketView, site: SiteView) -> str:
        if feedback is not None and ticket.status == TicketStatus.COMPLETED:
            finished_at = ticket.finished_at or container.app.clock()
            return base + feedback.feedback_link(tenant_id, ticket.id, finished_at)
        return base + public.link_for(tenant_id, ticket, site.timezone)

    return link


@click.command("notifier")
def notifier_command() -> None:
    """Decide the messages ticket events send customers (issued, called, recalled, transferred,
    no-show, cancelled) and appointment events (confirmed, moved, cancelled, reminders, check-in
    open), and queue them for delivery. Run as many as you like: the Kafka consumer
    group shares the partitions, and the ledger records each message once."""
    stop = stop_on_signals()
    started = start_role(broker=True)
    settings = started.settings
    container = build_container(settings)
    notifications = build_notifications(container.pool, container.redis_url, settings.notify)
    supervisor = Supervisor(stop, max_restarts=settings.supervision.max_restarts)
    try:
        run_notifier_in_background(container, notifications, settings, supervisor)
        click.echo(
            f"notifier consuming {settings.kafka.bootstrap_servers}"
            f" as group {settings.notify.notifier_group}",
            err=True,
        )
        stop.wait()
        supervisor.join(10)
    finally:
        notifications.close()
        container.close()
        started.stop_broker()
    if supervisor.gave_up.is_set():
        sys.exit(1)  # for the process supervisor to restart the role
