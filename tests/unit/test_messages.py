"""The message model: kinds and their variables, languages, quiet hours, template parts."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.messages import (
    KIND_VARIABLES,
    VARIABLES,
    Channel,
    MessageKind,
    QuietHours,
    TemplateParts,
    UnknownTemplateVariable,
    check_language,
    check_message_kind,
    check_template_parts,
    check_template_variables,
    pick_language,
)

PARIS = ZoneInfo("Europe/Paris")


def paris(year, month, day, hour, minute=0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PARIS)


def test_every_kind_offers_only_known_variables_plus_its_own_extras():
    extras = {"message", "time", "date", "service", "code", "minutes"}
    for kind, names in KIND_VARIABLES.items():
        assert names <= set(VARIABLES) | extras, kind
    assert set(KIND_VARIABLES) == set(MessageKind)


def test_a_called_message_may_name_the_counter_but_a_turn_near_one_may_not():
    check_template_variables(MessageKind.CALLED, ["number", "counter"])
    with pytest.raises(UnknownTemplateVariable) as refused:
        check_template_variables(MessageKind.TURN_NEAR, ["number", "counter", "colour"])
    assert refused.value.names == ["colour", "counter"]
    assert "{colour}, {counter}" in str(refused.value)
    assert "{position}" in str(refused.value)  # the message lists what is allowed


def test_an_unknown_kind_is_refused_with_the_list_of_kinds():
    assert check_message_kind("turn_near") is MessageKind.TURN_NEAR
    with pytest.raises(InvalidInput, match="ticket_issued"):
        check_message_kind("birthday")


def test_languages_are_read_by_their_base_and_unsupported_ones_refused():
    assert check_language("en-GB") == "en"
    assert check_language(" FR ") == "fr"
    with pytest.raises(InvalidInput, match="fr, en"):
        check_language("de")


def test_the_first_supported_preference_wins_and_french_is_the_default():
    assert pick_language(None, "de", "en_US", "fr") == "en"
    assert pick_language(None, "", "xx") == "fr"


def test_quiet_hours_spanning_midnight_hold_the_late_evening_and_early_morning():
    quiet = QuietHours.parse("22:00", "07:30", "Europe/Paris")
    assert quiet.contains(paris(2026, 1, 15, 22, 0))
    assert quiet.contains(paris(2026, 1, 15, 3, 0))
    assert quiet.contains(paris(2026, 1, 15, 7, 29))
    assert not quiet.contains(paris(2026, 1, 15, 7, 30))
    assert not quiet.contains(paris(2026, 1, 15, 21, 59))


def test_quiet_hours_are_read_on_the_local_clock_not_utc():
    quiet = QuietHours.parse("22:00", "07:00", "Europe/Paris")
    # 21:30 UTC is 22:30 in Paris in winter (and 23:30 in summer).
    assert quiet.contains(datetime(2026, 1, 15, 21, 30, tzinfo=UTC))
    assert quiet.contains(datetime(2026, 7, 15, 21, 30, tzinfo=UTC))
    assert not quiet.contains(datetime(2026, 7, 15, 19, 30, tzinfo=UTC))


def test_a_daytime_window_and_an_empty_window():
    lunch = QuietHours.parse("12:00", "14:00", "Europe/Paris")
    assert lunch.contains(paris(2026, 3, 2, 13))
    assert not lunch.contains(paris(2026, 3, 2, 14))
    never = QuietHours.parse("09:00", "09:00", "Europe/Paris")
    assert not never.contains(paris(2026, 3, 2, 9))


def test_quiet_hours_refuse_bad_times_zones_and_naive_instants():
    with pytest.raises(InvalidInput, match=r"quiet_hours\.start"):
        QuietHours.parse("25:00", "07:00", "Europe/Paris")
    with pytest.raises(InvalidInput, match="Mars/Olympus"):
        QuietHours.parse("22:00", "07:00", "Mars/Olympus")
    with pytest.raises(InvalidInput, match="timezone-aware"):
        QuietHours.parse("22:00", "07:00", "UTC").contains(datetime(2026, 1, 1, 23))


def test_a_message_held_in_quiet_hours_waits_for_their_end():
    quiet = QuietHours.parse("22:00", "07:30", "Europe/Paris")
    assert quiet.ends_after(paris(2026, 1, 15, 23)) == paris(2026, 1, 16, 7, 30)
    assert quiet.ends_after(paris(2026, 1, 16, 6)) == paris(2026, 1, 16, 7, 30)
    outside = paris(2026, 1, 16, 9)
    assert quiet.ends_after(outside) == outside


def test_the_end_of_quiet_hours_follows_a_daylight_saving_change():
    quiet = QuietHours.parse("22:00", "07:00", "Europe/Paris")
    # The night of 28-29 March 2026 loses an hour; 07:00 local is 05:00 UTC after it.
    end = quiet.ends_after(paris(2026, 3, 28, 23))
    assert end == datetime(2026, 3, 29, 5, 0, tzinfo=UTC)


def test_quiet_hours_ending_in_a_spring_forward_gap_end_when_the_clock_jumps():
    quiet = QuietHours.parse("22:00", "02:30", "Europe/Paris")
    # 29 March 2026, 02:00 CET becomes 03:00 CEST (01:00 UTC): local 02:30 never happens, and
    # the first local time at or after it is 03:00 CEST.
    assert quiet.ends_after(datetime(2026, 3, 29, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )


def test_quiet_hours_ending_in_a_repeated_hour_end_on_the_pass_the_instant_is_in():
    quiet = QuietHours.parse("22:00", "02:30", "Europe/Paris")
    # 25 October 2026, 03:00 CEST becomes 02:00 CET (01:00 UTC): 02:00-03:00 happens twice.
    first_pass = datetime(2026, 10, 24, 23, 45, tzinfo=UTC)  # 01:45 CEST
    second_pass = datetime(2026, 10, 25, 1, 15, tzinfo=UTC)  # 02:15 CET
    assert quiet.ends_after(first_pass) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert quiet.contains(second_pass)
    assert quiet.ends_after(second_pass) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)


ZONES = ("Europe/Paris", "America/New_York", "Australia/Lord_Howe", "UTC")
# Days around each zone's changes of offset in 2026, where the local clock jumps or repeats.
CHANGE_DAYS = (
    datetime(2026, 3, 7, tzinfo=UTC),
    datetime(2026, 3, 28, tzinfo=UTC),
    datetime(2026, 4, 4, tzinfo=UTC),
    datetime(2026, 10, 3, tzinfo=UTC),
    datetime(2026, 10, 24, tzinfo=UTC),
    datetime(2026, 10, 31, tzinfo=UTC),
)
near_a_change = st.tuples(
    st.sampled_from(CHANGE_DAYS), st.integers(min_value=0, max_value=3 * 24 * 3600 - 1)
).map(lambda day_and_seconds: day_and_seconds[0] + timedelta(seconds=day_and_seconds[1]))


minutes = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))
# Ends inside the hours that the changes skip or repeat, so those cases come up often.
ends = st.one_of(minutes, st.sampled_from([time(1, 45), time(2, 0), time(2, 30), time(2, 45)]))


@settings(max_examples=400, deadline=None)
@given(
    minutes,
    ends,
    near_a_change,
    st.sampled_from(ZONES),
)
def test_the_end_of_quiet_hours_is_the_first_instant_outside_them_across_clock_changes(
    start, end, instant, zone
):
    quiet = QuietHours(start, end, zone)
    released = quiet.ends_after(instant)
    assert released >= instant
    assert not quiet.contains(released)
    if released > instant:
        # Every minute before it, back to the instant, is quiet: it is not late.
        probe = released - timedelta(seconds=1)
        while probe > instant:
            assert quiet.contains(probe), (probe, released)
            probe -= timedelta(minutes=7)


clock = st.times().map(lambda moment: moment.replace(second=0, microsecond=0))
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(clock, clock, instants)
def test_the_end_of_quiet_hours_is_outside_them_and_never_earlier(start, end, instant):
    quiet = QuietHours(start, end, "Europe/Paris")
    released = quiet.ends_after(instant)
    assert released >= instant
    assert not quiet.contains(released)
    # A day, or two when a spring change skips the end but not the start (02:30-02:15).
    assert released - instant <= timedelta(hours=49)
    if not quiet.contains(instant):
        assert released == instant


def test_each_channel_gets_the_parts_it_can_carry():
    check_template_parts(Channel.EMAIL, TemplateParts(subject="S {number}", text="T", html="<p>"))
    check_template_parts(Channel.PUSH, TemplateParts(subject="Title", text="Body"))
    check_template_parts(Channel.SMS, TemplateParts(text="Your number is {number}"))
    with pytest.raises(InvalidInput, match="sms template has no html, subject"):
        check_template_parts(Channel.SMS, TemplateParts(subject="S", text="T", html="<p>"))
    with pytest.raises(InvalidInput, match="non-blank subject"):
        check_template_parts(Channel.EMAIL, TemplateParts(text="T"))
    with pytest.raises(InvalidInput, match="non-blank text"):
        check_template_parts(Channel.WHATSAPP, TemplateParts(text="  "))
    with pytest.raises(InvalidInput, match="longer than 2000"):
        check_template_parts(Channel.SMS, TemplateParts(text="x" * 2001))
