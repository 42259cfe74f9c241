"""RFC 3339 formatting of event times, and instants as compact epoch numbers."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from hotline.core.timeutil import compact_epoch, format_utc, from_epoch, parse_rfc3339


def test_utc_formatting_pads_years_and_shows_microseconds_only_when_set():
    assert format_utc(datetime(26, 3, 2, 1, 2, 3, tzinfo=timezone.utc)) == "0026-03-02T01:02:03Z"
    shanghai = timezone(timedelta(hours=8))
    assert format_utc(datetime(2026, 3, 2, 9, 0, 0, 120, tzinfo=shanghai)) == "2026-03-02T01:00:00.000120Z"


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)))
def test_formatted_instants_parse_back_to_the_same_instant(instant):
    assert parse_rfc3339(format_utc(instant)) == instant


def field_by_field(instant: datetime) -> str:
    utc = instant.astimezone(timezone.utc)
    text = f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    return f"{text}.{utc.microsecond:06d}Z" if utc.microsecond else text + "Z"


@given(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)),
    st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-9, minutes=-30))]),
)
def test_utc_formatting_writes_every_field_of_the_utc_instant(naive: datetime, offset: timezone):
    instant = naive.replace(tzinfo=offset)
    assert format_utc(instant) == field_by_field(instant)


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(timezone.utc)))
def test_compact_epoch_numbers_give_back_the_same_microsecond(instant):
    number = compact_epoch(instant)
    assert from_epoch(number) == instant
    assert isinstance(number, int) == (instant.microsecond == 0)


def test_compact_epoch_of_a_whole_second_is_an_int_and_of_a_fraction_a_float():
    shanghai = timezone(timedelta(hours=8))
    assert compact_epoch(datetime(2026, 1, 22, 8, 40, 24, tzinfo=shanghai)) == 1769042424
    assert compact_epoch(datetime(2026, 1, 22, 0, 40, 24, 500000, tzinfo=timezone.utc)) == 1769042424.5
    assert from_epoch(1769042424) == datetime(2026, 1, 22, 0, 40, 24, tzinfo=timezone.utc)
