"""RFC 3339 formatting of event times."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from hotline.core.timeutil import format_utc, parse_rfc3339


def test_utc_formatting_pads_years_and_shows_microseconds_only_when_set():
    assert format_utc(datetime(26, 3, 2, 1, 2, 3, tzinfo=timezone.utc)) == "0026-03-02T01:02:03Z"
    shanghai = timezone(timedelta(hours=8))
    assert format_utc(datetime(2026, 3, 2, 9, 0, 0, 120, tzinfo=shanghai)) == "2026-03-02T01:00:00.000120Z"


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)))
def test_formatted_instants_parse_back_to_the_same_instant(instant):
    assert parse_rfc3339(format_utc(instant)) == instant
