"""The notification side of a process's composition: the channels its settings configure, the
ledger and the delivery jobs on the process's pool and Redis. Built on demand by the roles that
need them (``smartqueue jobs``, ``smartqueue notifier``), never at import."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from psycopg_pool import ConnectionPool

from application.delivery import Channel
from infrastructure.jobs.auto_no_show import AutoNoShowJobs, ExpiresCalls
from infrastructure.notify.email import SmtpChannel
from infrastructure.notify.jobs import DeliveryJobs, delivery_broker
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
    return channels


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
    tickets: ExpiresCalls | None = None,
) -> Notifications:
    """The ledger on ``pool``, the delivery, webhook and auto no-show jobs on the Redis of
    ``redis_url`` (``tickets`` runs the no-shows; a process without it only schedules them)."""
    ledger = PostgresLedger(pool)
    broker = delivery_broker(redis_url, settings)
    jobs = DeliveryJobs(broker, ledger, configured_channels(settings))
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
