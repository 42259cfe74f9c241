"""Mapping TOML files: the NYC example reproduces the built-in importer; mistakes name file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from importer_samples import NYC_SAMPLE, convert_file

from hotline.contract import codec
from hotline.contract.schemas import event_validator
from hotline.core.config_tables import ConfigFileError
from hotline.importers import NYC311, convert_csv, load_mapping

EXAMPLE_NYC_MAPPING = Path(__file__).resolve().parents[3] / "examples" / "mappings" / "nyc311.toml"

# A 12345-style export: Chinese headers, Beijing time, callers recorded, offices named in Chinese.
HOTLINE_12345_MAPPING = """
source = "city12345"
time_zone = "Asia/Shanghai"
date_format = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"]
closed_statuses = ["已办结"]

[columns]
order_id = "工单编号"
created_at = "受理时间"
closed_at = "办结时间"
due_at = "办理时限"
caller_id = "来电号码"
title = "标题"
text = "诉求内容"
category = "诉求分类"
office = "承办单位"
status = "状态"
summary = "办理结果"

[location]
district = "区"
street = "街道"

[channel]
column = "渠道"
default = "other"
values = { "电话" = "phone", "微信" = "wechat" }

[office.values]
"市城管局" = "city.urban_management"
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mapping.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_mapping_file_describes_the_built_in_nyc_importer():
    assert load_mapping(EXAMPLE_NYC_MAPPING) == NYC311


def test_csv_import_with_the_example_mapping_is_byte_identical_to_the_nyc_importer(nyc):
    # given the NYC sample, when converted through the example mapping file
    through_file = convert_file(NYC_SAMPLE, load_mapping(EXAMPLE_NYC_MAPPING))
    # then every byte of the JSON lines equals the built-in importer's
    assert b"".join(codec.encode(event) + b"\n" for event in through_file.events) == b"".join(codec.encode(event) + b"\n" for event in nyc.events)
    assert through_file.problems == nyc.problems == []


def test_mapping_for_a_12345_export_converts_chinese_rows_with_callers_and_beijing_time(tmp_path):
    mapping = load_mapping(_write(tmp_path, HOTLINE_12345_MAPPING))
    conversion = convert_csv(
        [
            "工单编号,受理时间,办结时间,办理时限,来电号码,标题,诉求内容,诉求分类,承办单位,状态,办理结果,区,街道,渠道",
            "GD20240501001,2024-05-01 09:12:00,2024/05/03 17:40,2024-05-06 09:12:00,13800138000,噪音扰民,夜间施工噪音,噪音 扰民,市城管局,已办结,已责令停工,朝阳区,望京街道,电话",
        ],
        mapping,
    )
    assert conversion.problems == []
    received, dispatched, resolved, closed = conversion.events
    assert received["event_id"] == "city12345:GD20240501001:appeal.received"
    assert received["occurred_at"] == "2024-05-01T09:12:00+08:00"
    assert received["data"] == {
        "channel": "phone",
        "caller_id": "13800138000",
        "title": "噪音扰民",
        "text": "夜间施工噪音",
        "category": "噪音_扰民",
        "urgency": "normal",
        "location": {"district": "朝阳区", "street": "望京街道"},
        "office_id": "city.urban_management",
        "source": "city12345",
        "due_at": "2024-05-06T09:12:00+08:00",
    }
    assert dispatched["data"] == {"office_id": "city.urban_management", "due_at": "2024-05-06T09:12:00+08:00"}
    assert resolved["occurred_at"] == "2024-05-03T17:40:00+08:00"
    assert resolved["data"] == {"office_id": "city.urban_management", "summary": "已责令停工"}
    assert closed["data"] == {"status": "已办结"}
    assert [event_validator().validate(event) for event in conversion.events] == [None] * 4


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (lambda text: text.replace('order_id = "工单编号"\n', ""), "columns.order_id", "is missing"),
        (lambda text: text.replace("[columns]", "[colums]"), "colums", "unknown key"),
        (lambda text: text.replace('title = "标题"', 'titel = "标题"'), "columns.titel", "unknown key"),
        (lambda text: text.replace("Asia/Shanghai", "Asia/Beijing"), "time_zone", "unknown time zone 'Asia/Beijing'"),
        (lambda text: text.replace('"%Y/%m/%d %H:%M"', '"%H:%M"'), "date_format[1]", "'%H:%M' must contain a full date"),
        (lambda text: text.replace('"微信" = "wechat"', '"传真" = "fax"'), "channel.values.传真", "'fax' is not one of"),
        (lambda text: text.replace('default = "other"', 'default = "letter"'), "channel.default", "'letter' is not one of"),
        (lambda text: text.replace('status = "状态"\n', ""), "closed_statuses", "needs columns.status"),
        (lambda text: text.replace('closed_statuses = ["已办结"]', "closed_statuses = []"), "closed_statuses", "must list the status values"),
        (lambda text: text.replace('closed_at = "办结时间"\n', ""), "columns.closed_at", "is needed with columns.status"),
        (lambda text: text.replace('street = "街道"', 'lat = "纬度"'), "location.lat", "location.lat and location.lon go together"),
        (lambda text: text.replace('"city.urban_management"', '"城管局"'), "office.values.市城管局", "'城管局' is not an office_id"),
        (lambda text: text.replace('source = "city12345"', 'source = "City 12345"'), "source", "'City 12345' must be 1-32 lowercase"),
        (lambda text: 'encoding = "gbk2"\n' + text, "encoding", "unknown text encoding 'gbk2'"),
        (lambda text: text.replace('title = "标题"', "title = 3"), "columns.title", "expected str, got 3"),
        (lambda text: text + "\n[[broken", "(syntax)", ""),
    ],
)
def test_mapping_mistake_names_the_file_and_the_field(tmp_path, change, field, problem):
    path = _write(tmp_path, change(HOTLINE_12345_MAPPING))
    with pytest.raises(ConfigFileError) as raised:
        load_mapping(path)
    assert (raised.value.path, raised.value.field) == (str(path), field)
    assert raised.value.problem.startswith(problem)
    assert str(raised.value).startswith(f"{path}: {field}: ")


def test_missing_mapping_file_is_named(tmp_path):
    with pytest.raises(ConfigFileError) as raised:
        load_mapping(tmp_path / "absent.toml")
    assert str(raised.value) == f"{tmp_path / 'absent.toml'}: (file): does not exist"


EXAMPLE_MAPPINGS = EXAMPLE_NYC_MAPPING.parent
BOARD_MESSAGES_HEADER = "留言编号,留言用户,留言主题,留言时间,留言详情,反对数,点赞数"
BOARD_REPLIES_HEADER = "留言编号,留言用户,留言主题,留言时间,留言详情,答复意见,答复时间"


def test_appeal_board_messages_mapping_reads_both_time_forms_with_constant_office_and_category():
    mapping = load_mapping(EXAMPLE_MAPPINGS / "teddy2020-messages.toml")
    # given one message with a written time and one whose time cell is an Excel serial
    conversion = convert_csv(
        [
            BOARD_MESSAGES_HEADER,
            "500001,U0001,公园健身器材损坏,2019/4/7 8:05:09,东门附近的单杠松动了，请尽快修理,0,2",
            "500002,U0002,夜市油烟太大,43831.5,晚上油烟飘进家里，窗户都不敢开,1,0",
        ],
        mapping,
    )
    assert conversion.problems == []
    received = [event for event in conversion.events if event["type"] == "appeal.received"]
    assert [(event["order_id"], event["occurred_at"]) for event in received] == [
        ("500001", "2019-04-07T08:05:09+08:00"),
        ("500002", "2020-01-01T12:00:00+08:00"),
    ]
    assert received[0]["data"] == {
        "channel": "web",
        "caller_id": "U0001",
        "title": "公园健身器材损坏",
        "text": "东门附近的单杠松动了，请尽快修理",
        "category": "message_board",
        "urgency": "normal",
        "location": {},
        "office_id": "a_city_hotline",
        "source": "teddy2020",
    }
    assert [event_validator().validate(event) for event in conversion.events] == [None] * 4


def test_appeal_board_replies_mapping_writes_the_reply_as_order_replied():
    mapping = load_mapping(EXAMPLE_MAPPINGS / "teddy2020-replies.toml")
    # given a reply with a full time and one whose reply time has no time of day
    conversion = convert_csv(
        [
            BOARD_REPLIES_HEADER,
            "600001,U0003,小区路灯不亮,2019/5/6 21:00:00,楼下路灯坏了一周,已联系物业更换灯泡。,2019/5/9 10:30:00",
            "600002,U0004,公交站台破损,2019/5/6 9:00:00,站台顶棚漏雨,已转交交通部门处理。,2019/5/9",
        ],
        mapping,
    )
    assert conversion.problems == []
    replied = [(event["order_id"], event["occurred_at"], event["data"]) for event in conversion.events if event["type"] == "order.replied"]
    assert replied == [
        # in event-time order: the date-only reply counts from midnight
        ("600002", "2019-05-09T00:00:00+08:00", {"office_id": "a_city_hotline", "kind": "first_contact", "text": "已转交交通部门处理。"}),
        ("600001", "2019-05-09T10:30:00+08:00", {"office_id": "a_city_hotline", "kind": "first_contact", "text": "已联系物业更换灯泡。"}),
    ]
    assert [event_validator().validate(event) for event in conversion.events] == [None] * 6
