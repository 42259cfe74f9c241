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

from bisect import bisect_left
from datetime import date, datetime, time, timedelta, timezone
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
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
_US_PER_SECOND = 1_000_000
_US_PER_DAY = WORKING_DAY_SECONDS * _US_PER_SECOND


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


@dataclass(frozen=True)
class _DayTable:
    """Every local day of the supported years, by index from 1 January of the first one.

    `working[i]` says whether day i is a working day and `working_before[i]` counts the
    working days before it, so a count over any span of days is one subtraction. Within
    these years Asia/Shanghai keeps one UTC offset (checked when the table is built), so
    every local day is 86 400 s long and an instant's day index and time of day follow
    from its microseconds since `origin`, 00:00 local time of the first day.
    """

    first: date
    origin: datetime  # in UTC
    working: tuple[bool, ...]
    working_before: tuple[int, ...]  # one longer than `working`
    days: int  # len(working)

    def day_index(self, day: date) -> int:
        return (day - self.first).days

    def since_origin_us(self, instant: datetime) -> int:
        delta = instant - self.origin  # exact, whatever the instant's offset
        return (delta.days * WORKING_DAY_SECONDS + delta.seconds) * _US_PER_SECOND + delta.microseconds

    def instant(self, since_origin_us: int) -> datetime:
        return self.origin + timedelta(microseconds=since_origin_us)


# Deadline clocks ask the same questions again and again (an order's clocks are
# recomputed on its events, every warning of a clock counts from the same start): the
# answers are kept per day table, and a rebuilt table (`reload_calendar`) starts afresh.
_MEMO_LIMIT = 1 << 16
_added: dict[tuple[datetime, float], datetime] = {}
_between: dict[tuple[datetime, datetime], float] = {}


def _remember(memo: dict, key: tuple, value: Any) -> Any:
    if len(memo) >= _MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


def reload_calendar() -> None:
    """Rebuild the day table from the calendar library's tables, as they are now (after
    an edit of its holidays or adjusted working days), and forget every answer the old
    table gave."""
    _day_table.cache_clear()
    _added.clear()
    _between.clear()


@lru_cache(maxsize=1)
def _day_table() -> _DayTable:
    _added.clear()
    _between.clear()
    first, last = date(_FIRST_YEAR, 1, 1), date(_LAST_YEAR, 12, 31)
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    offsets = {_local_midnight(day).utcoffset() for day in (*days, last + _ONE_DAY)}
    if len(offsets) != 1:
        raise RuntimeError(f"Asia/Shanghai changes its UTC offset within {_FIRST_YEAR}-{_LAST_YEAR}: {sorted(offsets)}")
    # chinese_calendar.is_workday's own rule on its own tables (it bounds the year on
    # every call, which would make building this table take half a second).
    holidays, adjusted_working_days = chinese_calendar.holidays, chinese_calendar.workdays
    working = tuple(day in adjusted_working_days or (day.weekday() <= 4 and day not in holidays) for day in days)
    working_before = [0]
    for works in working:
        working_before.append(working_before[-1] + works)
    return _DayTable(first, _local_midnight(first).astimezone(timezone.utc), working, tuple(working_before), len(working))


def is_working_day(day: date) -> bool:
    if not _FIRST_YEAR <= day.year <= _LAST_YEAR:
        raise CalendarRangeError(day, _FIRST_YEAR, _LAST_YEAR)
    table = _day_table()
    return table.working[table.day_index(day)]


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} {instant!r} has no UTC offset")


def _outside_calendar(instant: datetime) -> CalendarRangeError:
    return CalendarRangeError(instant.astimezone(SHANGHAI).date(), _FIRST_YEAR, _LAST_YEAR)


def _past_calendar() -> CalendarRangeError:
    return CalendarRangeError(date(_LAST_YEAR + 1, 1, 1), _FIRST_YEAR, _LAST_YEAR)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Working seconds in [start, end); 0 when end is not after start."""
    known = _between.get((start, end))
    if known is not None:
        return known
    return _remember(_between, (start, end), _working_seconds_between(start, end))


def _working_seconds_between(start: datetime, end: datetime) -> float:
    _require_aware(start, "start")
    _require_aware(end, "end")
    if end <= start:
        return 0.0
    table = _day_table()
    start_us, end_us = table.since_origin_us(start), table.since_origin_us(end)
    first, last = start_us // _US_PER_DAY, end_us // _US_PER_DAY
    # Every day from the start's to the end's is looked up, the first unknown one refused.
    if not 0 <= first < table.days:
        raise _outside_calendar(start)
    if last >= table.days:
        raise _past_calendar()
    if first == last:
        total_us = end_us - start_us if table.working[first] else 0
    else:
        total_us = (table.working_before[last] - table.working_before[first + 1]) * _US_PER_DAY
        if table.working[first]:
            total_us += (first + 1) * _US_PER_DAY - start_us
        if table.working[last]:
            total_us += end_us - last * _US_PER_DAY
    return total_us / _US_PER_SECOND


def add_working_seconds(start: datetime, working_seconds: float) -> datetime:
    """The earliest instant (UTC) at which `working_seconds` of working time have passed since `start`."""
    known = _added.get((start, working_seconds))
    if known is not None:
        return known
    return _remember(_added, (start, working_seconds), _add_working_seconds(start, working_seconds))


def _add_working_seconds(start: datetime, working_seconds: float) -> datetime:
    _require_aware(start, "start")
    if working_seconds < 0:
        raise ValueError(f"working_seconds must not be negative, got {working_seconds}")
    # timedelta rounds to whole microseconds; everything after is exact.
    remaining_us = timedelta(seconds=working_seconds) // timedelta(microseconds=1)
    if remaining_us == 0:
        return start.astimezone(timezone.utc)
    table = _day_table()
    start_us = table.since_origin_us(start)
    first = start_us // _US_PER_DAY
    if not 0 <= first < table.days:
        raise _outside_calendar(start)
    if table.working[first]:
        available_us = (first + 1) * _US_PER_DAY - start_us
        if remaining_us <= available_us:
            return table.instant(start_us + remaining_us)
        remaining_us -= available_us
    # The rest ends on the k-th working day after the start's day, k whole days rounded up;
    # a budget that runs out at midnight ends that day rather than starting the next.
    whole_days_before, last_day_us = divmod(remaining_us - 1, _US_PER_DAY)
    wanted = table.working_before[first + 1] + whole_days_before + 1
    ending = bisect_left(table.working_before, wanted) - 1
    if ending >= table.days:
        raise _past_calendar()
    return table.instant(ending * _US_PER_DAY + last_day_us + 1)


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
    table = _day_table()
    index = table.since_origin_us(instant) // _US_PER_DAY
    if 0 <= index < table.days:
        return table.instant((index + 1) * _US_PER_DAY)
    # Outside the table's years the zone's own rules decide (it kept other offsets once).
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
