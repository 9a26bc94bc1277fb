"""A site's opening hours: intervals per weekday and dates it stays closed.

Times are local to the site (its time zone), written ``HH:MM``; ``24:00`` may close a day. The
values are kept as plain strings and lists so events and snapshots carry them unchanged. Hours
never set are ``None``: such a site is open at all times (but on its closed dates); once set, even
to a week of closed days, they are enforced.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.errors import InvalidInput

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

WeeklyHours = dict[str, list[dict[str, str]]]
"""``{"monday": [{"open": "09:00", "close": "12:30"}, ...], ...}`` with every weekday present."""


def closed_week() -> WeeklyHours:
    """A week with no opening at all."""
    return {day: [] for day in WEEKDAYS}


def minutes_of(value: object, where: str, closing: bool = False) -> int:
    """Minutes since midnight of ``HH:MM`` (``24:00`` only as a closing time), else raise."""
    if closing and value == "24:00":
        return MINUTES_PER_DAY
    match = TIME_OF_DAY.match(value) if isinstance(value, str) else None
    if match is None:
        latest = "24:00" if closing else "23:59"
        raise InvalidInput(f"{where}: {value!r} is not a time; use HH:MM from 00:00 to {latest}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _day_intervals(day: str, intervals: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    spans: list[tuple[int, int, dict[str, str]]] = []
    for index, interval in enumerate(intervals):
        where = f"opening_hours.{day}[{index}]"
        if not isinstance(interval, Mapping) or set(interval) != {"open", "close"}:
            raise InvalidInput(f"{where}: an interval is exactly {{'open': HH:MM, 'close': HH:MM}}")
        opens = minutes_of(interval["open"], f"{where}.open")
        closes = minutes_of(interval["close"], f"{where}.close", closing=True)
        if opens >= closes:
            raise InvalidInput(
                f"{where}: opens at {interval['open']} but closes at {interval['close']}; "
                "the opening must come before the closing"
            )
        spans.append((opens, closes, {"open": interval["open"], "close": interval["close"]}))
    spans.sort(key=lambda span: span[0])
    for (_, earlier_close, earlier), (later_open, _, later) in itertools.pairwise(spans):
        # Touching intervals (12:00-14:00 then 14:00-18:00) are allowed; sharing a minute is not.
        if later_open < earlier_close:
            raise InvalidInput(
                f"opening_hours.{day}: {earlier['open']}-{earlier['close']} overlaps "
                f"{later['open']}-{later['close']}"
            )
    return [span[2] for span in spans]


def check_opening_hours(hours: Mapping[str, Sequence[Mapping[str, str]]]) -> WeeklyHours:
    """The week's hours with every weekday present and each day's intervals in order.

    Raises :class:`InvalidInput` for an unknown weekday, a malformed time, an interval that does
    not open before it closes, or two intervals of one day that overlap. Omitted days are closed.
    """
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise InvalidInput(
            f"unknown weekdays in opening_hours: {', '.join(unknown)}; use {', '.join(WEEKDAYS)}"
        )
    return {day: _day_intervals(day, hours.get(day, [])) for day in WEEKDAYS}


def check_closed_dates(dates: Sequence[str]) -> list[str]:
    """Distinct ISO dates (``2025-12-25``) in calendar order, else :class:`InvalidInput`."""
    parsed: list[date] = []
    for value in dates:
        try:
            if not isinstance(value, str) or not ISO_DATE.match(value):
                raise ValueError
            parsed.append(date.fromisoformat(value))
        except ValueError:
            raise InvalidInput(
                f"closed_dates: {value!r} is not a date; use YYYY-MM-DD like 2025-12-25"
            ) from None
    if len(set(parsed)) != len(parsed):
        raise InvalidInput("closed_dates lists a date twice")
    return [day.isoformat() for day in sorted(parsed)]


# -- when a site is open ----------------------------------------------------------------------
#
# The rule, on every day including the two DST change days: a site is open at an instant when
# the date on its wall clock is not a closed date and the time on its wall clock lies within one
# of that weekday's intervals (``open`` included, ``close`` excluded). Hours never set (``None``)
# cover the whole wall-clock day. So on a spring-forward day the skipped wall times (02:00-03:00
# in Europe/Paris) open nobody: 01:00-02:30 is open one real hour, until the clocks jump; on a
# fall-back day the repeated wall times count twice: 01:00-02:30 is open from 01:00 to 02:30 on
# summer time and again from 02:00 to 02:30 on winter time, two intervals. ``open_intervals``
# lists exactly the instants ``is_open_at`` accepts.

_SCAN_MARGIN = timedelta(hours=15)  # more than any UTC offset (-12:00 to +14:00)
_SCAN_STEP = timedelta(hours=1)
NEXT_OPENING_DAYS = 400
"""How far ahead ``next_opening`` looks before answering that the site does not open."""


def _wall_intervals(hours: WeeklyHours | None, day: date) -> list[tuple[datetime, datetime]]:
    """The day's intervals as naive wall-clock datetimes (``24:00`` is the next midnight)."""
    midnight = datetime.combine(day, time(0, 0))
    if hours is None:
        return [(midnight, midnight + timedelta(days=1))]
    return [
        (
            midnight + timedelta(minutes=minutes_of(interval["open"], "open")),
            midnight + timedelta(minutes=minutes_of(interval["close"], "close", closing=True)),
        )
        for interval in hours.get(WEEKDAYS[day.weekday()], [])
    ]


def _offset(tz: ZoneInfo, instant: datetime) -> timedelta:
    return instant.astimezone(tz).utcoffset() or timedelta(0)


def _offset_spans(tz: ZoneInfo, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` (aware UTC) cut where the zone's UTC offset changes (to the second)."""
    cuts = [start]
    probe = start
    while probe < end:
        step_end = min(probe + _SCAN_STEP, end)
        if _offset(tz, probe) != _offset(tz, step_end):
            # Bisect on whole seconds (tz transitions fall on them): ``low`` has the old offset,
            # ``high`` the new one.
            low, high = 0, int((step_end - probe).total_seconds())
            while high - low > 1:
                middle = (low + high) // 2
                if _offset(tz, probe + timedelta(seconds=middle)) == _offset(tz, probe):
                    low = middle
                else:
                    high = middle
            cuts.append(probe + timedelta(seconds=high))
        probe = step_end
    cuts.append(end)
    return list(itertools.pairwise(cuts))


def open_intervals(
    hours: WeeklyHours | None, closed_dates: Sequence[str], day: date, tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The instants of the local ``day`` (in ``tz``) the site is open, as ``[start, end)`` pairs
    in order, merged where they touch (see the rule above).

    The datetimes are aware and in UTC, so comparing them and subtracting them is exact; use
    ``.astimezone(tz)`` to show them. (Python compares and subtracts two datetimes that share
    one ``ZoneInfo`` by their wall-clock reading, which is wrong across a fall-back hour.)"""
    if day.isoformat() in closed_dates:
        return []
    walls = _wall_intervals(hours, day)
    if not walls:
        return []
    midnight = datetime.combine(day, time(0, 0), tzinfo=UTC)
    found: list[tuple[datetime, datetime]] = []
    for span_start, span_end in _offset_spans(
        tz, midnight - _SCAN_MARGIN, midnight + timedelta(days=1) + _SCAN_MARGIN
    ):
        offset = _offset(tz, span_start)
        # On this span the wall clock reads UTC + offset: keep the wall times of the intervals.
        span_wall = (
            span_start.replace(tzinfo=None) + offset,
            span_end.replace(tzinfo=None) + offset,
        )
        for opens, closes in walls:
            start, end = max(opens, span_wall[0]), min(closes, span_wall[1])
            if start < end:
                found.append(
                    ((start - offset).replace(tzinfo=UTC), (end - offset).replace(tzinfo=UTC))
                )
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(found):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def is_open_at(
    hours: WeeklyHours | None, closed_dates: Sequence[str], tz: ZoneInfo, instant: datetime
) -> bool:
    """Whether the site is open at the aware ``instant`` (see the rule above)."""
    local = instant.astimezone(tz)
    if local.date().isoformat() in closed_dates:
        return False
    if hours is None:
        return True
    wall = local.replace(tzinfo=None)
    return any(opens <= wall < closes for opens, closes in _wall_intervals(hours, local.date()))


def next_opening(
    hours: WeeklyHours | None, closed_dates: Sequence[str], tz: ZoneInfo, instant: datetime
) -> datetime | None:
    """The first instant at or after ``instant`` the site is open (aware, UTC), or ``None`` when
    it does not open within ``NEXT_OPENING_DAYS`` days (a week with no hours at all)."""
    if hours is not None and not any(hours.values()):
        return None
    first_day = instant.astimezone(tz).date()
    for days in range(NEXT_OPENING_DAYS):
        for start, end in open_intervals(hours, closed_dates, first_day + timedelta(days=days), tz):
            if end > instant:
                return max(start, instant.astimezone(UTC))
    return None
