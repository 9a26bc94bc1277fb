"""The port every notification channel implements, and the two ways a delivery can fail.

A delivery job hands an ``OutboundMessage`` to the ``Channel`` of its ``channel`` and records the
``Receipt``. A ``TransientFailure`` means "try again later" (the job retries with back-off); a
``PermanentFailure`` means no retry can succeed (the message is dead at once).
"""

from __future__ import annotations

from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

ChannelName = Literal["email", "sms", "whatsapp", "push", "webhook"]
"""The delivery channels a message can go out on."""


class OutboundMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One message, already rendered, addressed to one recipient on one channel."""

    message_id: str
    """The delivery ledger's id: stable across retries, so providers that take an idempotency key
    get this one, and a retried job never sends twice where the provider can tell."""
    channel: ChannelName
    recipient: str
    """An email address, a phone number in E.164, a device registration token or a URL."""
    text: str = ""
    """The plain-text body (email's text part, the SMS or WhatsApp body, the push body)."""
    subject: str = ""
    """Email's subject; the push notification's title."""
    html: str | None = None
    """Email only: the HTML alternative of ``text``."""
    data: dict[str, Any] = msgspec.field(default_factory=dict)
    """The push data payload, or the webhook's JSON body."""
    language: str = "en"
    """BCP 47 tag of the language the message was rendered in."""
    tenant_id: UUID | None = None


class Receipt(msgspec.Struct, frozen=True):
    """What the provider said when it took the message."""

    provider_id: str
    """The provider's id for the message (Twilio's SID, FCM's message name, an SMTP Message-ID)."""
    status: Literal["sent", "queued"]
    """``sent`` when the provider handed it on; ``queued`` when it will, and reports back later."""


class DeliveryFailure(Exception):
    """A channel could not deliver a message."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientFailure(DeliveryFailure):
    """The provider may take the message later: rate limited, down, timed out, unreachable."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after
        """Seconds the provider asked us to wait (``Retry-After``), when it said."""


class PermanentFailure(DeliveryFailure):
    """The provider refused the message for good: an invalid recipient, a rejected request."""


class Channel(Protocol):
    """Sends messages of one channel through one provider."""

    def send(self, message: OutboundMessage) -> Receipt:
        """Hand ``message`` to the provider; raise ``TransientFailure`` or ``PermanentFailure``."""
        ...
