"""Rules of the converter on hand-written rows: rejections with reasons, DST edges, repeats.

The tiny export's header is "id,created,closed,due,status,office,type,details,lat,lon"
and its times are "%Y-%m-%d %H:%M" in America/New_York.
"""

from __future__ import annotations

import dataclasses

import pytest
from importer_samples import TINY, TINY_HEADER, convert_tiny, events_of

from hotline.importers import CsvFileError, ImportProblem, convert_csv


def test_time_skipped_by_spring_forward_is_written_as_the_instant_it_names():
    # given a report at 02:30 on 8 March 2020, a wall-clock time New York never showed
    conversion = convert_tiny("1,2020-03-08 02:30,,,Open,DOT,Pothole,deep hole,,")
    # then it is read with the offset before the jump (02:30-05:00) and written as 03:30 EDT
    assert conversion.events[0]["occurred_at"] == "2020-03-08T03:30:00-04:00"


def test_time_repeated_by_fall_back_is_taken_as_the_first_occurrence():
    # given a report at 01:30 on 1 November 2020, which New York lived twice
    conversion = convert_tiny("1,2020-11-01 01:30,2020-11-01 03:00,,Closed,DOT,Pothole,deep hole,,")
    received, _, _, closed = conversion.events
    assert received["occurred_at"] == "2020-11-01T01:30:00-04:00"
    assert closed["occurred_at"] == "2020-11-01T03:00:00-05:00"


@pytest.mark.parametrize(
    ("row", "kind", "reason"),
    [
        (",2020-01-01 10:00,,,Open,DOT,Pothole,x,,", "no_order_id", "no order id (column 'id' is empty)"),
        ("7,,,,Open,DOT,Pothole,x,,", "no_created_time", "no created time (column 'created' is empty)"),
        (
            "7,2020-13-01 10:00,,,Open,DOT,Pothole,x,,",
            "bad_time",
            "bad created time in column 'created': '2020-13-01 10:00' does not match '%Y-%m-%d %H:%M'",
        ),
        (
            "7,2020-01-01 10:00,01/02/2020,,Closed,DOT,Pothole,x,,",
            "bad_time",
            "bad closed time in column 'closed': '01/02/2020' does not match '%Y-%m-%d %H:%M'",
        ),
        (
            "7,2020-01-02 10:00,2020-01-01 09:00,,Closed,DOT,Pothole,x,,",
            "time_before_created",
            "closed at 2020-01-01T09:00:00-05:00, before it was created at 2020-01-02T10:00:00-05:00",
        ),
        ("7,2020-01-02 10:00,,,Closed,DOT,Pothole,x,,", "no_closed_time", "status 'Closed' but no closed time (column 'closed' is empty)"),
        (
            "7,2020-07-02 10:00,,2020-07-01 10:00,Open,DOT,Pothole,x,,",
            "time_before_created",
            "due at 2020-07-01T10:00:00-04:00, before it was created at 2020-07-02T10:00:00-04:00",
        ),
        ("7,2020-01-01 10:00,,,Open,,Pothole,x,,", "no_office", "no office (column 'office' is empty)"),
        (
            "7,2020-01-01 10:00,,,Open,市城管局,Pothole,x,,",
            "unusable_office_id",
            "office '市城管局' has no usable office_id; name it in the mapping's office.values",
        ),
        ("7,2020-01-01 10:00,,,Open,DOT,--,x,,", "no_category", "no category (column 'type' is empty)"),
        ("7,2020-01-01 10:00,,,Open,DOT,Pothole,x,north,-73.9", "bad_coordinates", "bad latitude in column 'lat': 'north' is not a number"),
        ("7,2020-01-01 10:00,,,Open,DOT,Pothole,x,95,-73.9", "bad_coordinates", "latitude 95 in column 'lat' is outside -90..90"),
        ("7,2020-01-01 10:00,,,Open,DOT,Pothole,x,40.7,", "bad_coordinates", "has a latitude without a longitude or the other way round"),
        # a row cut short reads its missing cells as empty, so what it lacks is named
        ("7,2020-01-01 10:00", "no_category", "no category (column 'type' is empty)"),
        ("7,2020-01-01 10:00,,,Open,DOT,Pothole,x,,,extra", "extra_cells", "has 11 cells; the header has 10 and the extra ones are filled"),
        (
            "x" * 120 + ",2020-01-01 10:00,,,Open,DOT,Pothole,x,,",
            "id_too_long",
            "order id is 120 characters: with the source and event type it exceeds the 128-character event id",
        ),
    ],
)
def test_row_that_cannot_be_converted_is_reported_with_its_number_kind_and_reason(row, kind, reason):
    # given a good row, the bad row, and another good row
    conversion = convert_tiny("1,2020-01-01 10:00,,,Open,DOT,Pothole,x,,", row, "2,2020-01-01 11:00,,,Open,DOT,Pothole,x,,")
    # then the bad row (row 3, counting the header as row 1) is reported and the others convert
    assert conversion.problems == [ImportProblem(3, reason, kind)]
    assert conversion.rows_converted == 2


def test_short_row_has_empty_trailing_cells_and_empty_extra_cells_are_ignored():
    # given a row cut after the type (no details, lat, lon) and a row with two empty cells too many
    conversion = convert_tiny("1,2020-01-01 10:00,,,Open,DOT,Pothole", "2,2020-01-01 11:00,,,Open,DOT,Pothole,x,,,,")
    # then both convert: the missing cells read as empty, the empty extras are dropped
    assert conversion.problems == []
    assert [(event["order_id"], event["data"]["text"]) for event in conversion.events if event["type"] == "appeal.received"] == [("1", ""), ("2", "x")]


def test_strict_conversion_stops_at_the_first_rejected_row():
    conversion = convert_csv(
        [TINY_HEADER, "1,2020-01-01 10:00,,,Open,DOT,Pothole,x,,", ",2020-01-01 10:00,,,Open,DOT,Pothole,x,,", ",bad,,,Open,DOT,Pothole,x,,"],
        TINY,
        stop_at_first_problem=True,
    )
    assert conversion.problems == [ImportProblem(3, "no order id (column 'id' is empty)", "no_order_id")]


def test_problems_come_in_file_order_and_blank_lines_are_not_rows():
    conversion = convert_tiny(
        "1,2020-01-01 10:00,,,Open,DOT,Pothole,x,,",
        "",
        "2,2020-01-01 10:00,,,Open,DOT,Pothole,x,,,filled",
        ",2020-01-01 10:00,,,Open,DOT,Pothole,x,,",
    )
    assert [str(problem) for problem in conversion.problems] == [
        "row 4: has 11 cells; the header has 10 and the extra ones are filled",
        "row 5: no order id (column 'id' is empty)",
    ]
    assert conversion.rows_converted == 1


def test_repeat_numbers_count_every_row_with_the_id_even_a_rejected_one():
    # given id 5 three times, the first with a bad date
    conversion = convert_tiny(
        "5,yesterday,,,Open,DOT,Pothole,x,,",
        "5,2020-01-01 10:00,,,Open,DOT,Pothole,x,,",
        "5,2020-01-01 10:00,,,Open,DOT,Pothole,x,,",
    )
    # then the converted ones keep their position in the file: "5~2" and "5~3"
    assert [event["event_id"] for event in conversion.events if event["type"] == "appeal.received"] == [
        "csv:5~2:appeal.received",
        "csv:5~3:appeal.received",
    ]
    assert conversion.problems == [ImportProblem(2, "bad created time in column 'created': 'yesterday' does not match '%Y-%m-%d %H:%M'", "bad_time")]


def test_status_decides_closure_in_any_letter_case():
    conversion = convert_tiny("1,2020-01-01 10:00,2020-01-02 10:00,,CLOSED,DOT,Pothole,x,,")
    assert [event["type"] for event in events_of(conversion, "1")] == ["appeal.received", "order.dispatched", "order.resolved", "order.closed"]
    assert conversion.events[-1]["data"] == {"status": "CLOSED"}


def test_without_a_status_column_a_filled_closed_time_closes_the_order():
    mapping = dataclasses.replace(TINY, columns=dataclasses.replace(TINY.columns, status=None), closed_statuses=frozenset())
    conversion = convert_csv(
        ["id,created,closed,due,status,office,type,details,lat,lon", "1,2020-01-01 10:00,2020-01-02 10:00,,,DOT,Pothole,x,,", "2,2020-01-01 10:00,,,,DOT,Pothole,x,,"],
        mapping,
    )
    assert [(event["order_id"], event["type"]) for event in conversion.events] == [
        ("1", "appeal.received"),
        ("1", "order.dispatched"),
        ("2", "appeal.received"),
        ("2", "order.dispatched"),
        ("1", "order.resolved"),
        ("1", "order.closed"),
    ]
    assert conversion.events[-1]["data"] == {}


def test_text_longer_than_the_contract_allows_is_cut_with_an_ellipsis():
    conversion = convert_tiny("1,2020-01-01 10:00,,,Open,DOT," + "Pothole " * 40 + ",x,,")
    title = conversion.events[0]["data"]["title"]
    assert title == ("Pothole " * 25)[:199] + "…"
    assert len(title) == 200
    assert conversion.events[0]["data"]["category"] == ("pothole_" * 8)[:63]


def test_header_without_a_mapped_column_stops_the_whole_file():
    with pytest.raises(CsvFileError) as raised:
        convert_csv(["id,created,office,type,details", "1,2020-01-01 10:00,DOT,Pothole,x"], TINY)
    assert str(raised.value) == (
        "the header has no column 'closed' (mapping field columns.closed_at), 'due' (mapping field columns.due_at), "
        "'status' (mapping field columns.status), 'lat' (mapping field location.lat), 'lon' (mapping field location.lon)"
    )


def test_empty_file_has_no_header():
    with pytest.raises(CsvFileError, match="^the file is empty: there is no header row$"):
        convert_csv([], TINY)


def test_csv_syntax_the_reader_cannot_pass_stops_the_file_naming_the_row():
    with pytest.raises(CsvFileError, match=r"^row 3: field larger than field limit \(131072\)$"):
        convert_tiny("1,2020-01-01 10:00,,,Open,DOT,Pothole,x,,", '2,2020-01-01 10:00,,,Open,DOT,Pothole,"' + "x" * 140_000 + '",,')
