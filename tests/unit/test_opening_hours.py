"""Opening hours: well-formed local times, each interval opening before it closes, no overlap
within a day, and closed dates that are real, distinct dates."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.errors import InvalidInput
from domain.hours import WEEKDAYS, check_closed_dates, check_opening_hours
from domain.tenancy import Site


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def disjoint_intervals(draw: st.DrawFn) -> list[tuple[int, int]]:
    """Up to four intervals of one day that share no minute (they may touch)."""
    bounds = sorted(draw(st.sets(st.integers(0, 24 * 60), min_size=0, max_size=8)))
    if len(bounds) % 2:
        bounds = bounds[:-1]
    return [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]


def as_body(intervals: list[tuple[int, int]]) -> list[dict[str, str]]:
    return [{"open": hhmm(start), "close": hhmm(end)} for start, end in intervals]


@given(
    week=st.dictionaries(st.sampled_from(WEEKDAYS), disjoint_intervals()),
    shuffle=st.randoms(use_true_random=False),
)
def test_disjoint_intervals_are_accepted_and_come_back_in_order_for_every_weekday(week, shuffle):
    sent = {}
    for day, intervals in week.items():
        shuffled = list(intervals)
        shuffle.shuffle(shuffled)
        sent[day] = as_body(shuffled)

    checked = check_opening_hours(sent)

    assert list(checked) == list(WEEKDAYS)
    for day in WEEKDAYS:
        assert checked[day] == as_body(week.get(day, []))


@given(intervals=disjoint_intervals(), data=st.data())
def test_an_interval_overlapping_another_of_the_same_day_is_refused(intervals, data):
    assume(intervals)
    start, end = data.draw(st.sampled_from(intervals))
    # Any interval sharing at least one minute with [start, end).
    new_start = data.draw(st.integers(0, end - 1))
    new_end = data.draw(st.integers(max(new_start, start) + 1, 24 * 60))

    with pytest.raises(InvalidInput, match=r"opening_hours\.tuesday: .* overlaps "):
        check_opening_hours({"tuesday": as_body([*intervals, (new_start, new_end)])})


@given(st.integers(0, 24 * 60 - 1), st.integers(0, 24 * 60 - 1))
def test_an_interval_must_open_before_it_closes(opens, closes):
    assume(opens >= closes)

    with pytest.raises(InvalidInput, match="the opening must come before the closing"):
        check_opening_hours({"friday": [{"open": hhmm(opens), "close": hhmm(closes)}]})


def test_touching_intervals_and_a_day_ending_at_midnight_are_accepted():
    hours = {
        "saturday": [
            {"open": "14:00", "close": "24:00"},
            {"open": "08:00", "close": "14:00"},
        ]
    }

    assert check_opening_hours(hours)["saturday"] == [
        {"open": "08:00", "close": "14:00"},
        {"open": "14:00", "close": "24:00"},
    ]


@pytest.mark.parametrize(
    ("interval", "where"),
    [
        ({"open": "9:00", "close": "12:00"}, "monday[0].open: '9:00' is not a time"),
        ({"open": "09:00", "close": "12:60"}, "monday[0].close: '12:60' is not a time"),
        ({"open": "24:00", "close": "24:00"}, "monday[0].open: '24:00' is not a time"),
        ({"open": "09:00", "close": "24:01"}, "monday[0].close: '24:01' is not a time"),
        ({"open": "noon", "close": "13:00"}, "monday[0].open: 'noon' is not a time"),
        ({"open": 900, "close": "13:00"}, "monday[0].open: 900 is not a time"),
        ({"open": "09:00"}, "monday[0]: an interval is exactly"),
        ({"open": "09:00", "close": "10:00", "note": "x"}, "monday[0]: an interval is exactly"),
    ],
)
def test_a_malformed_interval_is_refused_naming_where_it_is(interval, where):
    with pytest.raises(InvalidInput) as refused:
        check_opening_hours({"monday": [interval]})

    assert where in str(refused.value)


def test_an_unknown_weekday_is_refused_by_name():
    with pytest.raises(InvalidInput, match="unknown weekdays in opening_hours: mon, someday"):
        check_opening_hours({"mon": [], "someday": [], "monday": []})


def test_closed_dates_come_back_in_calendar_order():
    assert check_closed_dates(["2025-12-25", "2025-01-01", "2024-02-29"]) == [
        "2024-02-29",
        "2025-01-01",
        "2025-12-25",
    ]


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["2025-02-30"], "'2025-02-30' is not a date"),
        (["25-12-2025"], "'25-12-2025' is not a date"),
        (["2025-12-25T00:00"], "is not a date"),
        (["2025-12-25", "2025-12-25"], "lists a date twice"),
    ],
)
def test_malformed_or_repeated_closed_dates_are_refused(dates, message):
    with pytest.raises(InvalidInput, match=message):
        check_closed_dates(dates)


def test_a_site_changes_its_hours_only_when_they_differ():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="Europe/Paris")
    assert site.opening_hours is None  # never set
    site.collect_events()

    site.change_hours({"monday": [{"open": "09:00", "close": "17:00"}]}, ["2025-12-25"])
    site.change_hours({"monday": [{"open": "09:00", "close": "17:00"}]}, None)
    site.change_hours(None, ["2025-12-25"])

    events = site.collect_events()
    assert [type(e).__name__ for e in events] == ["OpeningHoursChanged"]
    assert site.opening_hours["monday"] == [{"open": "09:00", "close": "17:00"}]
    assert site.opening_hours["tuesday"] == []
    assert site.closed_dates == ["2025-12-25"]


def test_refused_hours_leave_the_site_unchanged():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="UTC")
    site.collect_events()

    with pytest.raises(InvalidInput):
        site.change_hours({"monday": [{"open": "17:00", "close": "09:00"}]})

    assert site.opening_hours is None
    assert site.collect_events() == []
