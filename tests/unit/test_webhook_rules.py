"""The webhooks' pure rules: delivery ids, URLs, event types, secrets and a delivery's life."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.webhooks import (
    IllegalWebhookTransition,
    WebhookDelivery,
    WebhookStatus,
    check_event_types,
    check_secret,
    check_url,
    delivery_id,
    new_secret,
)

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
KNOWN = frozenset({"Ticket.Called", "Ticket.Issued"})


def delivery(limit: int = 3) -> WebhookDelivery:
    return WebhookDelivery(uuid.uuid4(), uuid.uuid4(), "t:1", "Ticket.Called", NOW, limit)


@given(st.text(min_size=1, max_size=40), st.uuids(), st.uuids())
def test_a_delivery_id_depends_on_the_event_and_the_subscription_alone(
    event_id: str, first: uuid.UUID, second: uuid.UUID
) -> None:
    assert delivery_id(event_id, first) == delivery_id(event_id, first)
    if first != second:
        assert delivery_id(event_id, first) != delivery_id(event_id, second)


def test_urls_must_be_https_unless_plain_http_is_allowed() -> None:
    assert check_url("https://example.org/in", allow_http=False)
    assert check_url("http://127.0.0.1:8000/in", allow_http=True)
    for bad in ("http://example.org/in", "ftp://example.org", "https://", "not a url",
                "https://user:pw@example.org/", "https://example.org:99999/"):  # fmt: skip
        with pytest.raises(InvalidInput, match="url"):
            check_url(bad, allow_http=False)


def test_event_types_must_be_published_ones_and_at_least_one() -> None:
    assert check_event_types(["Ticket.Issued", "Ticket.Called", "Ticket.Called"], KNOWN) == (
        "Ticket.Called",
        "Ticket.Issued",
    )
    with pytest.raises(InvalidInput, match=r"Ticket\.Eaten"):
        check_event_types(["Ticket.Eaten"], KNOWN)
    with pytest.raises(InvalidInput):
        check_event_types([], KNOWN)


def test_a_generated_secret_is_long_and_a_given_one_must_be() -> None:
    assert len(new_secret()) > 40 and new_secret() != new_secret()
    with pytest.raises(InvalidInput):
        check_secret("short")


def test_a_failing_delivery_is_retried_until_its_limit_then_dead() -> None:
    entry = delivery(limit=2)
    entry.mark_failed("HTTP 500", 500, NOW)
    assert (entry.status, entry.attempts) == (WebhookStatus.FAILED, 1)
    entry.requeue(NOW)
    entry.mark_failed("HTTP 503", 503, NOW)
    assert (entry.status, entry.attempts, entry.response_code) == (WebhookStatus.DEAD, 2, 503)


def test_a_delivered_delivery_is_not_posted_again_unless_redelivered() -> None:
    entry = delivery()
    entry.mark_delivered(200, NOW)
    with pytest.raises(IllegalWebhookTransition):
        entry.check_can_send()
    entry.redeliver(NOW, extra_attempts=3)
    assert (entry.status, entry.attempt_limit) == (WebhookStatus.QUEUED, 4)
    with pytest.raises(IllegalWebhookTransition):
        entry.redeliver(NOW, extra_attempts=3)  # already on its way
