"""Delivery reports: a provider telling us, after the fact, what became of a message it took
(Twilio's status callbacks). The report moves the ledger entry it names to ``delivered`` or
``failed``; the provider knows its own message id, never our tenant, so the ledger finds it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Protocol
from uuid import UUID

import structlog

from domain.delivery import Delivery
from domain.errors import NotPermitted

log = structlog.get_logger(__name__)

DELIVERED = frozenset({"delivered", "read"})
FAILED = frozenset({"failed", "undelivered"})
"""Twilio's final statuses; the others (``queued``, ``sending``, ``sent``...) change nothing."""


class BadProviderSignature(NotPermitted):
    """Raised when a status callback's signature is not the provider's."""

    code = "bad_signature"


class Reported(Protocol):
    """A ledger entry after a report."""

    @property
    def delivery(self) -> Delivery: ...


class ReportedLedger(Protocol):
    """The ledger, as reports need it."""

    def find_by_provider_id(self, provider_id: str) -> tuple[UUID, UUID] | None:
        """The (tenant id, message id) of the message the provider knows as ``provider_id``."""
        ...

    def transition(
        self, tenant_id: UUID, message_id: UUID, change: Callable[[Delivery], None]
    ) -> Reported: ...


class SignatureCheck(Protocol):
    """Whether a callback's form and signature are the provider's, for the callback's query."""

    def __call__(self, query: str, form: Mapping[str, str], signature: str | None) -> bool: ...


class DeliveryReports:
    """Applies providers' delivery reports to the ledger."""

    def __init__(
        self,
        ledger: ReportedLedger,
        twilio_check: SignatureCheck,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ledger = ledger
        self.twilio_check = twilio_check
        self.clock = clock

    def report_twilio_status(
        self, query: str, form: Mapping[str, str], signature: str | None
    ) -> str | None:
        """Check the signature, then apply the reported status (``MessageStatus`` of
        ``MessageSid``); the ledger status after it, or ``None`` when nothing changed. A report
        about a message we do not know is accepted and ignored (Twilio would only retry)."""
        if not self.twilio_check(query, form, signature):
            raise BadProviderSignature("X-Twilio-Signature does not match this request")
        sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
        if status not in DELIVERED | FAILED:
            return None
        found = self.ledger.find_by_provider_id(sid) if sid else None
        if found is None:
            log.info("delivery report ignored", provider_id=sid, reason="unknown message")
            return None
        tenant_id, message_id = found
        at = self.clock()
        if status in DELIVERED:
            change: Callable[[Delivery], None] = lambda d: d.mark_delivered(at)  # noqa: E731
        else:
            code = form.get("ErrorCode") or "unknown"
            reason = f"twilio: {status} (error {code})"
            change = lambda d: d.mark_failed(reason, at)  # noqa: E731
        entry = self.ledger.transition(tenant_id, message_id, change)
        return str(entry.delivery.status)
