"""When a site is open, read on its wall clock: ``open_intervals`` lists exactly the instants
``is_open_at`` accepts, on ordinary days and on both DST change days, in Europe/Paris and
America/New_York; ``next_opening`` finds the first of them."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.hours import WEEKDAYS, is_open_at, next_opening, open_intervals

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# The change days of 2026: Paris 29 March (02:00 -> 03:00) and 25 October (03:00 -> 02:00);
# New York 8 March (02:00 -> 03:00) and 1 November (02:00 -> 01:00).
CHANGE_DAYS = {
    PARIS: (date(2026, 3, 29), date(2026, 10, 25)),
    NEW_YORK: (date(2026, 3, 8), date(2026, 11, 1)),
}


def every_day(*intervals: tuple[str, str]) -> dict[str, list[dict[str, str]]]:
    return {day: [{"open": o, "close": c} for o, c in intervals] for day in WEEKDAYS}


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def total(intervals: list[tuple[datetime, datetime]]) -> timedelta:
    return sum((end - start for start, end in intervals), timedelta())


def at(zone: ZoneInfo, day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A wall-clock reading as a UTC instant (datetimes of two zones never compare equal
    during a repeated hour, PEP 495)."""
    local = datetime(day.year, day.month, day.day, hour, minute, fold=fold, tzinfo=zone)
    return local.astimezone(UTC)


@st.composite
def weeks(draw: st.DrawFn) -> dict[str, list[dict[str, str]]]:
    """Weekly hours with up to three disjoint intervals a day, on 5-minute marks (the DST
    hour and midnight are often among them)."""
    week = {}
    for day in WEEKDAYS:
        bounds = sorted(draw(st.sets(st.integers(0, 288), max_size=6)))
        bounds = bounds[: len(bounds) // 2 * 2]
        week[day] = [
            {
                "open": hhmm(bounds[i] * 5),
                "close": "24:00" if bounds[i + 1] == 288 else hhmm(bounds[i + 1] * 5),
            }
            for i in range(0, len(bounds), 2)
        ]
    return week


zones = st.sampled_from([PARIS, NEW_YORK])
hours_or_never = st.one_of(st.none(), weeks())


@st.composite
def days(draw: st.DrawFn, zone: ZoneInfo) -> date:
    """A change day, the day either side of one, or any day of 2026."""
    near = draw(st.sampled_from(CHANGE_DAYS[zone]))
    return draw(
        st.one_of(
            st.just(near),
            st.sampled_from([near - timedelta(days=1), near + timedelta(days=1)]),
            st.dates(date(2026, 1, 1), date(2026, 12, 31)),
        )
    )


@settings(max_examples=150, deadline=None)
@given(zone=zones, hours=hours_or_never, data=st.data())
def test_the_intervals_hold_exactly_the_instants_the_site_is_open(zone, hours, data):
    day = data.draw(days(zone))
    intervals = open_intervals(hours, [], day, zone)

    # In order, each non-empty, separated by closed time, aware, within the local day.
    for start, end in intervals:
        assert start.tzinfo is not None and start < end
        assert start.astimezone(zone).date() == day
        assert (end - timedelta(microseconds=1)).astimezone(zone).date() == day
    for (_, earlier_end), (later_start, _) in itertools.pairwise(intervals):
        assert earlier_end < later_start

    # Every minute of the local day (and a second either side of each bound) agrees.
    first = datetime.combine(day, datetime.min.time(), tzinfo=UTC) - timedelta(hours=15)
    probes = [first + timedelta(minutes=m) for m in range(0, (24 + 30) * 60, 7)]
    for start, end in intervals:
        probes += [start, end, start - timedelta(seconds=1), end - timedelta(seconds=1)]
    for instant in probes:
        if instant.astimezone(zone).date() != day:
            continue
        inside = any(start <= instant < end for start, end in intervals)
        assert is_open_at(hours, [], zone, instant) == inside, instant.astimezone(zone)


@given(zone=zones, hours=hours_or_never, data=st.data())
def test_a_closed_date_has_no_open_interval_and_is_closed_all_day(zone, hours, data):
    day = data.draw(days(zone))
    assert open_intervals(hours, [day.isoformat()], day, zone) == []
    noon = at(zone, day, 12)
    assert not is_open_at(hours, [day.isoformat()], zone, noon)
    assert is_open_at(None, [(day + timedelta(days=1)).isoformat()], zone, noon)


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK])
def test_hours_never_set_cover_the_whole_day_23_25_or_24_hours_long(zone):
    spring, autumn = CHANGE_DAYS[zone]
    assert total(open_intervals(None, [], spring, zone)) == timedelta(hours=23)
    assert total(open_intervals(None, [], autumn, zone)) == timedelta(hours=25)
    assert total(open_intervals(None, [], spring + timedelta(days=1), zone)) == timedelta(hours=24)
    ((start, end),) = open_intervals(None, [], autumn, zone)
    assert start == at(zone, autumn, 0) and end == at(zone, autumn + timedelta(days=1), 0)


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK])
def test_in_spring_the_skipped_hour_opens_nobody_and_an_interval_into_it_ends_at_the_jump(zone):
    spring, _ = CHANGE_DAYS[zone]
    # 02:00-03:00 does not happen on the wall clock that day.
    assert open_intervals(every_day(("02:00", "03:00")), [], spring, zone) == []
    (interval,) = open_intervals(every_day(("01:00", "02:30")), [], spring, zone)
    assert interval == (at(zone, spring, 1), at(zone, spring, 3))
    assert total([interval]) == timedelta(hours=1)
    # Hours that go through the jump are an hour shorter in real time.
    assert total(open_intervals(every_day(("01:00", "04:00")), [], spring, zone)) == timedelta(
        hours=2
    )
    assert total(open_intervals(every_day(("09:00", "17:00")), [], spring, zone)) == timedelta(
        hours=8
    )


@pytest.mark.parametrize("zone", [PARIS, NEW_YORK])
def test_in_autumn_the_repeated_hour_is_open_twice(zone):
    _, autumn = CHANGE_DAYS[zone]
    repeated = 2 if zone is PARIS else 1  # the wall-clock hour that happens twice
    opens, closes = f"{repeated - 1:02d}:00", f"{repeated:02d}:30"
    first, second = open_intervals(every_day((opens, closes)), [], autumn, zone)
    assert first == (at(zone, autumn, repeated - 1), at(zone, autumn, repeated, 30))
    assert second == (at(zone, autumn, repeated, 0, fold=1), at(zone, autumn, repeated, 30, fold=1))
    assert total([first, second]) == timedelta(hours=2)
    # Between the two passes (the first pass's last half hour) the site is closed.
    assert not is_open_at(every_day((opens, closes)), [], zone, at(zone, autumn, repeated, 45))
    assert is_open_at(every_day((opens, closes)), [], zone, at(zone, autumn, repeated, 15, fold=1))
    # Hours through the whole repeated hour are one real hour longer.
    assert total(open_intervals(every_day(("00:00", "04:00")), [], autumn, zone)) == timedelta(
        hours=5
    )


def test_hours_across_midnight_are_two_intervals_that_meet_at_midnight():
    week = {
        "monday": [{"open": "22:00", "close": "24:00"}],
        "tuesday": [{"open": "00:00", "close": "02:00"}],
    }
    monday, tuesday = date(2026, 3, 2), date(2026, 3, 3)
    assert open_intervals(week, [], monday, PARIS) == [
        (at(PARIS, monday, 22), at(PARIS, tuesday, 0))
    ]
    assert open_intervals(week, [], tuesday, PARIS) == [
        (at(PARIS, tuesday, 0), at(PARIS, tuesday, 2))
    ]
    assert is_open_at(week, [], PARIS, at(PARIS, monday, 23, 59))
    assert is_open_at(week, [], PARIS, at(PARIS, tuesday, 0))
    assert not is_open_at(week, [], PARIS, at(PARIS, tuesday, 2))
    # Tuesday a closed date: open Monday evening until midnight only.
    assert not is_open_at(week, [tuesday.isoformat()], PARIS, at(PARIS, tuesday, 0, 30))
    assert next_opening(week, [], PARIS, at(PARIS, monday, 21)) == at(PARIS, monday, 22)


def test_a_week_of_closed_days_is_closed_and_never_opens():
    closed = {day: [] for day in WEEKDAYS}
    instant = at(PARIS, date(2026, 6, 1), 12)
    assert open_intervals(closed, [], instant.date(), PARIS) == []
    assert not is_open_at(closed, [], PARIS, instant)
    assert next_opening(closed, [], PARIS, instant) is None


@settings(max_examples=100, deadline=None)
@given(zone=zones, hours=hours_or_never, data=st.data())
def test_the_next_opening_is_the_first_open_instant(zone, hours, data):
    day = data.draw(days(zone))
    instant = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(
        minutes=data.draw(st.integers(0, 24 * 60 - 1))
    )
    closed = [(day + timedelta(days=n)).isoformat() for n in data.draw(st.sets(st.integers(0, 3)))]
    opens = next_opening(hours, closed, zone, instant)
    if hours is not None and not any(hours.values()):
        assert opens is None
        return
    assert opens is not None and opens >= instant
    assert is_open_at(hours, closed, zone, opens)
    if is_open_at(hours, closed, zone, instant):
        assert opens == instant
    probe = instant
    while probe < opens:  # closed all the way there
        assert not is_open_at(hours, closed, zone, probe)
        probe += timedelta(minutes=5)
