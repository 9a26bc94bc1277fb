"""A site's opening hours: intervals per weekday and dates it stays closed.

Times are local to the site (its time zone), written ``HH:MM``; ``24:00`` may close a day. The
values are kept as plain strings and lists so events and snapshots carry them unchanged.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from datetime import date

from domain.errors import InvalidInput

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MINUTES_PER_DAY = 24 * 60
TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

WeeklyHours = dict[str, list[dict[str, str]]]
"""``{"monday": [{"open": "09:00", "close": "12:30"}, ...], ...}`` with every weekday present."""


def closed_week() -> WeeklyHours:
    """A week with no opening at all (a new site whose hours nobody has entered yet)."""
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
