"""The notification use cases of a process's container (:mod:`infrastructure.container`):
the staff's notifications, the tenants' webhooks and notification setup, the providers'
delivery reports, each built from the notification adapters and the process's settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from psycopg_pool import ConnectionPool

from application.catalogue import Catalogue
from application.customers import Customers
from application.delivery_reports import DeliveryReports
from application.notification_setup import NotificationSetup
from application.notifications import NotificationFacts
from application.queues import Queues
from application.staff_notifications import Notifications
from application.tickets import Tickets
from application.webhooks import Webhooks
from domain.notify_rules import NearThresholds
from infrastructure.kafka.contract import catalogue as event_catalogue
from infrastructure.notify.jobs import delivery_broker
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.outbox import LedgerOutbox
from infrastructure.notify.templates import SandboxedTemplates
from infrastructure.notify.twilio import verify_twilio_signature
from infrastructure.notify.webhook_jobs import WebhookJobs
from infrastructure.notify.wiring import Notifications as NotifyWiring
from infrastructure.notify.wiring import webhook_jobs
from infrastructure.settings.notify import NotifySettings
from infrastructure.stores.notification_setup import PostgresNotificationSetup


def notification_setup(
    pool: ConnectionPool, settings: NotifySettings, clock: Callable[[], datetime]
) -> NotificationSetup:
    """The tenants' message templates and notification settings."""
    return NotificationSetup(
        PostgresNotificationSetup(pool),
        SandboxedTemplates(),
        NearThresholds(position=settings.near_position, eta_minutes=None),
        clock=clock,
    )


def staff_notifications(
    notify: NotifyWiring,
    settings: NotifySettings,
    tickets: Tickets,
    queues: Queues,
    catalogue: Catalogue,
    customers: Customers,
) -> Notifications:
    """The staff's use cases on notifications: the ledger's list, free messages."""
    facts = NotificationFacts(tickets, queues, catalogue, customers)
    outbox = LedgerOutbox(notify.ledger, notify.jobs, settings.max_attempts)
    return Notifications(facts, outbox)


def webhook_deliveries(
    pool: ConnectionPool, redis_url: str, settings: NotifySettings
) -> WebhookJobs:
    """Records and queues webhook deliveries (sent by ``smartqueue jobs``)."""
    return webhook_jobs(delivery_broker(redis_url, settings), pool, settings)


def webhooks(jobs: WebhookJobs, settings: NotifySettings) -> Webhooks:
    """The tenants' webhook subscriptions, their log, test pings and redeliveries."""
    return Webhooks(
        jobs.store,
        jobs,
        frozenset(event_catalogue()),
        allow_http=settings.webhooks_allow_private,
    )


def delivery_reports(pool: ConnectionPool, settings: NotifySettings) -> DeliveryReports:
    """Providers' status callbacks applied to the notification ledger."""

    def twilio_check(query: str, form: Any, signature: str | None) -> bool:
        # Not configured: Twilio was never given a callback URL, so nothing is Twilio's.
        if not (settings.twilio_status_callback_url and settings.twilio_auth_token):
            return False
        url = settings.twilio_status_callback_url
        if query:
            url = f"{url.split('?', 1)[0]}?{query}"
        return verify_twilio_signature(settings.twilio_auth_token, url, form, signature)

    return DeliveryReports(PostgresLedger(pool), twilio_check)
