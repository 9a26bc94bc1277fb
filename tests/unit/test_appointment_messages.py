"""Which messages an appointment sends its customer and when: the reminders at the tenant's
offsets and the check-in opening, none whose time passed at booking, ids that name the same
message when planned again and another one once the appointment moves, quiet hours, the check
when a held message comes due, the reminder settings, and the local date and time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from application.appointment_notifications import (
    Timed,
    appointment_news_gone,
    plan_timed,
    timed_event_id,
    timed_messages,
)
from application.context import CommandContext
from application.notification_setup import NotificationSetup
from application.notifications import Recipient
from domain.errors import InvalidInput
from domain.messages import APPOINTMENT_KINDS, Channel, MessageKind
from domain.notify_rules import NearThresholds
from infrastructure.notify.message_text import local_date, local_time
from infrastructure.notify.templates import SandboxedTemplates, preview
from tests.unit.test_notification_setup import MemoryStore

K = MessageKind
START = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)  # 14:30 in Paris, a Monday
APPOINTMENT = uuid.UUID(int=5)
CUSTOMER = uuid.UUID(int=7)


def recipient(**changes: object) -> Recipient:
    fields: dict[str, object] = {
        "customer_id": CUSTOMER,
        "email": "jeanne@example.org",
        "phone": "+33612345678",
        "channels": ("sms", "email"),
        "language": "fr",
        "quiet_hours": None,
    }
    fields.update(changes)
    return Recipient(**fields)  # type: ignore[arg-type]


def test_a_booking_days_ahead_gets_both_reminders_and_the_check_in_opening_in_time_order():
    booked_at = START - timedelta(days=3)

    planned = timed_messages(START, 30, [1440, 60], booked_at)

    assert planned == [
        Timed(K.APPOINTMENT_REMINDER, START - timedelta(days=1), 1440),
        Timed(K.APPOINTMENT_REMINDER, START - timedelta(hours=1), 60),
        Timed(K.APPOINTMENT_CHECK_IN_OPEN, START - timedelta(minutes=30), 30),
    ]


def test_a_message_whose_time_passed_at_booking_is_not_planned():
    booked_half_an_hour_before = START - timedelta(minutes=20)

    assert timed_messages(START, 30, [1440, 60], booked_half_an_hour_before) == []
    two_hours_before = timed_messages(START, 30, [1440, 60], START - timedelta(hours=2))
    assert [(t.kind, t.offset_minutes) for t in two_hours_before] == [
        (K.APPOINTMENT_REMINDER, 60),
        (K.APPOINTMENT_CHECK_IN_OPEN, 30),
    ]


def test_no_reminder_offsets_leave_only_the_check_in_opening():
    planned = timed_messages(START, 15, [], START - timedelta(days=2))

    assert [(t.kind, t.send_at) for t in planned] == [
        (K.APPOINTMENT_CHECK_IN_OPEN, START - timedelta(minutes=15))
    ]


def test_a_timed_message_keeps_its_id_when_planned_again_and_gets_another_once_moved():
    timed = Timed(K.APPOINTMENT_REMINDER, START - timedelta(hours=1), 60)
    ends_at = START

    first = plan_timed(timed, APPOINTMENT, START, recipient(), "Europe/Paris", ends_at)
    again = plan_timed(timed, APPOINTMENT, START, recipient(), "Europe/Paris", ends_at)
    moved_start = START + timedelta(days=1)
    moved = plan_timed(
        Timed(K.APPOINTMENT_REMINDER, moved_start - timedelta(hours=1), 60),
        APPOINTMENT,
        moved_start,
        recipient(),
        "Europe/Paris",
        moved_start,
    )

    assert [m.message_id for m in first] == [m.message_id for m in again]
    assert len({m.message_id for m in first}) == 2  # one per channel
    assert {m.message_id for m in first}.isdisjoint(m.message_id for m in moved)
    # The same appointment and start, another offset or kind: another message.
    assert (
        len(
            {
                timed_event_id(APPOINTMENT, K.APPOINTMENT_REMINDER, START, 60),
                timed_event_id(APPOINTMENT, K.APPOINTMENT_REMINDER, START, 1440),
                timed_event_id(APPOINTMENT, K.APPOINTMENT_CHECK_IN_OPEN, START, 60),
                timed_event_id(uuid.UUID(int=6), K.APPOINTMENT_REMINDER, START, 60),
            }
        )
        == 4
    )


def test_a_timed_message_is_held_until_its_time_on_every_chosen_channel():
    timed = Timed(K.APPOINTMENT_REMINDER, START - timedelta(hours=1), 60)

    planned = plan_timed(timed, APPOINTMENT, START, recipient(), "Europe/Paris", START)

    assert [(m.channel, m.not_before, m.language) for m in planned] == [
        (Channel.SMS, START - timedelta(hours=1), "fr"),
        (Channel.EMAIL, START - timedelta(hours=1), "fr"),
    ]
    assert (
        plan_timed(timed, APPOINTMENT, START, recipient(channels=()), "Europe/Paris", START) == []
    )


def test_quiet_hours_delay_a_timed_message_and_drop_it_when_they_outlast_the_appointment():
    # The 13:30 Paris reminder of a 14:30 appointment; quiet until 14:00, then until 15:00.
    timed = Timed(K.APPOINTMENT_REMINDER, START - timedelta(hours=1), 60)
    until_two = recipient(quiet_hours=("13:00", "14:00"))
    until_three = recipient(quiet_hours=("13:00", "15:00"))

    delayed = plan_timed(timed, APPOINTMENT, START, until_two, "Europe/Paris", START)
    dropped = plan_timed(timed, APPOINTMENT, START, until_three, "Europe/Paris", START)

    assert {m.not_before for m in delayed} == {START - timedelta(minutes=30)}
    assert dropped == []


def test_a_held_message_is_news_only_while_the_appointment_holds_its_place_at_that_start():
    later = START + timedelta(hours=2)
    reminder = K.APPOINTMENT_REMINDER

    assert appointment_news_gone(reminder, START, "booked", START) is None
    assert appointment_news_gone(reminder, START, "rescheduled", START) is None
    assert appointment_news_gone(reminder, START, "rescheduled", later) == (
        "no longer news: the appointment moved"
    )
    assert appointment_news_gone(reminder, START, "cancelled", START) == (
        "no longer news: the appointment is cancelled"
    )
    assert appointment_news_gone(K.APPOINTMENT_CHECK_IN_OPEN, START, "checked_in", START) == (
        "no longer news: the appointment is checked_in"
    )
    assert appointment_news_gone(K.APPOINTMENT_CONFIRMED, None, "cancelled", START) is not None
    assert appointment_news_gone(K.APPOINTMENT_CANCELLED, START, "cancelled", later) is None


def test_the_reminder_offsets_are_a_tenant_setting_a_day_and_an_hour_by_default():
    setup = NotificationSetup(
        MemoryStore(), SandboxedTemplates(), NearThresholds(3, None), lambda: START
    )
    context = CommandContext.system(uuid.uuid4())
    assert setup.get_settings(context.tenant_id).appointment_reminder_minutes == [1440, 60]

    saved = setup.put_settings(context, {"appointment_reminder": False}, 3, None, [30, 120, 30])

    assert saved.appointment_reminder_minutes == [120, 30]
    assert not saved.is_on(K.APPOINTMENT_REMINDER)
    assert saved.is_on(K.APPOINTMENT_CHECK_IN_OPEN)
    assert setup.put_settings(context, {}, 3, None, []).appointment_reminder_minutes == []
    assert setup.put_settings(context, {}, 3, None).appointment_reminder_minutes == [1440, 60]
    for offsets in ([0], [-5], [60 * 24 * 31], [1, 2, 3, 4, 5, 6]):
        with pytest.raises(InvalidInput, match="appointment_reminder_minutes"):
            setup.put_settings(context, {}, 3, None, offsets)


@pytest.mark.parametrize(
    ("language", "timezone", "date", "time"),
    [
        ("fr", "Europe/Paris", "lundi 7 décembre", "14:30"),
        ("en", "Europe/Paris", "Monday 7 December", "2:30 pm"),
        ("en", "America/New_York", "Monday 7 December", "8:30 am"),
        ("fr", "Pacific/Auckland", "mardi 8 décembre", "02:30"),
    ],
)
def test_the_date_and_time_are_written_for_the_language_on_the_sites_clock(
    language, timezone, date, time
):
    assert local_date(START, timezone, language) == date
    assert local_time(START, timezone, language) == time


@pytest.mark.parametrize("kind", sorted(APPOINTMENT_KINDS))
@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_appointment_kind_has_a_built_in_text_naming_its_time_and_link(kind, language):
    for channel in Channel:
        shown = preview(kind, channel, language).message
        assert "14:30" in shown.text or "2:30 pm" in shown.text, (kind, channel)
        assert "https://smartqueue.example/a/exemple" in shown.text, (kind, channel)
        if channel is Channel.EMAIL:
            assert shown.subject and shown.html and "/a/exemple" in shown.html
    email = preview(kind, Channel.EMAIL, language).message
    assert ("Passeports" if language == "fr" else "Passports") in email.text
