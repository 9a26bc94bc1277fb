"""The one-time code of a remote join as an SMS: recorded in the delivery ledger like every
customer message, then queued for ``smartqueue jobs`` (the console channel without Twilio).

The entry has no ticket and no customer yet. Its id derives from a fresh id, so a second code
is a second message; the recipient in the id is the phone's digest, never the number.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID, uuid4

from application.notifications import PlannedMessage
from domain.delivery import Delivery, message_id
from domain.join_codes import phone_key
from domain.messages import Channel, MessageKind
from infrastructure.notify.ledger_rows import LedgerEntry, MessageBody
from infrastructure.notify.message_text import TenantTemplates, render_for_tenant
from infrastructure.notify.wiring import Notifications


class LedgerJoinCodeSender:
    """Records a ``join_code`` SMS and queues its delivery (the ``JoinCodeSender`` port)."""

    def __init__(
        self,
        notify: Callable[[], Notifications],
        templates: TenantTemplates | None,
        key: bytes,
        max_attempts: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.notify = notify
        """The process's ledger and jobs, opened on the first code sent."""
        self.templates = templates
        self.key = key
        self.max_attempts = max_attempts
        self.clock = clock

    def send(
        self, tenant_id: UUID, phone: str, code: str, values: dict[str, object], language: str
    ) -> None:
        recipient = phone_key(self.key, tenant_id, phone)
        planned = PlannedMessage(
            message_id=message_id(uuid4(), Channel.SMS, recipient, MessageKind.JOIN_CODE.value),
            kind=MessageKind.JOIN_CODE,
            channel=Channel.SMS,
            address=phone,
            language=language,
        )
        rendered = render_for_tenant(self.templates, tenant_id, planned, values)
        delivery = Delivery(
            id=planned.message_id,
            kind=planned.kind,
            channel=planned.channel,
            created_at=self.clock(),
            address=phone,
            body=MessageBody(text=rendered.text).encode(),
            ticket_id=None,
            attempt_limit=self.max_attempts,
        )
        notify = self.notify()
        notify.ledger.record(LedgerEntry(tenant_id, delivery, language))
        notify.jobs.enqueue(tenant_id, planned.message_id)
