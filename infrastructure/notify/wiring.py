"""The notification side of a process's composition: the channels its settings configure, the
ledger and the delivery jobs on the process's pool and Redis. Built on demand by the roles that
need them (``smartqueue jobs``, ``smartqueue notifier``), never at import."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import msgspec
from psycopg_pool import ConnectionPool

from application.delivery import Channel
from infrastructure.jobs.auto_no_show import AutoNoShowJobs, ExpiresCalls
from infrastructure.notify.email import SmtpChannel
from infrastructure.notify.fcm import FcmChannel, ServiceAccount
from infrastructure.notify.jobs import (
    AppointmentReader,
    DeliveryJobs,
    TicketReader,
    delivery_broker,
)
from infrastructure.notify.ledger import PostgresLedger
from infrastructure.notify.twilio import TwilioChannel
from infrastructure.notify.webhook_jobs import WebhookJobs
from infrastructure.notify.webhook_store import PostgresWebhooks
from infrastructure.settings.notify import NotifySettings


def configured_channels(settings: NotifySettings) -> dict[str, Channel]:
    """The channels whose provider is configured; the others go to the console channel."""
    channels: dict[str, Channel] = {}
    if settings.smtp_host:
        channels["email"] = SmtpChannel(
            settings.smtp_host,
            settings.smtp_port,
            sender=settings.smtp_sender,
            security=settings.smtp_security,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
        )
    if settings.twilio_account_sid:
        twilio = TwilioChannel(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            sms_sender=settings.twilio_sms_from or None,
            whatsapp_sender=settings.twilio_whatsapp_from or None,
            base_url=settings.twilio_base_url,
            status_callback=settings.twilio_status_callback_url or None,
        )
        channels["sms"] = channels["whatsapp"] = twilio
    if settings.fcm_credentials_file:
        channels["push"] = FcmChannel(fcm_account(settings), base_url=settings.fcm_base_url)
    return channels


def fcm_account(settings: NotifySettings) -> ServiceAccount:
    """The service account of ``SMARTQUEUE_FCM_CREDENTIALS_FILE`` (checked when the settings
    were loaded), with the project and token endpoint the settings override."""
    account = ServiceAccount.from_json(Path(settings.fcm_credentials_file))
    overrides = {
        "project_id": settings.fcm_project_id.strip(),
        "token_uri": settings.fcm_token_url.strip(),
    }
    return msgspec.structs.replace(account, **{k: v for k, v in overrides.items() if v})


class TicketJobs(ExpiresCalls, TicketReader, Protocol):
    """What the jobs read and change of tickets (``application.tickets.Tickets``)."""


@dataclass
class Notifications:
    """The ledger, the delivery jobs, the webhook jobs and the auto no-show jobs of one process
    (one broker)."""

    ledger: PostgresLedger
    jobs: DeliveryJobs
    webhooks: WebhookJobs
    no_shows: AutoNoShowJobs

    def close(self) -> None:
        """Release the broker's Redis connections and the channels' HTTP connections."""
        self.jobs.broker.close()
        self.webhooks.close()
        for channel in {id(c): c for c in self.jobs.channels.values()}.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()


def build_notifications(
    pool: ConnectionPool,
    redis_url: str,
    settings: NotifySettings,
    tickets: TicketJobs | None = None,
    appointments: AppointmentReader | None = None,
) -> Notifications:
    """The ledger on ``pool``, the delivery, webhook and auto no-show jobs on the Redis of
    ``redis_url`` (``tickets`` runs the no-shows and checks held messages are still news,
    ``appointments`` checks held appointment messages; a process without them only schedules
    and queues)."""
    ledger = PostgresLedger(pool)
    broker = delivery_broker(redis_url, settings)
    jobs = DeliveryJobs(
        broker,
        ledger,
        configured_channels(settings),
        tickets=tickets,
        appointments=appointments,
    )
    return Notifications(
        ledger, jobs, webhook_jobs(broker, pool, settings), AutoNoShowJobs(broker, tickets)
    )


def webhook_jobs(broker: Any, pool: ConnectionPool, settings: NotifySettings) -> WebhookJobs:
    """The ``deliver_webhook`` actor on ``broker``, over the subscriptions on ``pool``."""
    return WebhookJobs(
        broker,
        PostgresWebhooks(pool),
        attempt_limit=settings.max_attempts,
        public_only=not settings.webhooks_allow_private,
    )
