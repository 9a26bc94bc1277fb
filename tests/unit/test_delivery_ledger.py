"""The delivery ledger's rules: deterministic message ids, the send state machine, erasure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.delivery import (
    Delivery,
    DeliveryStatus,
    IllegalDeliveryTransition,
    message_id,
)
from domain.errors import Conflict, InvalidInput
from domain.messages import Channel, MessageKind

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
S = DeliveryStatus


def later(minutes: int) -> datetime:
    return NOW + timedelta(minutes=minutes)


def queued(attempt_limit: int = 3) -> Delivery:
    return Delivery(
        id=uuid4(),
        kind=MessageKind.CALLED,
        channel=Channel.SMS,
        created_at=NOW,
        address="+33612345678",
        body="Town hall: A-012, please go to counter 3.",
        ticket_id=uuid4(),
        attempt_limit=attempt_limit,
    )


def test_the_same_event_channel_recipient_and_template_give_the_same_id():
    event_id, customer = uuid4(), str(uuid4())
    first = message_id(event_id, Channel.SMS, customer, MessageKind.CALLED)
    again = message_id(UUID(str(event_id)), Channel("sms"), customer, "called")
    assert first == again
    assert first.version == 5


@settings(max_examples=200, deadline=None)
@given(
    st.tuples(st.uuids(), st.sampled_from(Channel), st.text(min_size=1), st.text(min_size=1)),
    st.tuples(st.uuids(), st.sampled_from(Channel), st.text(min_size=1), st.text(min_size=1)),
)
def test_different_keys_give_different_ids(one, other):
    if one != other and "\x1f" not in "".join(one[2:] + other[2:]):
        assert message_id(*one) != message_id(*other)


def test_a_message_id_needs_a_recipient_and_a_template():
    with pytest.raises(InvalidInput):
        message_id(uuid4(), Channel.EMAIL, "", "called")


def test_a_message_is_sent_then_delivered():
    delivery = queued()
    delivery.mark_sent("SM123", later(1))
    delivery.mark_delivered(later(2))
    assert delivery.status is S.DELIVERED
    assert (delivery.attempts, delivery.provider_id) == (1, "SM123")
    assert (delivery.sent_at, delivery.delivered_at) == (later(1), later(2))


def test_a_repeated_delivered_report_changes_nothing():
    delivery = queued()
    delivery.mark_sent("SM123", later(1))
    delivery.mark_delivered(later(2))
    delivery.mark_delivered(later(5))
    assert delivery.delivered_at == later(2)


def test_failed_attempts_are_retried_until_the_limit_makes_the_message_dead():
    delivery = queued(attempt_limit=3)
    delivery.mark_failed("HTTP 500", later(1))
    assert (delivery.status, delivery.attempts) == (S.FAILED, 1)
    delivery.requeue(later(2))
    delivery.mark_failed("HTTP 503", later(3))
    delivery.requeue(later(4))
    delivery.mark_failed("HTTP 500", later(5))
    assert (delivery.status, delivery.attempts, delivery.error) == (S.DEAD, 3, "HTTP 500")
    with pytest.raises(IllegalDeliveryTransition):
        delivery.requeue(later(6))


def test_a_provider_reporting_failure_after_sent_does_not_spend_another_attempt():
    delivery = queued(attempt_limit=2)
    delivery.mark_sent("SM1", later(1))
    delivery.mark_failed("undelivered: 30003", later(2))
    assert (delivery.status, delivery.attempts) == (S.FAILED, 1)
    delivery.requeue(later(3))
    delivery.mark_sent("SM2", later(4))
    assert (delivery.status, delivery.attempts, delivery.error) == (S.SENT, 2, None)


def test_a_permanent_failure_is_dead_at_once():
    delivery = queued(attempt_limit=5)
    delivery.mark_failed("invalid phone number", later(1), retryable=False)
    assert (delivery.status, delivery.attempts) == (S.DEAD, 1)


def test_an_operator_revives_a_dead_message_for_more_attempts():
    delivery = queued(attempt_limit=1)
    delivery.mark_failed("timeout", later(1))
    assert delivery.status is S.DEAD
    delivery.revive(later(2), extra_attempts=2)
    assert (delivery.status, delivery.attempt_limit) == (S.QUEUED, 3)
    delivery.mark_failed("timeout", later(3))
    assert delivery.status is S.FAILED


@pytest.mark.parametrize(
    ("prepare", "action"),
    [
        ([], lambda d: d.mark_delivered(later(9))),
        ([], lambda d: d.requeue(later(9))),
        ([], lambda d: d.revive(later(9))),
        (["sent"], lambda d: d.mark_sent("again", later(9))),
        (["sent"], lambda d: d.requeue(later(9))),
        (["sent", "delivered"], lambda d: d.mark_failed("late", later(9))),
        (["sent", "delivered"], lambda d: d.mark_sent("again", later(9))),
        (["failed"], lambda d: d.mark_sent("x", later(9))),
        (["failed"], lambda d: d.mark_delivered(later(9))),
        (["dead"], lambda d: d.mark_sent("x", later(9))),
        (["dead"], lambda d: d.mark_failed("x", later(9))),
    ],
)
def test_illegal_transitions_raise_a_domain_conflict(prepare, action):
    delivery = queued(attempt_limit=5)
    for step in prepare:
        if step == "sent":
            delivery.mark_sent("SM1", later(1))
        elif step == "delivered":
            delivery.mark_delivered(later(2))
        elif step == "failed":
            delivery.mark_failed("HTTP 500", later(1))
        elif step == "dead":
            delivery.mark_failed("bad number", later(1), retryable=False)
    before = (delivery.status, delivery.attempts)
    with pytest.raises(IllegalDeliveryTransition) as refused:
        action(delivery)
    assert isinstance(refused.value, Conflict)
    assert (delivery.status, delivery.attempts) == before


def test_erasing_a_delivered_message_keeps_what_statistics_need_and_nothing_personal():
    delivery = queued()
    delivery.mark_sent("SM1", later(1))
    delivery.mark_delivered(later(2))
    delivery.erase(later(60))
    assert delivery.address is None and delivery.body is None and delivery.erased
    assert (delivery.kind, delivery.channel, delivery.status) == (
        MessageKind.CALLED,
        Channel.SMS,
        S.DELIVERED,
    )
    assert (delivery.created_at, delivery.sent_at, delivery.delivered_at) == (
        NOW,
        later(1),
        later(2),
    )


def test_an_erased_message_not_yet_sent_is_dead_and_never_sent_or_revived():
    delivery = queued()
    delivery.mark_failed("HTTP 500 for +33612345678", later(1))
    delivery.erase(later(2))
    assert delivery.status is S.DEAD
    assert "+336" not in (delivery.error or "")
    with pytest.raises(IllegalDeliveryTransition):
        delivery.revive(later(3))
    fresh = queued()
    fresh.erase(later(1))
    with pytest.raises(IllegalDeliveryTransition):
        fresh.check_can_send()


def test_a_failure_reported_after_erasure_keeps_no_text_and_is_not_retried():
    delivery = queued()
    delivery.mark_sent("SM1", later(1))
    delivery.erase(later(2))
    delivery.mark_failed("undelivered to +33612345678", later(3))
    assert (delivery.status, delivery.error) == (S.DEAD, "erased")


def test_an_attempt_limit_below_one_is_refused():
    with pytest.raises(InvalidInput):
        queued(attempt_limit=0)


def held(until: datetime | None = None) -> Delivery:
    delivery = queued()
    delivery.status, delivery.not_before = S.HELD, until or later(30)
    return delivery


def test_a_held_message_is_released_to_the_queue_only_once_its_time_has_come():
    delivery = held(later(30))
    assert not delivery.is_due(later(29))
    with pytest.raises(IllegalDeliveryTransition, match="release before its time"):
        delivery.release(later(29))
    with pytest.raises(IllegalDeliveryTransition, match="send a message that is held"):
        delivery.check_can_send()

    delivery.release(later(30))
    delivery.mark_sent("SM1", later(30))

    assert (delivery.status, delivery.attempts) == (S.SENT, 1)


def test_a_held_message_that_is_no_longer_news_is_skipped_for_good():
    delivery = held()
    delivery.skip("no longer news: the ticket is serving", later(30))

    assert delivery.status is S.SKIPPED
    assert delivery.error == "no longer news: the ticket is serving"
    for action in (lambda: delivery.release(later(31)), delivery.check_can_send):
        with pytest.raises(IllegalDeliveryTransition):
            action()
    waiting = queued()  # recorded, never handed to a job: the notifier stopped in between
    waiting.skip("no longer news: the ticket is called", NOW)
    assert waiting.status is S.SKIPPED
    on_its_way = queued()
    on_its_way.mark_sent("SM2", NOW)
    with pytest.raises(IllegalDeliveryTransition):
        on_its_way.skip("only a message still waiting is skipped", NOW)


def test_an_erased_held_message_is_dead_and_a_held_message_needs_its_time():
    delivery = held()
    delivery.erase(later(1))
    assert (delivery.status, delivery.address, delivery.body) == (S.DEAD, None, None)
    with pytest.raises(InvalidInput, match="not_before"):
        Delivery(
            id=uuid4(),
            kind=MessageKind.CALLED,
            channel=Channel.SMS,
            created_at=NOW,
            address="+33612345678",
            body="b",
            status=S.HELD,
        )
