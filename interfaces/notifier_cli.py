"""``smartqueue notifier``: ticket events from Kafka become customer messages, recorded in the
delivery ledger and queued for ``smartqueue jobs``."""

from __future__ import annotations

import sys
from uuid import UUID

import click

from application.notifications import NotificationFacts
from application.views import SiteView, TicketView
from infrastructure.container import Container, build_container
from infrastructure.notify.notifier import Notifier, start_notifier
from infrastructure.notify.ticket_news import TicketLink
from infrastructure.notify.wiring import Notifications, build_notifications
from infrastructure.roles.supervisor import Supervisor
from infrastructure.settings import Settings
from interfaces.signals import stop_on_signals
from interfaces.startup import start_role


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
        setup=container.notification_setup,
        webhooks=notifications.webhooks,
        no_shows=notifications.no_shows,
        link=ticket_links(container, settings),
    )


def ticket_links(container: Container, settings: Settings) -> TicketLink | None:
    """``{link}`` in messages: the "my ticket" page at ``SMARTQUEUE_PUBLIC_BASE_URL`` (or this
    process's own address when unset, right for ``smartqueue dev``)."""
    public = container.public
    if public is None:
        return None
    base = (settings.public.base_url or f"http://{settings.http.host}:{settings.http.port}").rstrip(
        "/"
    )

    def link(tenant_id: UUID, ticket: TicketView, site: SiteView) -> str:
        return base + public.link_for(tenant_id, ticket, site.timezone)

    return link


@click.command("notifier")
def notifier_command() -> None:
    """Decide the messages ticket events send customers (issued, called, recalled, transferred,
    no-show, cancelled) and queue them for delivery. Run as many as you like: the Kafka consumer
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
