"""Mapping options on hand-written rows: constants, joined columns, Excel serial dates,
row filters, routing by category, replies, and header names in another letter case."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hotline.contract.schemas import event_validator
from hotline.core.config_tables import ConfigFileError
from hotline.importers import CsvFileError, ImportProblem, convert_csv, load_mapping
from hotline.importers.localtime import parse_local

BOARD_MAPPING = """
source = "board"
time_zone = "Asia/Shanghai"
date_format = ["%Y/%m/%d %H:%M:%S", "excel"]

[columns]
order_id = "编号"
created_at = "时间"
title = "主题"
text = ["主题", "详情"]
caller_id = "用户"

[constants]
office = "a_city_hotline"
category = "message_board"

[channel]
default = "web"
"""

HEADER = "编号,用户,主题,时间,详情"


def _mapping(tmp_path: Path, text: str = BOARD_MAPPING):
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


def _received(conversion) -> list[dict]:
    return [event for event in conversion.events if event["type"] == "appeal.received"]


def test_constants_fill_office_and_category_and_joined_columns_make_the_text(tmp_path):
    # given a board export with no office or category column, the text joined from title and details
    conversion = convert_csv([HEADER, "101,U1,路灯不亮,2019/3/5 20:15:00,小区门口的路灯坏了三天"], _mapping(tmp_path))
    assert conversion.problems == []
    received, dispatched = conversion.events
    assert received["data"] == {
        "channel": "web",
        "caller_id": "U1",
        "title": "路灯不亮",
        "text": "路灯不亮\n小区门口的路灯坏了三天",
        "category": "message_board",
        "urgency": "normal",
        "location": {},
        "office_id": "a_city_hotline",
        "source": "board",
    }
    assert dispatched["data"] == {"office_id": "a_city_hotline"}
    assert [event_validator().validate(event) for event in conversion.events] == [None, None]


def test_joined_columns_skip_empty_cells_and_use_the_mappings_separator(tmp_path):
    mapping = _mapping(tmp_path, 'join_separator = " | "\n' + BOARD_MAPPING)
    conversion = convert_csv([HEADER, "101,U1,,2019/3/5 20:15:00,只有详情", "102,U1,只有主题,2019/3/5 20:16:00,"], mapping)
    assert [event["data"]["text"] for event in _received(conversion)] == ["只有详情", "只有主题"]
    conversion = convert_csv([HEADER, "103,U1,甲,2019/3/5 20:15:00,乙"], mapping)
    assert _received(conversion)[0]["data"]["text"] == "甲 | 乙"


@pytest.mark.parametrize(
    ("cell", "wall_clock"),
    [
        ("43831.5", "2020-01-01T12:00:00+08:00"),
        ("43831", "2020-01-01T00:00:00+08:00"),
        # a serial as a binary float writes it: 0.475752314813 of a day is 11:25:05.000
        ("43524.475752314813", "2019-02-28T11:25:05+08:00"),
        ("61", "1900-03-01T00:00:00+08:05:43"),
    ],
)
def test_excel_serial_date_is_read_as_the_local_wall_clock_it_encodes(cell, wall_clock):
    # (Shanghai's 1900 offset is local mean time, +08:05:43, which the converter refuses later)
    assert parse_local(cell, ("%Y/%m/%d %H:%M:%S", "excel"), ZoneInfo("Asia/Shanghai")).isoformat() == wall_clock


@pytest.mark.parametrize("cell", ["60", "43831.5.1", "-43831", "1e5", "2958466"])
def test_numbers_that_are_not_excel_serial_dates_are_refused(cell, tmp_path):
    conversion = convert_csv([HEADER, f"101,U1,主题,{cell},详情"], _mapping(tmp_path))
    assert [problem.kind for problem in conversion.problems] == ["bad_time"]


def test_excel_serial_is_only_read_when_the_mapping_lists_excel(tmp_path):
    mapping = _mapping(tmp_path, BOARD_MAPPING.replace(', "excel"', ""))
    conversion = convert_csv([HEADER, "101,U1,主题,43831.5,详情"], mapping)
    assert conversion.problems == [ImportProblem(2, "bad created time in column '时间': '43831.5' does not match '%Y/%m/%d %H:%M:%S'", "bad_time")]


def test_skip_filter_drops_rows_with_a_listed_value_in_any_letter_case(tmp_path):
    mapping = _mapping(tmp_path, BOARD_MAPPING + '[filter]\nskip = { "用户" = ["tester", "admin"] }\n')
    conversion = convert_csv([HEADER, "1,U1,甲,2019/3/5 20:15:00,乙", "2,Tester,甲,never,乙", "3,ADMIN,甲,2019/3/5 20:15:00,乙"], mapping)
    # then the skipped rows are neither orders nor problems, even with a bad time
    assert [event["order_id"] for event in _received(conversion)] == ["1"]
    assert conversion.problems == []
    assert conversion.rows_skipped == 2


def test_keep_filter_needs_a_listed_value_in_every_keep_column(tmp_path):
    mapping = _mapping(tmp_path, BOARD_MAPPING + '[filter]\nkeep = { "用户" = ["U1", "U2"], "主题" = ["甲"] }\n')
    conversion = convert_csv(
        [HEADER, "1,U1,甲,2019/3/5 20:15:00,乙", "2,U2,丙,2019/3/5 20:15:00,乙", "3,U3,甲,2019/3/5 20:15:00,乙", "4,u2,甲,2019/3/5 20:15:00,乙"],
        mapping,
    )
    assert [event["order_id"] for event in _received(conversion)] == ["1", "4"]
    assert conversion.rows_skipped == 2


ROUTED_MAPPING = """
time_zone = "America/New_York"
date_format = "%Y-%m-%d %H:%M"
[columns]
order_id = "id"
created_at = "created"
title = "type"
text = "details"
category = "type"
[routing]
"Noise - Residential" = "nypd"
"Pothole" = "dot"
"""


def test_routing_sends_each_category_to_its_office_and_others_to_the_constant(tmp_path):
    mapping = _mapping(tmp_path, ROUTED_MAPPING + '[constants]\noffice = "city_hotline"\n')
    conversion = convert_csv(
        ["id,created,type,details", "1,2020-01-01 10:00,NOISE - RESIDENTIAL,loud", "2,2020-01-01 10:00,Pothole,deep", "3,2020-01-01 10:00,Graffiti,wall"],
        mapping,
    )
    # routes compare categories in snake_case, so the upper-case spelling finds its route
    assert [(event["order_id"], event["data"]["office_id"]) for event in _received(conversion)] == [("1", "nypd"), ("2", "dot"), ("3", "city_hotline")]


def test_category_without_a_route_and_no_constant_office_is_rejected(tmp_path):
    conversion = convert_csv(["id,created,type,details", "1,2020-01-01 10:00,Graffiti,wall"], _mapping(tmp_path, ROUTED_MAPPING))
    assert conversion.problems == [ImportProblem(2, "no office: category 'graffiti' has no route and the mapping has no constants.office", "no_office")]


def test_reply_becomes_an_order_replied_event_at_the_reply_time(tmp_path):
    mapping = _mapping(tmp_path, BOARD_MAPPING.replace('caller_id = "用户"', 'caller_id = "用户"\nreplied_at = "答复时间"\nreply = "答复"'))
    conversion = convert_csv(
        [HEADER + ",答复,答复时间", "7,U1,甲,2019/3/5 20:15:00,乙,已安排维修,2019/3/8 09:00:00", "8,U1,甲,2019/3/5 20:15:00,乙,,"],
        mapping,
    )
    assert conversion.problems == []
    replied = [event for event in conversion.events if event["type"] == "order.replied"]
    assert replied == [
        {
            "event_id": "board:7:order.replied",
            "type": "order.replied",
            "order_id": "7",
            "occurred_at": "2019-03-08T09:00:00+08:00",
            "schema": 1,
            "data": {"office_id": "a_city_hotline", "kind": "first_contact", "text": "已安排维修"},
        }
    ]
    assert [event_validator().validate(event) for event in conversion.events] == [None] * 5


def test_reply_before_the_message_is_rejected(tmp_path):
    mapping = _mapping(tmp_path, BOARD_MAPPING.replace('caller_id = "用户"', 'caller_id = "用户"\nreplied_at = "答复时间"\nreply = "答复"'))
    conversion = convert_csv([HEADER + ",答复,答复时间", "7,U1,甲,2019/3/5 20:15:00,乙,好,2019/3/4 09:00:00"], mapping)
    assert [problem.kind for problem in conversion.problems] == ["time_before_created"]


def test_header_names_match_in_another_letter_case_and_unmapped_repeats_do_not_matter(tmp_path):
    mapping = _mapping(tmp_path, ROUTED_MAPPING + '[constants]\noffice = "city_hotline"\n')
    conversion = convert_csv(["ID,Created,TYPE,Details,hours,hours", "1,2020-01-01 10:00,Pothole,deep,3,3"], mapping)
    assert conversion.problems == []
    assert _received(conversion)[0]["data"]["text"] == "deep"


def test_a_mapped_column_twice_in_the_header_stops_the_file(tmp_path):
    mapping = _mapping(tmp_path, ROUTED_MAPPING + '[constants]\noffice = "city_hotline"\n')
    with pytest.raises(CsvFileError) as raised:
        convert_csv(["id,created,type,details,details", "1,2020-01-01 10:00,Pothole,deep,deeper"], mapping)
    assert str(raised.value) == "the column is ambiguous: 'details' (mapping field columns.text) is in the header 2 times"


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda text: text.replace('office = "a_city_hotline"\n', ""), "columns.office", "is missing: name the office column"),
        (lambda text: text.replace('category = "message_board"\n', ""), "columns.category", "is missing: name a column or give constants.category"),
        (lambda text: text.replace('office = "a_city_hotline"', 'office = "市热线"'), "constants.office", "'市热线' is not an office_id"),
        (lambda text: text.replace('office = "a_city_hotline"', 'channel = "web"'), "constants.channel", "unknown key"),
        (lambda text: text.replace('caller_id = "用户"', 'caller_id = "用户"\ncategory = "主题"'), "constants.category", "the field already comes from column '主题'"),
        (lambda text: text.replace('text = ["主题", "详情"]', 'text = ["详情"]'), "columns.text", "a list joins two or more columns"),
        (lambda text: text.replace('caller_id = "用户"', 'caller_id = ["用户", "编号"]'), "columns.caller_id", "expected str, got"),
        (lambda text: text.replace('caller_id = "用户"', 'caller_id = "用户"\nreply = "答复"'), "columns.replied_at", "columns.replied_at and columns.reply go together"),
        (lambda text: text + '[routing]\n"噪音" = "市公安"\n', "routing.噪音", "'市公安' is not an office_id"),
        (lambda text: text + '[filter]\nskip = { "用户" = "tester" }\n', "filter.skip.用户", "expected a non-empty list of cell values"),
        (lambda text: text + '[filter]\ndrop = { "用户" = ["tester"] }\n', "filter.drop", "unknown key"),
    ],
)
def test_mistake_in_a_new_option_names_the_file_and_the_field(tmp_path, change, field, problem):
    path = tmp_path / "mapping.toml"
    path.write_text(change(BOARD_MAPPING), encoding="utf-8")
    with pytest.raises(ConfigFileError) as raised:
        load_mapping(path)
    assert (raised.value.field, raised.value.problem.startswith(problem)) == (field, True)


def test_routing_needs_an_export_without_an_office_column(tmp_path):
    path = tmp_path / "mapping.toml"
    path.write_text(ROUTED_MAPPING.replace('category = "type"', 'category = "type"\noffice = "agency"'), encoding="utf-8")
    with pytest.raises(ConfigFileError) as raised:
        load_mapping(path)
    assert (raised.value.field, raised.value.problem) == ("routing", "routes by category only for exports without columns.office")
