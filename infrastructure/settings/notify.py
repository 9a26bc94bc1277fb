"""Settings of customer notifications: the delivery jobs (dramatiq workers and their retries),
the notifier's consumer group, and the providers each channel sends through. A channel whose
provider is not configured sends to the console channel (logged, never delivered)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from infrastructure.settings.variables import FLAG, Interval, Port, Positive, env, flag


@dataclass(frozen=True)
class NotifySettings:
    """How messages are decided, queued, retried and sent."""

    jobs_threads: Positive = env("SMARTQUEUE_JOBS_THREADS", 4)
    """SMARTQUEUE_JOBS_THREADS: worker threads of ``smartqueue jobs`` (default 4)."""
    max_attempts: Positive = env("SMARTQUEUE_NOTIFY_MAX_ATTEMPTS", 5)
    """SMARTQUEUE_NOTIFY_MAX_ATTEMPTS: sends tried before a message is dead (default 5)."""
    min_backoff_seconds: Interval = env("SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS", 5.0)
    """SMARTQUEUE_NOTIFY_MIN_BACKOFF_SECONDS: wait before the first retry, doubled each time
    with jitter (default 5)."""
    max_backoff_seconds: Interval = env("SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS", 600.0)
    """SMARTQUEUE_NOTIFY_MAX_BACKOFF_SECONDS: the longest wait between retries (default 600)."""
    near_position: Positive = env("SMARTQUEUE_NOTIFY_NEAR_POSITION", 3)
    """SMARTQUEUE_NOTIFY_NEAR_POSITION: "your turn is near" goes to a waiting customer at this
    position or closer (1 = next), once per ticket and queue (default 3)."""
    notifier_group: str = env("SMARTQUEUE_NOTIFIER_GROUP", "smartqueue-notifier")
    """SMARTQUEUE_NOTIFIER_GROUP: the notifiers' Kafka consumer group."""
    smtp_host: str = env("SMARTQUEUE_SMTP_HOST", "")
    """SMARTQUEUE_SMTP_HOST: the SMTP server for email (empty: email goes to the console)."""
    smtp_port: Port = env("SMARTQUEUE_SMTP_PORT", 587)
    """SMARTQUEUE_SMTP_PORT (default 587)."""
    smtp_security: Literal["starttls", "tls", "none"] = env("SMARTQUEUE_SMTP_SECURITY", "starttls")
    """SMARTQUEUE_SMTP_SECURITY: ``starttls``, ``tls`` (from the first byte) or ``none``."""
    smtp_username: str = env("SMARTQUEUE_SMTP_USERNAME", "")
    """SMARTQUEUE_SMTP_USERNAME: AUTH login (empty: no AUTH)."""
    smtp_password: str = env("SMARTQUEUE_SMTP_PASSWORD", "")
    """SMARTQUEUE_SMTP_PASSWORD."""
    smtp_sender: str = env("SMARTQUEUE_SMTP_SENDER", "SmartQueue <no-reply@localhost>")
    """SMARTQUEUE_SMTP_SENDER: the From address."""
    twilio_account_sid: str = env("SMARTQUEUE_TWILIO_ACCOUNT_SID", "")
    """SMARTQUEUE_TWILIO_ACCOUNT_SID (empty: SMS and WhatsApp go to the console)."""
    twilio_auth_token: str = env("SMARTQUEUE_TWILIO_AUTH_TOKEN", "")
    """SMARTQUEUE_TWILIO_AUTH_TOKEN."""
    twilio_sms_from: str = env("SMARTQUEUE_TWILIO_SMS_FROM", "")
    """SMARTQUEUE_TWILIO_SMS_FROM: the sending number (E.164)."""
    twilio_whatsapp_from: str = env("SMARTQUEUE_TWILIO_WHATSAPP_FROM", "")
    """SMARTQUEUE_TWILIO_WHATSAPP_FROM: the WhatsApp-enabled number (E.164)."""
    twilio_base_url: str = env("SMARTQUEUE_TWILIO_BASE_URL", "https://api.twilio.com")
    """SMARTQUEUE_TWILIO_BASE_URL: Twilio's API (tests point it at a local server)."""
    twilio_status_callback_url: str = env("SMARTQUEUE_TWILIO_STATUS_CALLBACK_URL", "")
    """SMARTQUEUE_TWILIO_STATUS_CALLBACK_URL: the public URL of
    ``/api/v1/callbacks/twilio/status/`` exactly as Twilio calls it (signatures are checked
    against it); empty: Twilio is not asked for status reports and the endpoint answers 403."""
    webhooks_allow_private: bool = env(
        "SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE", False, parse=flag, form=FLAG
    )
    """SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE: let webhook subscriptions use plain http and reach
    loopback and private addresses (development and tests only; default false)."""
