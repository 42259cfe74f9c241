"""Working-day arithmetic across Chinese public holidays and their adjusted working weekends."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import chinese_calendar
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hotline.core.workcalendar import (
    SHANGHAI,
    WORKING_DAY_SECONDS,
    CalendarRangeError,
    add_working_days,
    add_working_seconds,
    is_working_day,
    supported_years,
    working_seconds_between,
)


def local(text: str) -> datetime:
    """An instant written as Asia/Shanghai wall-clock time, e.g. '2025-01-27 10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def days(first: str, last: str) -> list[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


# The State Council's schedules, as the library carries them (checked against it below).
HOLIDAYS = [
    *days("2025-01-28", "2025-02-04"),  # Spring Festival 2025
    *days("2025-10-01", "2025-10-08"),  # National Day + Mid-Autumn 2025
    *days("2026-02-15", "2026-02-23"),  # Spring Festival 2026
    *days("2026-09-25", "2026-09-27"),  # Mid-Autumn 2026
    *days("2026-10-01", "2026-10-07"),  # National Day 2026
]
ADJUSTED_WORKING_WEEKEND_DAYS = [
    date(2025, 1, 26),  # Sunday
    date(2025, 2, 8),  # Saturday
    date(2025, 9, 28),  # Sunday
    date(2025, 10, 11),  # Saturday
    date(2026, 2, 14),  # Saturday
    date(2026, 2, 28),  # Saturday
    date(2026, 9, 20),  # Sunday
    date(2026, 10, 10),  # Saturday
]


@pytest.mark.parametrize("day", HOLIDAYS, ids=str)
def test_public_holidays_are_not_working_days(day: date):
    assert chinese_calendar.is_holiday(day)
    assert is_working_day(day) is False


@pytest.mark.parametrize("day", ADJUSTED_WORKING_WEEKEND_DAYS, ids=str)
def test_adjusted_weekend_days_are_working_days(day: date):
    assert day.weekday() >= 5
    assert is_working_day(day) is True


def test_the_library_knows_no_other_adjusted_weekends_around_the_two_festivals():
    for first, last in (("2025-01-01", "2025-02-28"), ("2025-09-01", "2025-10-31"), ("2026-02-01", "2026-03-15"), ("2026-09-01", "2026-10-31")):
        worked_weekend_days = [day for day in days(first, last) if day.weekday() >= 5 and is_working_day(day)]
        assert worked_weekend_days == [day for day in ADJUSTED_WORKING_WEEKEND_DAYS if first <= day.isoformat() <= last]


@pytest.mark.parametrize(
    ("start", "working_days", "due"),
    [
        # Spring Festival 2025: Jan 28 - Feb 4 off; Sun Jan 26 and Sat Feb 8 work.
        ("2025-01-27 10:00", 1, "2025-02-05 10:00"),
        ("2025-01-24 10:00", 1, "2025-01-26 10:00"),
        ("2025-01-25 15:00", 1, "2025-01-27 00:00"),
        ("2025-02-07 09:00", 1, "2025-02-08 09:00"),
        ("2025-02-07 09:00", 2, "2025-02-10 09:00"),
        ("2025-01-27 18:00", 5, "2025-02-10 18:00"),
        ("2025-01-30 12:00", 1, "2025-02-06 00:00"),
        # National Day 2025: Oct 1 - 8 off; Sun Sep 28 and Sat Oct 11 work.
        ("2025-09-26 17:30", 1, "2025-09-28 17:30"),
        ("2025-09-30 09:00", 1, "2025-10-09 09:00"),
        ("2025-09-30 09:00", 3, "2025-10-11 09:00"),
        ("2025-10-01 12:00", 1, "2025-10-10 00:00"),
        ("2025-10-10 00:00", 1, "2025-10-11 00:00"),
        ("2025-10-10 00:00", 2, "2025-10-12 00:00"),
        ("2025-10-10 00:00", 3, "2025-10-14 00:00"),
        # Spring Festival 2026: Feb 15 - 23 off; Sat Feb 14 and Sat Feb 28 work.
        ("2026-02-13 10:00", 1, "2026-02-14 10:00"),
        ("2026-02-14 10:00", 1, "2026-02-24 10:00"),
        ("2026-02-27 16:00", 1, "2026-02-28 16:00"),
        ("2026-02-12 08:30", 5, "2026-02-26 08:30"),  # Fri 13, Sat 14, Tue 24, Wed 25, Thu 26
        # Mid-Autumn Sep 25 - 27 and National Day Oct 1 - 7 2026; Sun Sep 20 and Sat Oct 10 work.
        ("2026-09-18 11:00", 1, "2026-09-20 11:00"),
        ("2026-09-24 11:00", 1, "2026-09-28 11:00"),
        ("2026-09-30 11:00", 1, "2026-10-08 11:00"),
        ("2026-09-30 11:00", 3, "2026-10-10 11:00"),
        # Ordinary weeks: same clock time, and a budget ending at midnight ends the day.
        ("2025-03-07 10:00", 1, "2025-03-10 10:00"),
        ("2025-03-03 00:00", 5, "2025-03-08 00:00"),
        ("2025-03-07 10:00", 0, "2025-03-07 10:00"),
    ],
)
def test_add_working_days_gives_the_exact_due_instant(start: str, working_days: int, due: str):
    assert add_working_days(local(start), working_days) == local(due)


def test_add_working_days_accepts_any_offset_and_answers_in_utc():
    due = add_working_days(datetime(2025, 1, 27, 2, 0, tzinfo=timezone.utc), 1)
    assert due == datetime(2025, 2, 5, 2, 0, tzinfo=timezone.utc)
    assert due.tzinfo == timezone.utc


@pytest.mark.parametrize(
    ("start", "end", "seconds"),
    [
        ("2025-01-24 10:00", "2025-01-27 10:00", 48 * 3600),  # Fri 14 h + Sun (worked) 24 h + Mon 10 h
        ("2025-01-27 12:00", "2025-02-05 12:00", 24 * 3600),  # the whole festival counts nothing
        ("2025-10-02 00:00", "2025-10-05 00:00", 0),
        ("2025-09-30 18:00", "2025-10-11 06:00", (6 + 24 + 24 + 6) * 3600),
        ("2026-02-13 10:00", "2026-02-24 10:00", (14 + 24 + 10) * 3600),
        ("2025-03-07 10:00", "2025-03-07 09:00", 0),
    ],
)
def test_working_seconds_between_counts_only_working_days(start: str, end: str, seconds: int):
    assert working_seconds_between(local(start), local(end)) == seconds


def test_add_working_seconds_counts_hours_of_working_time():
    # Friday 22:00 + 4 working hours: 2 h on Friday, then Monday (Sat/Sun off) 02:00.
    assert add_working_seconds(local("2025-03-07 22:00"), 4 * 3600) == local("2025-03-10 02:00")


def test_a_date_beyond_the_known_years_names_the_date_and_the_range():
    first_year, last_year = supported_years()
    assert (first_year, last_year) == (2004, 2026)
    with pytest.raises(CalendarRangeError) as raised:
        add_working_days(local("2026-12-30 10:00"), 5)
    assert isinstance(raised.value, ValueError)
    assert raised.value.day == date(2027, 1, 1)
    assert "2027-01-01" in str(raised.value)
    assert "2004-2026" in str(raised.value)


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="no UTC offset"):
        add_working_days(datetime(2025, 3, 3, 10, 0), 1)


@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2026, 10, 31), timezones=st.just(SHANGHAI)),
    working_days=st.integers(min_value=0, max_value=20),
)
def test_the_due_instant_is_exactly_n_working_days_of_working_time_away(start: datetime, working_days: int):
    due = add_working_days(start, working_days)
    assert working_seconds_between(start, due) == working_days * WORKING_DAY_SECONDS
    # ...and it is the earliest such instant: a second earlier is short of the budget.
    if working_days:
        assert working_seconds_between(start, due - timedelta(seconds=1)) == working_days * WORKING_DAY_SECONDS - 1
