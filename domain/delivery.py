"""The delivery ledger's rules: one entry per message, with an id that a redelivered event or a
retried job derives again, and the life of a send attempt.

``queued -> sent -> delivered``; a message planned in the customer's quiet hours starts ``held``
until their end, then is released to ``queued``, or ``skipped`` when it is no longer news by
then (a "go to counter" for a ticket already served). A failed attempt (or a provider reporting
failure after ``sent``) goes to ``failed``, from where a retry queues it again, until the
attempt limit makes it ``dead``. An operator may revive a dead entry for another round. Erasing
the customer drops what identifies them (address, body, provider error text) and keeps what the
tenant's statistics need (kind, channel, status, attempts, timestamps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid5

from domain.errors import Conflict, InvalidInput
from domain.messages import Channel, MessageKind

LEDGER_NAMESPACE = UUID("6f1c7a52-3b0e-5f55-9d7e-1a4c2b8e9d10")
"""uuid5 namespace of message ids; changing it would let every in-flight message send twice."""

DEFAULT_ATTEMPT_LIMIT = 5
ERASED_ERROR = "erased"
"""The error an erased entry keeps in place of the provider's text."""


class DeliveryStatus(StrEnum):
    """Where a message is on its way to the customer."""

    HELD = "held"
    """Planned in the customer's quiet hours: waits for ``not_before``."""
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    DEAD = "dead"
    SKIPPED = "skipped"
    """Held, and no longer news when its time came: never sent (``error`` says why)."""


FINAL = frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.DEAD, DeliveryStatus.SKIPPED})


class DeliveryError(Conflict):
    """Base of the ledger's refusals."""

    code = "delivery_conflict"


class IllegalDeliveryTransition(DeliveryError):
    """Raised when a ledger entry is asked to move to a state its current one does not lead to."""

    code = "illegal_delivery_transition"

    def __init__(self, action: str, status: DeliveryStatus) -> None:
        super().__init__(f"cannot {action} a message that is {status}")
        self.action = action
        self.status = status


def message_id(event_id: UUID, channel: Channel, recipient: str, template: str) -> UUID:
    """The ledger id of the message that ``event_id`` causes on ``channel`` for ``recipient``
    with ``template`` (its kind, or kind and variant): the same inputs always give the same id.

    ``recipient`` should be a stable reference (the customer's or ticket's id, a push
    installation id), not the address itself: ids outlive erasure, and a phone number hashed
    with a known event id could be found again by trying numbers.
    """
    if not recipient or not template:
        raise InvalidInput("a message id needs a recipient and a template")
    # The unit separator cannot occur in ids or kinds, so no two key tuples join to one name.
    name = "\x1f".join((str(event_id), Channel(channel).value, recipient, template))
    return uuid5(LEDGER_NAMESPACE, name)


@dataclass
class Delivery:
    """One message in the ledger and its delivery state. Methods check, then change the entry."""

    id: UUID
    kind: MessageKind
    channel: Channel
    created_at: datetime
    address: str | None
    body: str | None
    ticket_id: UUID | None = None
    status: DeliveryStatus = DeliveryStatus.QUEUED
    attempts: int = 0
    attempt_limit: int = DEFAULT_ATTEMPT_LIMIT
    provider_id: str | None = None
    error: str | None = None
    updated_at: datetime | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    erased: bool = False
    not_before: datetime | None = None
    """When a held message may go (the end of the customer's quiet hours)."""

    def __post_init__(self) -> None:
        if self.attempt_limit < 1:
            raise InvalidInput("a message's attempt limit is at least 1")
        if self.status is DeliveryStatus.HELD and self.not_before is None:
            raise InvalidInput("a held message needs the time it may go (not_before)")

    def is_due(self, at: datetime) -> bool:
        """Whether ``at`` is past the time the message waits for (always, when it waits for
        none)."""
        return self.not_before is None or at >= self.not_before

    def release(self, at: datetime) -> None:
        """A held message's time has come: queue it for sending."""
        self._require("release", DeliveryStatus.HELD)
        if not self.is_due(at):
            raise IllegalDeliveryTransition("release before its time", self.status)
        self.status = DeliveryStatus.QUEUED
        self.updated_at = at

    def skip(self, reason: str, at: datetime) -> None:
        """A message waiting for its job (held, or queued and never handed to a job because
        the notifier stopped in between) is no longer news: it is never sent."""
        self._require("skip", DeliveryStatus.HELD, DeliveryStatus.QUEUED)
        self.status = DeliveryStatus.SKIPPED
        self.error = reason
        self.updated_at = at

    def _require(self, action: str, *allowed: DeliveryStatus) -> None:
        if self.status not in allowed:
            raise IllegalDeliveryTransition(action, self.status)

    def check_can_send(self) -> None:
        """Raise unless a job may hand this message to its provider now."""
        self._require("send", DeliveryStatus.QUEUED)
        if self.erased or self.address is None:
            raise IllegalDeliveryTransition("send an erased", self.status)

    def mark_sent(self, provider_id: str | None, at: datetime) -> None:
        """The provider accepted the message (one attempt spent); ``provider_id`` is its id."""
        self.check_can_send()
        self.attempts += 1
        self.status = DeliveryStatus.SENT
        self.provider_id = provider_id
        self.error = None
        self.sent_at = self.updated_at = at

    def mark_delivered(self, at: datetime) -> None:
        """The provider reports the message delivered. A repeated report changes nothing, since
        providers deliver their status callbacks at least once."""
        if self.status is DeliveryStatus.DELIVERED:
            return
        self._require("deliver", DeliveryStatus.SENT)
        self.status = DeliveryStatus.DELIVERED
        self.delivered_at = self.updated_at = at

    def mark_failed(self, error: str, at: datetime, *, retryable: bool = True) -> None:
        """A send attempt failed (from ``queued``, spending an attempt) or the provider reports
        that a sent message failed. Goes ``dead`` when not retryable or out of attempts."""
        self._require("fail", DeliveryStatus.QUEUED, DeliveryStatus.SENT)
        if self.status is DeliveryStatus.QUEUED:
            self.attempts += 1
        exhausted = self.attempts >= self.attempt_limit or self.erased
        self.status = DeliveryStatus.FAILED if retryable and not exhausted else DeliveryStatus.DEAD
        self.error = ERASED_ERROR if self.erased else error
        self.updated_at = at

    def requeue(self, at: datetime) -> None:
        """Queue a failed message for its next attempt."""
        self._require("retry", DeliveryStatus.FAILED)
        self.status = DeliveryStatus.QUEUED
        self.updated_at = at

    def revive(self, at: datetime, extra_attempts: int = DEFAULT_ATTEMPT_LIMIT) -> None:
        """An operator queues a dead message again with ``extra_attempts`` more attempts."""
        self._require("revive", DeliveryStatus.DEAD)
        if self.erased:
            raise IllegalDeliveryTransition("revive an erased", self.status)
        if extra_attempts < 1:
            raise InvalidInput("a revived message needs at least one more attempt")
        self.attempt_limit = self.attempts + extra_attempts
        self.status = DeliveryStatus.QUEUED
        self.updated_at = at

    def erase(self, at: datetime) -> None:
        """Forget the customer: drop the address, the body and the provider's error text (which
        often quotes the address). A message not yet sent never will be: it goes ``dead``."""
        self.address = None
        self.body = None
        self.erased = True
        if self.status in (DeliveryStatus.HELD, DeliveryStatus.QUEUED, DeliveryStatus.FAILED):
            self.status = DeliveryStatus.DEAD
            self.error = ERASED_ERROR
        elif self.error is not None:
            self.error = ERASED_ERROR
        self.updated_at = at
