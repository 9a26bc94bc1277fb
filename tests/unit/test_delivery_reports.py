"""Providers' delivery reports against a ledger fake: signature first, then the transition."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from application.delivery_reports import BadProviderSignature, DeliveryReports
from domain.delivery import Delivery, DeliveryStatus
from domain.messages import Channel, MessageKind

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
SID = "SM" + "1" * 32


@dataclass
class Entry:
    delivery: Delivery


class Ledger:
    def __init__(self) -> None:
        self.tenant_id = uuid.uuid4()
        self.delivery = Delivery(uuid.uuid4(), MessageKind.CALLED, Channel.SMS, NOW, "+331", "b")
        self.delivery.mark_sent(SID, NOW)

    def find_by_provider_id(self, provider_id: str) -> tuple[uuid.UUID, uuid.UUID] | None:
        return (self.tenant_id, self.delivery.id) if provider_id == SID else None

    def transition(
        self, tenant_id: uuid.UUID, message_id: uuid.UUID, change: Callable[[Delivery], None]
    ) -> Entry:
        assert (tenant_id, message_id) == (self.tenant_id, self.delivery.id)
        change(self.delivery)
        return Entry(self.delivery)


def check(query: str, form: Mapping[str, str], signature: str | None) -> bool:
    return signature == "good"


def reports() -> tuple[DeliveryReports, Ledger]:
    ledger = Ledger()
    return DeliveryReports(ledger, check, clock=lambda: NOW), ledger


def test_a_report_without_the_providers_signature_changes_nothing() -> None:
    service, ledger = reports()
    with pytest.raises(BadProviderSignature):
        service.report_twilio_status("", {"MessageSid": SID, "MessageStatus": "delivered"}, "bad")
    assert ledger.delivery.status is DeliveryStatus.SENT


def test_delivered_and_undelivered_reports_move_the_message() -> None:
    service, ledger = reports()
    form = {"MessageSid": SID, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert service.report_twilio_status("", form, "good") == "failed"
    assert ledger.delivery.error == "twilio: undelivered (error 30003)"
    other, ledger = reports()
    assert other.report_twilio_status("", {"MessageSid": SID, "MessageStatus": "delivered"}, "good")
    assert ledger.delivery.delivered_at == NOW


def test_progress_reports_and_unknown_messages_are_accepted_and_ignored() -> None:
    service, ledger = reports()
    assert (
        service.report_twilio_status("", {"MessageSid": SID, "MessageStatus": "sent"}, "good")
        is None
    )
    unknown = {"MessageSid": "SMnope", "MessageStatus": "delivered"}
    assert service.report_twilio_status("", unknown, "good") is None
    assert ledger.delivery.status is DeliveryStatus.SENT
