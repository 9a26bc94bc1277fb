"""Booking rules and the slots of a day: opening hours in the site's time zone, across DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.booking import (
    BeyondHorizon,
    BookingRules,
    OutsideOpeningHours,
    TooLateToBook,
    TooLateToCancel,
    check_bookable,
    check_can_cancel,
    slot_starts,
)
from domain.errors import InvalidInput
from domain.hours import check_opening_hours, open_intervals

PARIS = ZoneInfo("Europe/Paris")
SPRING = date(2026, 3, 29)  # 02:00 -> 03:00 in Paris
AUTUMN = date(2026, 10, 25)  # 03:00 -> 02:00 in Paris
NIGHT_SHIFT = check_opening_hours({"sunday": [{"open": "01:00", "close": "04:00"}]})


def test_a_site_whose_hours_were_never_set_is_open_the_whole_day_of_23_or_25_hours():
    for day, hours in ((date(2026, 1, 12), 24), (SPRING, 23), (AUTUMN, 25)):
        ((opens, closes),) = open_intervals(None, [], day, PARIS)
        assert opens == datetime(day.year, day.month, day.day, tzinfo=PARIS)
        assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=hours)
        assert len(slot_starts([(opens, closes)], 15)) == hours * 4


def test_a_closed_date_and_a_weekday_without_hours_are_never_open():
    hours = check_opening_hours({"monday": [{"open": "09:00", "close": "12:00"}]})
    assert open_intervals(hours, ["2026-01-12"], date(2026, 1, 12), PARIS) == []
    assert open_intervals(None, ["2026-01-12"], date(2026, 1, 12), PARIS) == []
    assert open_intervals(hours, [], date(2026, 1, 13), PARIS) == []  # a Tuesday
    ((opens, closes),) = open_intervals(hours, [], date(2026, 1, 12), PARIS)
    assert opens.astimezone(UTC).hour == 8 and closes.astimezone(UTC).hour == 11


def test_the_spring_change_has_no_slot_in_the_hour_that_never_happens():
    ((opens, closes),) = open_intervals(NIGHT_SHIFT, [], SPRING, PARIS)
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(
        hours=2
    )  # 01:00 to 04:00 local is two real hours
    starts = [start for start, _ in slot_starts([(opens, closes)], 30)]
    assert [start.astimezone(PARIS).strftime("%H:%M") for start in starts] == [
        "01:00",
        "01:30",
        "03:00",
        "03:30",
    ]


def test_the_autumn_change_holds_twice_the_slots_in_the_hour_that_happens_twice():
    ((opens, closes),) = open_intervals(NIGHT_SHIFT, [], AUTUMN, PARIS)
    assert closes.astimezone(UTC) - opens.astimezone(UTC) == timedelta(hours=4)
    starts = [start for start, _ in slot_starts([(opens, closes)], 30)]
    assert len(starts) == 8
    assert len({start.astimezone(UTC) for start in starts}) == 8
    local = [start.astimezone(PARIS).strftime("%H:%M") for start in starts]
    assert local.count("02:00") == 2 and local.count("02:30") == 2


def test_a_slot_is_bookable_only_from_the_opening_in_whole_slots():
    rules = BookingRules(slot_minutes=20)
    hours = check_opening_hours({"monday": [{"open": "09:00", "close": "10:00"}]})
    day = date(2026, 1, 12)
    intervals = open_intervals(hours, [], day, PARIS)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    nine_forty = datetime(2026, 1, 12, 9, 40, tzinfo=PARIS)
    assert check_bookable(rules, intervals, nine_forty, now, PARIS) == nine_forty + timedelta(
        minutes=20
    )
    with pytest.raises(InvalidInput, match="20-minute slot"):
        check_bookable(rules, intervals, nine_forty + timedelta(minutes=5), now, PARIS)
    with pytest.raises(OutsideOpeningHours):
        check_bookable(rules, intervals, nine_forty + timedelta(minutes=20), now, PARIS)


def test_lead_time_and_horizon_are_enforced_in_the_sites_days():
    rules = BookingRules(lead_minutes=60, horizon_days=2)
    now = datetime(2026, 1, 12, 9, 0, tzinfo=PARIS)

    def book(start: datetime) -> datetime:
        intervals = open_intervals(None, [], start.astimezone(PARIS).date(), PARIS)
        return check_bookable(rules, intervals, start, now, PARIS)

    with pytest.raises(TooLateToBook):
        book(now + timedelta(minutes=45))
    with pytest.raises(TooLateToBook):
        book(now - timedelta(hours=1))
    book(now + timedelta(minutes=60))
    book(datetime(2026, 1, 14, 23, 45, tzinfo=PARIS))  # two local days ahead, late evening
    with pytest.raises(BeyondHorizon):
        book(datetime(2026, 1, 15, 0, 0, tzinfo=PARIS))


def test_cancellation_is_refused_past_the_cut_off():
    rules = BookingRules(cancel_cutoff_minutes=120)
    start = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
    check_can_cancel(rules, start, start - timedelta(minutes=120))
    with pytest.raises(TooLateToCancel):
        check_can_cancel(rules, start, start - timedelta(minutes=119))


def test_the_defaults_are_quarter_hours_one_place_and_check_in_from_30_early_to_10_late():
    rules = BookingRules.of(None)
    assert (rules.slot_minutes, rules.capacity, rules.early_minutes, rules.late_minutes) == (
        15,
        1,
        30,
        10,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slot_minutes", 0),
        ("capacity", 0),
        ("capacity", 1001),
        ("lead_minutes", -1),
        ("horizon_days", 0),
        ("per_customer_per_day", 0),
        ("early_minutes", True),
    ],
)
def test_a_rule_out_of_range_is_refused_naming_its_field(field, value):
    with pytest.raises(InvalidInput, match=rf"booking\.{field}"):
        BookingRules.of(None).changed(**{field: value})


def test_changing_a_rule_keeps_the_others_and_unknown_rules_are_refused():
    rules = BookingRules(capacity=3).changed(slot_minutes=30, capacity=None)
    assert (rules.slot_minutes, rules.capacity) == (30, 3)
    with pytest.raises(InvalidInput, match="unknown booking rules: seats"):
        rules.changed(seats=2)
