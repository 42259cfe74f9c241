"""Working-time arithmetic on the Chinese working calendar (local time Asia/Shanghai).

Consumes aware datetimes (any offset) and counts of working seconds or working days;
produces aware datetimes in UTC and counts of working seconds. Which dates are working
days comes from the `chinesecalendar` library: Monday to Friday except public holidays,
plus the weekend days declared working days to make up for a holiday (调休).

Convention (the working-time arithmetic under every working-day deadline):

- Working time is the time that falls on working days, measured in local time. A working
  day holds 86 400 working seconds, from 00:00 to 24:00 Asia/Shanghai (China keeps no
  daylight saving time, so every local day lasts 86 400 seconds).
- `add_working_days(start, n)` is the earliest instant at which n × 86 400 working
  seconds have passed since `start`. For a start on a working day that is the same clock
  time on the n-th working day after it (Friday 10:00 + 1 → Monday 10:00 when Monday
  works). A start on a non-working day counts from 00:00 of the next working day
  (Saturday 15:00 + 1 → Tuesday 00:00, the end of Monday). When the budget runs out
  exactly at midnight, the deadline is the midnight that ends the last working day, not
  the start of the next working day (Monday 00:00 + 5 in a full week → Saturday 00:00).
- `working_seconds_between(a, b)` is the working time in [a, b); for every start and n,
  working_seconds_between(start, add_working_days(start, n)) == n × 86 400.

A second count, the one Chinese law uses for periods in days (Civil Code arts. 200-204),
sits on top of it: the day of receipt is not counted and the period ends at 24:00 of
its last day. `civil_code_deadline(received_at, n)` is 24:00 of the n-th working day
after the day of receipt (a receipt on a rest day: the first counted day is the first
working day after it), and `working_days_elapsed(received_at, at)` is the smallest n
whose civil-code deadline `at` does not pass. Both equal "the elapsed count started at
00:00 of the day after receipt".

Dates outside the years the library knows raise `CalendarRangeError` (a ValueError)
naming the date and the supported years, rather than silently treating an unknown
holiday as a working day.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKING_DAY_SECONDS = 86_400
_ONE_DAY = timedelta(days=1)


class CalendarRangeError(ValueError):
    """A date lies outside the years for which the calendar library has holiday data."""

    def __init__(self, day: date, first_year: int, last_year: int):
        self.day = day
        self.first_year = first_year
        self.last_year = last_year
        super().__init__(
            f"{day.isoformat()} is outside the Chinese working calendar's known years "
            f"{first_year}-{last_year} (chinesecalendar {chinese_calendar.__version__}); "
            "upgrade chinesecalendar to get that year's holidays"
        )


def supported_years() -> tuple[int, int]:
    """First and last year with holiday data, as the library itself bounds them."""
    years = [day.year for day in chinese_calendar.holidays]
    return min(years), max(years)


_FIRST_YEAR, _LAST_YEAR = supported_years()


@lru_cache(maxsize=8192)
def is_working_day(day: date) -> bool:
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise CalendarRangeError(day, _FIRST_YEAR, _LAST_YEAR)
    return chinese_calendar.is_workday(day)


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} {instant!r} has no UTC offset")


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Working seconds in [start, end); 0 when end is not after start."""
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return 0.0
    local_start = start.astimezone(SHANGHAI)
    local_end = end.astimezone(SHANGHAI)
    total = timedelta()
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            day_start = _local_midnight(day)
            overlap = min(local_end, day_start + _ONE_DAY) - max(local_start, day_start)
            if overlap > timedelta():
                total += overlap
        day += _ONE_DAY
    return total.total_seconds()


def add_working_seconds(start: datetime, working_seconds: float) -> datetime:
    """The earliest instant (UTC) at which `working_seconds` of working time have passed since `start`."""
    _require_aware(start, "start")
    if working_seconds < 0:
        raise ValueError(f"working_seconds must not be negative, got {working_seconds}")
    remaining = timedelta(seconds=working_seconds)
    cursor = start.astimezone(SHANGHAI)
    while remaining > timedelta():
        day_end = _local_midnight(cursor.date()) + _ONE_DAY
        if is_working_day(cursor.date()):
            available = day_end - cursor
            if remaining <= available:
                return (cursor + remaining).astimezone(timezone.utc)
            remaining -= available
        cursor = day_end
    return cursor.astimezone(timezone.utc)


def _require_day_count(working_days: int) -> None:
    if isinstance(working_days, bool) or not isinstance(working_days, int) or working_days < 0:
        raise ValueError(f"working_days must be a non-negative integer, got {working_days!r}")


def add_working_days(start: datetime, working_days: int) -> datetime:
    """The deadline `working_days` working days after `start` (see the module's convention)."""
    _require_day_count(working_days)
    return add_working_seconds(start, working_days * WORKING_DAY_SECONDS)


def end_of_local_day(instant: datetime) -> datetime:
    """24:00 Asia/Shanghai of the day `instant` falls on (in UTC): where a civil-code count starts."""
    _require_aware(instant, "instant")
    return (_local_midnight(instant.astimezone(SHANGHAI).date()) + _ONE_DAY).astimezone(timezone.utc)


def civil_code_deadline(received_at: datetime, working_days: int) -> datetime:
    """24:00 of the `working_days`-th working day after the day of `received_at` (in UTC).

    With 0 it is 24:00 of the day of receipt itself, the instant the count starts.
    """
    _require_day_count(working_days)
    return add_working_seconds(end_of_local_day(received_at), working_days * WORKING_DAY_SECONDS)


def working_days_elapsed(received_at: datetime, at: datetime) -> int:
    """The working days `at` lies into a civil-code count from `received_at`: the smallest n
    with at <= civil_code_deadline(received_at, n).

    0 on the day of receipt; 1 up to 24:00 of the first working day after it (a rest day
    before that working day included); and so on. `at` before `received_at` is refused.
    """
    _require_aware(received_at, "received_at")
    _require_aware(at, "at")
    if at < received_at:
        raise ValueError(f"at {at.isoformat()} is before received_at {received_at.isoformat()}")
    count_start = end_of_local_day(received_at)
    if at <= count_start:
        return 0
    # 24:00 belongs to the day it ends: step back one microsecond to name that day.
    last_day = (at - timedelta(microseconds=1)).astimezone(SHANGHAI).date()
    day = count_start.astimezone(SHANGHAI).date()
    elapsed = 0
    while day <= last_day:
        elapsed += is_working_day(day)
        day += _ONE_DAY
    # A rest day after the last counted working day is waiting for the next working day.
    return elapsed if is_working_day(last_day) else elapsed + 1
