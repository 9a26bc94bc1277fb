"""Settings of customer notifications: the delivery jobs (dramatiq workers and their retries),
the notifier's consumer group, and the providers each channel sends through. A channel whose
provider is not configured sends to the console channel (logged, never delivered)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from infrastructure.settings.variables import FLAG, Interval, Port, Positive, Unusable, env, flag

SERVICE_ACCOUNT_KEYS = ("project_id", "client_email", "private_key")
"""What a Google service-account key file must hold for FCM (Google's downloads always do)."""
SERVICE_ACCOUNT_FILE = (
    "a readable Google service-account key file (JSON with project_id, client_email and "
    "private_key)"
)


def service_account_file(text: str) -> str:
    """The absolute path of a service-account key file that can be read and holds a usable
    private key: checked at start, so a bad file stops the process rather than every push."""
    path = Path(text.strip()).expanduser().resolve()
    try:
        content = path.read_bytes()
    except OSError as error:
        raise Unusable(f"cannot read it: {error.strerror or error}") from None
    try:
        key_file = msgspec.json.decode(content)
    except msgspec.DecodeError:
        raise Unusable("it is not JSON") from None
    if not isinstance(key_file, dict):
        raise Unusable("it is not a JSON object")
    for key in SERVICE_ACCOUNT_KEYS:
        if not isinstance(key_file.get(key), str) or not key_file[key].strip():
            raise Unusable(f"it has no {key}")
    try:
        load_pem_private_key(key_file["private_key"].encode(), password=None)
    except (ValueError, TypeError):
        raise Unusable("its private_key is not an unencrypted PEM private key") from None
    return str(path)


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
    no_show_sweep_seconds: Interval = env("SMARTQUEUE_AUTO_NO_SHOW_SWEEP_SECONDS", 15.0)
    """SMARTQUEUE_AUTO_NO_SHOW_SWEEP_SECONDS: how often ``smartqueue worker`` looks for called
    tickets past their queue's auto no-show delay that no delayed job marked (a call no
    notifier read), so they are marked at most this late (default 15)."""
    appointment_no_show_sweep_seconds: Interval = env(
        "SMARTQUEUE_APPOINTMENT_NO_SHOW_SWEEP_SECONDS", 60.0
    )
    """SMARTQUEUE_APPOINTMENT_NO_SHOW_SWEEP_SECONDS: how often ``smartqueue worker`` looks for
    live appointments past their check-in window that no delayed job marked no-show (Redis
    flushed, a job failed), so they are marked at most this late after the window closed,
    plus the read model's lag (default 60)."""
    facts_ttl_seconds: Interval = env("SMARTQUEUE_NOTIFY_FACTS_TTL_SECONDS", 10.0)
    """SMARTQUEUE_NOTIFY_FACTS_TTL_SECONDS: how long the notifier keeps a queue's and a site's
    names, a customer's contact details and preferences and a tenant's notification settings
    and templates before reading them again (default 10; their own events drop them sooner).
    An erased customer is never sent to: the ledger's insert checks they still exist."""
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
    fcm_credentials_file: str = env(
        "SMARTQUEUE_FCM_CREDENTIALS_FILE", "", parse=service_account_file, form=SERVICE_ACCOUNT_FILE
    )
    """SMARTQUEUE_FCM_CREDENTIALS_FILE: the service account's JSON key file for FCM HTTP v1
    (empty: push goes to the console); read and checked at start."""
    fcm_project_id: str = env("SMARTQUEUE_FCM_PROJECT_ID", "")
    """SMARTQUEUE_FCM_PROJECT_ID: the Firebase project to send through (empty: the key file's
    ``project_id``)."""
    fcm_base_url: str = env("SMARTQUEUE_FCM_BASE_URL", "https://fcm.googleapis.com")
    """SMARTQUEUE_FCM_BASE_URL: FCM's API (tests point it at a local server)."""
    fcm_token_url: str = env("SMARTQUEUE_FCM_TOKEN_URL", "")
    """SMARTQUEUE_FCM_TOKEN_URL: the OAuth2 token endpoint (empty: the key file's
    ``token_uri``; tests point it at a local server)."""
    webhooks_allow_private: bool = env(
        "SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE", False, parse=flag, form=FLAG
    )
    """SMARTQUEUE_WEBHOOKS_ALLOW_PRIVATE: let webhook subscriptions use plain http and reach
    loopback and private addresses (development and tests only; default false)."""
