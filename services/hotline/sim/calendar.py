"""Time in the simulated city: instants, the rhythm of calls and the Chinese working calendar.

Every instant inside the simulator is a whole number of seconds since local midnight
(UTC+08:00) of the first simulated day, so arithmetic is exact and no clock is read.
Consumes the first day and the number of days; produces RFC 3339 texts of instants, the
expected share of a day's calls per hour, a per-day volume factor (working day, weekend,
public holiday, from chinesecalendar) and working-day deadline arithmetic.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import cache

import chinese_calendar

from hotline.core.timeutil import format_utc

LOCAL_OFFSET = timezone(timedelta(hours=8))
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86400

# Calls per hour of the day, relative: quiet nights, a morning peak and an afternoon peak.
_HOURLY_WEIGHTS = (0.4, 0.25, 0.15, 0.1, 0.1, 0.2, 0.6, 1.5, 3.5, 6.5, 7.5, 7.2, 5.5, 5.0, 6.5, 7.0, 6.8, 6.0, 4.5, 4.2, 4.0, 3.5, 2.2, 1.2)
HOURLY_SHARES = tuple(weight / sum(_HOURLY_WEIGHTS) for weight in _HOURLY_WEIGHTS)
WORKING_DAY_VOLUME_FACTOR = 1.0
REST_DAY_VOLUME_FACTOR = 0.6  # weekends that are not adjusted working days
PUBLIC_HOLIDAY_VOLUME_FACTOR = 0.45


@cache
def _times_of_day() -> tuple[str, ...]:
    """"HH:MM:SS+08:00" for every second of a day: formatting instants is the simulator's
    hottest path, and a lookup is several times cheaper than formatting."""
    return tuple(f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+08:00" for second in range(SECONDS_PER_DAY))


class CalendarDataMissing(ValueError):
    """chinesecalendar has no data for a simulated day."""


def _official_workday(day: date) -> bool | None:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return None


class SimCalendar:
    def __init__(self, start: date, days: int):
        self.start = start
        self.days = days
        for offset in range(days):
            day = start + timedelta(days=offset)
            if _official_workday(day) is None:
                raise CalendarDataMissing(f"chinesecalendar {chinese_calendar.__version__} has no data for {day.isoformat()}")
        self._workday_cache: dict[date, bool] = {}
        self._working_day_targets: dict[tuple[int, int], int] = {}
        self._compact_dates: dict[int, str] = {}
        self._local_prefixes: list[str] = []
        self._utc_origin = datetime(start.year, start.month, start.day, tzinfo=LOCAL_OFFSET)

    def is_workday(self, day: date) -> bool:
        """Official working day; beyond the library's data (deadlines that run into a year
        it does not cover yet) Monday to Friday."""
        cached = self._workday_cache.get(day)
        if cached is None:
            official = _official_workday(day)
            cached = day.weekday() < 5 if official is None else official
            self._workday_cache[day] = cached
        return cached

    def volume_factor(self, day_index: int) -> float:
        day = self.start + timedelta(days=day_index)
        if self.is_workday(day):
            return WORKING_DAY_VOLUME_FACTOR
        on_holiday, holiday_name = chinese_calendar.get_holiday_detail(day)
        if on_holiday and holiday_name is not None:
            return PUBLIC_HOLIDAY_VOLUME_FACTOR
        return REST_DAY_VOLUME_FACTOR

    def add_working_days(self, at_seconds: int, working_days: int) -> int:
        """The same clock time on the `working_days`-th working day after at's date."""
        day_index, time_of_day = divmod(at_seconds, SECONDS_PER_DAY)
        target_index = self._working_day_targets.get((day_index, working_days))
        if target_index is None:
            target_index, day, counted = day_index, self.start + timedelta(days=day_index), 0
            while counted < working_days:
                target_index += 1
                day += timedelta(days=1)
                if self.is_workday(day):
                    counted += 1
            self._working_day_targets[(day_index, working_days)] = target_index
        return target_index * SECONDS_PER_DAY + time_of_day

    def compact_date(self, at_seconds: int) -> str:
        """The local date of an instant as YYYYMMDD."""
        day_index = at_seconds // SECONDS_PER_DAY
        compact = self._compact_dates.get(day_index)
        if compact is None:
            compact = self._compact_dates[day_index] = f"{self.start + timedelta(days=day_index):%Y%m%d}"
        return compact

    def local_text(self, at_seconds: int) -> str:
        """RFC 3339 with the +08:00 offset, fixed width, so texts sort like instants."""
        day_index, time_of_day = divmod(at_seconds, SECONDS_PER_DAY)
        prefixes = self._local_prefixes
        while len(prefixes) <= day_index:
            prefixes.append(f"{self.start + timedelta(days=len(prefixes)):%Y-%m-%d}T")
        return prefixes[day_index] + _times_of_day()[time_of_day]

    def utc_text(self, at_seconds: int) -> str:
        return format_utc(self._utc_origin + timedelta(seconds=at_seconds))
