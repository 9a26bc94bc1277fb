"""Which messages a ticket's event sends its customer: channels, addresses, language, quiet
hours, staleness, and ids that do not change when the same event is planned again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from application.notifications import (
    Recipient,
    event_uuid,
    plan_messages,
    still_news,
    stint_id,
)
from domain.messages import Channel, MessageKind

NOON_IN_PARIS = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CUSTOMER = uuid.UUID(int=7)


def recipient(**changes: object) -> Recipient:
    fields: dict[str, object] = {
        "customer_id": CUSTOMER,
        "email": "jeanne@example.org",
        "phone": "+33612345678",
        "channels": ("sms", "email"),
        "language": "en",
        "quiet_hours": None,
    }
    fields.update(changes)
    return Recipient(**fields)  # type: ignore[arg-type]


def test_one_message_per_chosen_channel_with_an_address_in_the_customers_language():
    event = event_uuid(uuid.UUID(int=1), 2)

    plan = plan_messages(MessageKind.CALLED, event, recipient(), NOON_IN_PARIS, "Europe/Paris")

    assert [(m.channel, m.address, m.language) for m in plan.messages] == [
        (Channel.SMS, "+33612345678", "en"),
        (Channel.EMAIL, "jeanne@example.org", "en"),
    ]
    assert plan.held_back is None


def test_planning_the_same_event_again_gives_the_same_message_ids():
    event = event_uuid(uuid.UUID(int=1), 2)
    first = plan_messages(MessageKind.CALLED, event, recipient(), NOON_IN_PARIS, "Europe/Paris")
    again = plan_messages(
        MessageKind.CALLED, event_uuid(uuid.UUID(int=1), 2), recipient(), NOON_IN_PARIS, "UTC"
    )
    other = plan_messages(
        MessageKind.CALLED, event_uuid(uuid.UUID(int=1), 3), recipient(), NOON_IN_PARIS, "UTC"
    )

    assert [m.message_id for m in first.messages] == [m.message_id for m in again.messages]
    assert {m.message_id for m in first.messages}.isdisjoint(m.message_id for m in other.messages)


def test_no_chosen_channel_or_no_address_sends_nothing():
    event = uuid.uuid4()
    assert (
        plan_messages(
            MessageKind.CALLED, event, recipient(channels=()), NOON_IN_PARIS, "Europe/Paris"
        ).messages
        == ()
    )
    only_sms = recipient(channels=("sms", "push"), phone=None)
    assert plan_messages(MessageKind.CALLED, event, only_sms, NOON_IN_PARIS, "UTC").messages == ()


def test_quiet_hours_on_the_sites_clock_hold_every_message_until_they_end():
    quiet = recipient(quiet_hours=("11:30", "12:30"))  # noon in Paris is 11:00 UTC

    held = plan_messages(MessageKind.CALLED, uuid.uuid4(), quiet, NOON_IN_PARIS, "Europe/Paris")
    sent = plan_messages(MessageKind.CALLED, uuid.uuid4(), quiet, NOON_IN_PARIS, "UTC")

    half_past_noon_in_paris = datetime(2026, 3, 2, 11, 30, tzinfo=UTC)
    assert (held.held_back, held.not_before) == ("quiet hours", half_past_noon_in_paris)
    assert [m.not_before for m in held.messages] == [half_past_noon_in_paris] * 2
    assert (sent.held_back, sent.not_before) == (None, None)
    assert [m.not_before for m in sent.messages] == [None, None]


def test_night_hours_hold_a_message_until_the_morning_on_the_sites_clock():
    night = recipient(quiet_hours=("22:00", "07:00"))
    late_evening = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Paris

    plan = plan_messages(MessageKind.CANCELLED, uuid.uuid4(), night, late_evening, "Europe/Paris")

    assert plan.not_before == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)  # 07:00 in Paris


def test_an_unsupported_language_falls_back_to_the_default():
    plan = plan_messages(
        MessageKind.CALLED, uuid.uuid4(), recipient(language="de"), NOON_IN_PARIS, "UTC"
    )
    assert {m.language for m in plan.messages} == {"fr"}


def test_news_that_the_ticket_has_moved_past_is_stale():
    assert still_news(MessageKind.CALLED, "called")
    assert not still_news(MessageKind.CALLED, "serving")
    assert not still_news(MessageKind.TICKET_ISSUED, "called")
    assert still_news(MessageKind.CANCELLED, "cancelled")


def test_each_transfer_opens_a_stint_with_a_turn_near_message_of_its_own():
    ticket = uuid.uuid4()
    stints = [stint_id(ticket, transfers) for transfers in (0, 0, 1, 2)]

    assert stints[0] == stints[1]
    assert len(set(stints)) == 3
    assert stint_id(uuid.uuid4(), 0) != stints[0]
