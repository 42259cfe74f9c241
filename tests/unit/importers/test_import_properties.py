"""Properties of the importer's parsers and cleaners over generated inputs (hypothesis)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import example, given, settings
from hypothesis import strategies as st
from importer_samples import TINY, TINY_HEADER

from hotline.contract.schemas import event_validator
from hotline.importers import convert_csv
from hotline.importers.localtime import format_rfc3339, parse_local
from hotline.importers.normalise import OFFICE_ID_PATTERN, category_slug, office_slug

NEW_YORK = ZoneInfo("America/New_York")
WALL_CLOCK = "%Y-%m-%d %H:%M:%S"


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2037, 12, 31)))
@example(datetime(2016, 11, 6, 1, 0))  # the hour New York's clocks showed twice
@example(datetime(2016, 3, 13, 2, 30))  # the hour they skipped
def test_local_time_is_written_with_the_offset_new_york_used_at_that_instant(wall_clock):
    wall_clock = wall_clock.replace(microsecond=0)
    instant = parse_local(wall_clock.strftime(WALL_CLOCK), (WALL_CLOCK,), NEW_YORK)
    written = datetime.fromisoformat(format_rfc3339(instant))
    # the text names the same instant, with the zone's own offset for it (compared in UTC:
    # Python never holds a repeated fall-back wall clock equal to a time in another zone)
    assert written.astimezone(timezone.utc) == instant.astimezone(timezone.utc)
    assert written.utcoffset() == instant.astimezone(NEW_YORK).utcoffset()
    # the wall clock is kept, except in a spring-forward gap, where it moves on by the hour skipped
    shift = written.replace(tzinfo=None) - wall_clock
    assert shift in (timedelta(0), timedelta(hours=1))


@given(st.text())
def test_category_slug_is_stable_and_has_no_stray_underscores(text):
    slug = category_slug(text)
    assert category_slug(slug) == slug
    assert not slug.startswith("_") and not slug.endswith("_") and "__" not in slug


@given(st.text())
def test_office_slug_is_an_office_id_or_nothing(text):
    slug = office_slug(text)
    assert slug == "" or OFFICE_ID_PATTERN.match(slug[:64])


_CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "Closed", "Open", "DOT", "2020-03-08 02:30", "2020-11-01 01:30", "2021-06-01 12:00", "40.7", "-73.9", "nan", "1e400"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_CELL, min_size=10, max_size=10), max_size=6))
def test_every_row_is_either_converted_into_valid_events_or_reported(rows):
    text = io.StringIO()
    csv.writer(text).writerows([TINY_HEADER.split(","), *rows])
    text.seek(0)
    conversion = convert_csv(text, TINY)
    # no row vanishes: each one is an appeal or a problem
    assert conversion.rows_converted + len(conversion.problems) == len(rows)
    assert all(event_validator().validate(event) is None for event in conversion.events)
