"""The development channel: every message is logged and kept in memory, and none ever fails.

``smartqueue dev`` sends SMS, WhatsApp and push here when no provider is configured, so a newcomer
sees what would have gone out. It logs recipients and bodies: never use it with real customers.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import structlog

from application.delivery import OutboundMessage, Receipt

log = structlog.get_logger(__name__)

KEPT = 1000
"""Messages kept in memory (the oldest are forgotten first)."""


class ConsoleChannel:
    """Records each message to the log and to ``sent``; any channel may be sent here."""

    def __init__(self, kept: int = KEPT) -> None:
        self._sent: deque[OutboundMessage] = deque(maxlen=kept)

    def send(self, message: OutboundMessage) -> Receipt:
        """Log and keep the message; the receipt's provider id is ``console:<message id>``."""
        self._sent.append(message)
        log.info(
            "notification.console",
            message_id=message.message_id,
            channel=message.channel,
            recipient=message.recipient,
            subject=message.subject,
            text=message.text,
            language=message.language,
        )
        return Receipt(provider_id=f"console:{message.message_id}", status="sent")

    @property
    def sent(self) -> Sequence[OutboundMessage]:
        """The messages recorded so far, oldest first."""
        return tuple(self._sent)
