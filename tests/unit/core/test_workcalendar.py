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
    civil_code_deadline,
    end_of_local_day,
    is_working_day,
    supported_years,
    working_days_elapsed,
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


# --- civil-code count: the day of receipt is not counted, the last day ends at 24:00 ---


@pytest.mark.parametrize(
    ("received", "working_days", "due"),
    [
        # A working day just before and just after midnight: the next day starts the count.
        ("2025-03-03 10:25", 5, "2025-03-11 00:00"),  # Mon -> 24:00 of Mon 10th (Tue..Fri, Mon)
        ("2025-03-03 23:59:59", 5, "2025-03-11 00:00"),
        ("2025-03-04 00:00", 5, "2025-03-12 00:00"),  # Tue 00:00 is already Tuesday: not counted
        ("2025-03-04 00:00:01", 5, "2025-03-12 00:00"),
        # Friday late and Saturday early: both first count Monday.
        ("2025-03-07 23:59:59", 5, "2025-03-15 00:00"),
        ("2025-03-08 00:00:01", 5, "2025-03-15 00:00"),
        # Rest days: a weekend day and a public holiday (National Day 2025, Oct 1 - 8).
        ("2025-03-09 15:00", 1, "2025-03-11 00:00"),  # Sunday -> Monday counts
        ("2025-10-02 12:00", 5, "2025-10-15 00:00"),  # Oct 9, 10, 11 (Sat, worked), 13, 14
        # A count that crosses a holiday skips it.
        ("2025-09-29 10:00", 5, "2025-10-14 00:00"),  # Sep 30, Oct 9, 10, 11, 13
        ("2026-02-12 08:30", 5, "2026-02-27 00:00"),  # Fri 13, Sat 14 (worked), Tue 24, Wed 25, Thu 26
        # Adjusted working weekend days (调休) count as working days, and a receipt on one
        # is a receipt on a working day.
        ("2025-09-26 10:00", 1, "2025-09-29 00:00"),  # Fri -> Sun 28 works
        ("2025-09-27 10:00", 1, "2025-09-29 00:00"),  # Sat (rest) -> Sun 28 works
        ("2025-09-28 10:00", 1, "2025-09-30 00:00"),  # on the worked Sunday -> Mon 29
        # Zero days: the instant the count starts.
        ("2025-03-03 10:25", 0, "2025-03-04 00:00"),
    ],
)
def test_civil_code_deadline_is_24_00_of_the_nth_working_day_after_the_day_of_receipt(received: str, working_days: int, due: str):
    assert civil_code_deadline(local(received), working_days) == local(due)


def test_civil_code_deadline_is_the_elapsed_count_started_at_the_end_of_the_day_of_receipt():
    received = local("2025-01-24 10:00")
    assert end_of_local_day(received) == local("2025-01-25 00:00")
    assert civil_code_deadline(received, 3) == add_working_days(local("2025-01-25 00:00"), 3) == local("2025-02-06 00:00")


@pytest.mark.parametrize(
    ("received", "at", "elapsed"),
    [
        ("2025-03-03 10:25", "2025-03-03 10:25", 0),
        ("2025-03-03 10:25", "2025-03-04 00:00", 0),  # 24:00 of the day of receipt
        ("2025-03-03 10:25", "2025-03-04 00:00:01", 1),
        ("2025-03-03 10:25", "2025-03-10 23:59:59", 5),  # last second of the fifth working day
        ("2025-03-03 10:25", "2025-03-11 00:00", 5),  # its 24:00
        ("2025-03-03 10:25", "2025-03-11 00:00:01", 6),
        ("2025-03-03 10:25", "2025-03-08 12:00", 5),  # Saturday waits for Monday, the fifth
        ("2025-03-08 10:00", "2025-03-09 10:00", 1),  # received Sat, replied Sun: before Mon 24:00
        ("2025-09-29 10:00", "2025-10-05 10:00", 2),  # in the holiday: Sep 30 counted, Oct 9 next
        ("2025-09-29 10:00", "2025-10-09 10:00", 2),
        ("2025-09-26 10:00", "2025-09-28 18:00", 1),  # the worked Sunday is the first working day
    ],
)
def test_working_days_elapsed_counts_the_civil_code_way(received: str, at: str, elapsed: int):
    assert working_days_elapsed(local(received), local(at)) == elapsed


def test_working_days_elapsed_refuses_an_end_before_the_start():
    with pytest.raises(ValueError, match="before received_at"):
        working_days_elapsed(local("2025-03-03 10:00"), local("2025-03-03 09:59"))


RECEIPTS = st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SHANGHAI))


@given(received=RECEIPTS, working_days=st.integers(min_value=1, max_value=20))
def test_a_civil_code_deadline_is_a_local_midnight_ending_a_working_day_after_the_receipt(received: datetime, working_days: int):
    due = civil_code_deadline(received, working_days).astimezone(SHANGHAI)
    assert due > received
    assert due.time() == datetime.min.time()
    assert is_working_day(due.date() - timedelta(days=1))
    assert due.date() > received.date() + timedelta(days=working_days)


@given(first=RECEIPTS, second=RECEIPTS, working_days=st.integers(min_value=0, max_value=20))
def test_a_later_receipt_is_never_due_earlier(first: datetime, second: datetime, working_days: int):
    earlier, later = sorted((first, second))
    assert civil_code_deadline(earlier, working_days) <= civil_code_deadline(later, working_days)


@given(received=RECEIPTS, working_days=st.integers(min_value=1, max_value=20), microseconds=st.integers(min_value=1, max_value=86_400_000_000))
def test_working_days_elapsed_is_the_smallest_count_whose_deadline_is_not_passed(received: datetime, working_days: int, microseconds: int):
    due = civil_code_deadline(received, working_days)
    assert working_days_elapsed(received, due) == working_days
    assert working_days_elapsed(received, due + timedelta(microseconds=1)) == working_days + 1
    at = received + timedelta(microseconds=microseconds)
    elapsed = working_days_elapsed(received, at)
    assert at <= civil_code_deadline(received, elapsed)
    assert elapsed == 0 or at > civil_code_deadline(received, elapsed - 1)


# --- the day table against a day-by-day walk ---------------------------------------
# The arithmetic looks each day up in a table of working-day counts; these oracles walk
# the local days one by one, as the convention reads, and must agree to the microsecond.


def walked_working_seconds(start: datetime, end: datetime) -> float:
    local_start, local_end = start.astimezone(SHANGHAI), end.astimezone(SHANGHAI)
    total = timedelta()
    day = local_start.date()
    while day <= local_end.date():
        if is_working_day(day):
            day_start = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI)
            overlap = min(local_end, day_start + timedelta(days=1)) - max(local_start, day_start)
            total += max(overlap, timedelta())
        day += timedelta(days=1)
    return total.total_seconds()


def walked_add_working_seconds(start: datetime, working_seconds: float) -> datetime:
    remaining = timedelta(seconds=working_seconds)
    cursor = start.astimezone(SHANGHAI)
    while remaining > timedelta():
        day_end = datetime.combine(cursor.date(), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(days=1)
        if is_working_day(cursor.date()):
            if remaining <= day_end - cursor:
                return (cursor + remaining).astimezone(timezone.utc)
            remaining -= day_end - cursor
        cursor = day_end
    return cursor.astimezone(timezone.utc)


OFFSETS = st.sampled_from([timezone.utc, SHANGHAI, timezone(timedelta(hours=-5)), timezone(timedelta(hours=8))])
ANY_INSTANT = st.datetimes(min_value=datetime(2004, 1, 1), max_value=datetime(2026, 12, 31, 23, 59, 59), timezones=OFFSETS)
BUDGETS = st.one_of(
    st.integers(min_value=0, max_value=40 * WORKING_DAY_SECONDS).map(float),
    st.floats(min_value=0, max_value=40.0 * WORKING_DAY_SECONDS, allow_nan=False),
    st.integers(min_value=0, max_value=40).map(lambda days: float(days * WORKING_DAY_SECONDS)),
)


def outcome(compute):
    try:
        result = compute()
    except CalendarRangeError as error:
        return ("refused", error.day)
    return ("answered", result, getattr(result, "tzinfo", None))


@given(start=ANY_INSTANT, working_seconds=BUDGETS)
def test_add_working_seconds_agrees_with_a_day_by_day_walk(start: datetime, working_seconds: float):
    assert outcome(lambda: add_working_seconds(start, working_seconds)) == outcome(lambda: walked_add_working_seconds(start, working_seconds))


@given(start=ANY_INSTANT, end=ANY_INSTANT)
def test_working_seconds_between_agrees_with_a_day_by_day_walk(start: datetime, end: datetime):
    expected = outcome(lambda: 0.0 if end <= start else walked_working_seconds(start, end))
    assert outcome(lambda: working_seconds_between(start, end)) == expected


@pytest.mark.parametrize(
    ("start", "working_seconds", "due"),
    [
        # Budgets that end exactly at a midnight, or one microsecond either side of it.
        ("2025-03-07 10:00", 14 * 3600, "2025-03-08 00:00"),  # Friday's own rest of the day
        ("2025-03-07 10:00", 14 * 3600 + 0.000001, "2025-03-10 00:00:00.000001"),
        ("2025-03-07 10:00", 14 * 3600 + 86_400, "2025-03-11 00:00"),  # ends Monday at 24:00
        ("2025-03-07 10:00", 14 * 3600 + 86_400 - 0.000001, "2025-03-10 23:59:59.999999"),
        ("2025-03-08 10:00", 86_400, "2025-03-11 00:00"),  # from a Saturday: Monday's 24:00
        ("2025-01-27 10:00", 14 * 3600 + 1, "2025-02-05 00:00:01"),  # over the whole festival
        ("2026-12-31 10:00", 14 * 3600, "2027-01-01 00:00"),  # the last known day's 24:00
    ],
)
def test_add_working_seconds_at_the_edges_of_days(start: str, working_seconds: float, due: str):
    assert add_working_seconds(local(start), working_seconds) == local(due)
    assert add_working_seconds(local(start), working_seconds) == walked_add_working_seconds(local(start), working_seconds)


@pytest.mark.parametrize(
    ("compute", "refused_day"),
    [
        (lambda: add_working_seconds(local("2026-12-31 10:00"), 14 * 3600 + 1), date(2027, 1, 1)),
        (lambda: add_working_seconds(local("2027-01-04 10:00"), 1), date(2027, 1, 4)),
        (lambda: add_working_seconds(local("2003-12-31 23:00"), 1), date(2003, 12, 31)),
        (lambda: working_seconds_between(local("2026-12-31 10:00"), local("2027-01-01 00:00")), date(2027, 1, 1)),
        (lambda: working_seconds_between(local("2003-12-31 10:00"), local("2004-01-02 00:00")), date(2003, 12, 31)),
        (lambda: working_seconds_between(local("2027-02-01 10:00"), local("2027-02-02 00:00")), date(2027, 2, 1)),
    ],
)
def test_the_first_unknown_day_is_the_one_refused(compute, refused_day: date):
    with pytest.raises(CalendarRangeError) as raised:
        compute()
    assert raised.value.day == refused_day


def test_a_zero_budget_needs_no_calendar_and_answers_in_utc():
    start = local("2030-05-01 10:00")
    assert add_working_seconds(start, 0) == start
    assert add_working_seconds(start, 0).tzinfo is timezone.utc


def test_the_day_table_agrees_with_the_library_on_every_known_day():
    first_year, last_year = supported_years()
    for day in days(f"{first_year}-01-01", f"{last_year}-12-31"):
        assert is_working_day(day) is chinese_calendar.is_workday(day), day


@given(instant=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 12, 31), timezones=OFFSETS))
def test_end_of_local_day_is_the_next_local_midnight_in_utc(instant: datetime):
    expected = (datetime.combine(instant.astimezone(SHANGHAI).date(), datetime.min.time(), tzinfo=SHANGHAI) + timedelta(days=1)).astimezone(timezone.utc)
    assert end_of_local_day(instant) == expected
    assert end_of_local_day(instant).tzinfo is timezone.utc


# --- answers kept between calls -------------------------------------------------------


@pytest.fixture
def add_holiday(monkeypatch):
    """Adds a holiday to the calendar library's tables, as an operator may patch them at
    run time, and reloads the calendar; afterwards both are as they were."""
    from hotline.core.workcalendar import reload_calendar

    def add(day: date) -> None:
        monkeypatch.setitem(chinese_calendar.holidays, day, "Extra holiday")
        reload_calendar()

    yield add
    monkeypatch.undo()
    reload_calendar()


def test_a_reloaded_calendar_answers_with_its_new_holidays_not_the_remembered_ones(add_holiday):
    tuesday = local("2025-06-10 10:00")
    # given answers asked (and remembered) before the holiday was added
    assert add_working_seconds(tuesday, WORKING_DAY_SECONDS) == local("2025-06-11 10:00")
    assert working_seconds_between(tuesday, local("2025-06-12 10:00")) == 2 * WORKING_DAY_SECONDS
    assert is_working_day(date(2025, 6, 11))
    # when the calendar is reloaded with Wednesday 11 June as a holiday
    add_holiday(date(2025, 6, 11))
    # then the same questions skip that Wednesday
    assert not is_working_day(date(2025, 6, 11))
    assert add_working_seconds(tuesday, WORKING_DAY_SECONDS) == local("2025-06-12 10:00")
    assert working_seconds_between(tuesday, local("2025-06-12 10:00")) == WORKING_DAY_SECONDS
    assert add_working_days(tuesday, 2) == local("2025-06-13 10:00")


def test_remembered_answers_do_not_depend_on_the_offset_an_instant_is_written_in():
    in_shanghai = local("2025-06-10 10:00")
    in_utc = in_shanghai.astimezone(timezone.utc)
    assert add_working_seconds(in_shanghai, 3600) == add_working_seconds(in_utc, 3600) == local("2025-06-10 11:00")
    assert add_working_seconds(in_utc, 3600).utcoffset() == timedelta(0)
    with pytest.raises(ValueError, match="no UTC offset"):
        add_working_seconds(in_shanghai.replace(tzinfo=None), 3600)
    with pytest.raises(ValueError, match="no UTC offset"):
        working_seconds_between(in_shanghai.replace(tzinfo=None), in_utc)
