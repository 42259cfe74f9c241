"""`BOSTON311` on the real Analyze Boston samples (tests/data/real/boston311-*.csv)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime
from zoneinfo import ZoneInfo

from importer_samples import BOSTON_DUPES_SAMPLE, BOSTON_SAMPLE, events_of

from hotline.contract.schemas import event_validator

NEW_YORK = ZoneInfo("America/New_York")


def _rows(path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def test_every_row_of_the_boston_sample_converts_into_valid_events(boston):
    assert boston.problems == []
    assert boston.rows_converted == 100
    assert Counter(event["type"] for event in boston.events) == {
        "appeal.received": 100,
        "order.dispatched": 100,
        "order.resolved": 85,
        "order.closed": 85,
    }
    assert [event_validator().validate(event) for event in boston.events] == [None] * 370


def test_case_opened_in_winter_keeps_its_target_after_the_spring_clock_change(boston):
    # given case 101004113298: opened 2022-01-01 00:16:00 (EST), target 2022-04-01 00:16:06
    # (EDT, after 13 March), closed 2022-01-10 08:42:23, ONTIME
    received, dispatched, resolved, closed = events_of(boston, "101004113298")
    assert received == {
        "event_id": "boston311:101004113298:appeal.received",
        "type": "appeal.received",
        "order_id": "101004113298",
        "occurred_at": "2022-01-01T00:16:00-05:00",
        "schema": 1,
        "data": {
            "channel": "phone",
            "title": "SCHEDULED Unsatisfactory Utilities - Electrical Plumbing",
            "text": "Unsatisfactory Utilities - Electrical Plumbing",
            "free_text": False,
            "category": "housing",
            "urgency": "normal",
            "location": {
                "district": "Beacon Hill",
                "street": "47 W Cedar St",
                "address": "47 W Cedar St Boston MA 02114",
                "lat": 42.3594,
                "lon": -71.07,
            },
            "office_id": "isd",
            "source": "boston311",
            "due_at": "2022-04-01T00:16:06-04:00",
        },
    }
    assert dispatched["data"] == {"office_id": "isd", "due_at": "2022-04-01T00:16:06-04:00"}
    assert resolved["occurred_at"] == closed["occurred_at"] == "2022-01-10T08:42:23-05:00"
    assert resolved["data"] == {"office_id": "isd", "summary": "Case Closed. Closed date : Mon Jan 10 08:42:23 EST 2022 Resolved No Cause 1/10/22"}
    assert closed["data"] == {"status": "Closed"}


def test_overdue_open_case_without_location_keeps_its_target_and_drops_city_hall_coordinates(boston):
    # given case 101004143000: OVERDUE, Open, blank location, placeholder coordinates 42.3594,-71.0587
    events = events_of(boston, "101004143000")
    assert [event["type"] for event in events] == ["appeal.received", "order.dispatched"]
    assert events[0]["data"]["location"] == {}
    assert events[0]["data"]["category"] == "employee_general_comments"
    assert events[0]["data"]["office_id"] == "btdt"
    assert events[1]["data"] == {"office_id": "btdt", "due_at": "2022-02-04T13:47:30-05:00"}


def test_ontime_and_overdue_cases_keep_target_dt_as_due_at(boston):
    rows = _rows(BOSTON_SAMPLE)
    received = {event["order_id"]: event["data"] for event in boston.events if event["type"] == "appeal.received"}
    dispatched = {event["order_id"]: event["data"] for event in boston.events if event["type"] == "order.dispatched"}
    kept = Counter()
    for row in rows:
        order_id = row["case_enquiry_id"]
        if not row["target_dt"]:
            assert "due_at" not in received[order_id] and "due_at" not in dispatched[order_id]
            continue
        due_at = datetime.fromisoformat(received[order_id]["due_at"])
        # then the wall-clock reading is target_dt and the offset is Boston's on that day
        assert due_at.strftime("%Y-%m-%d %H:%M:%S") == row["target_dt"]
        assert due_at.utcoffset() == datetime.strptime(row["target_dt"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=NEW_YORK).utcoffset()
        assert dispatched[order_id]["due_at"] == received[order_id]["due_at"]
        kept[row["ontime"]] += 1
    assert kept == {"ONTIME": 72, "OVERDUE": 17}


def test_boston_sources_map_onto_contract_channels(boston):
    channels = Counter(event["data"]["channel"] for event in boston.events if event["type"] == "appeal.received")
    # Citizens Connect App 56 + City Worker App 11, Constituent Call 30, Self Service 3
    assert channels == {"app": 67, "phone": 30, "web": 3}


def test_placeholder_coordinates_are_dropped_and_real_ones_kept(boston):
    located = [event["data"]["location"] for event in boston.events if event["type"] == "appeal.received"]
    # 19 rows carry City Hall's 42.3594,-71.0587; the other 81 keep their coordinates
    assert sum("lat" in location for location in located) == 81
    assert not any((location.get("lat"), location.get("lon")) == (42.3594, -71.0587) for location in located)


def test_rows_repeated_in_the_same_file_become_twenty_new_orders(boston_dupes):
    # given a file in which 20 case ids appear twice, when converted
    assert boston_dupes.problems == []
    assert boston_dupes.rows_converted == 100
    received = [event for event in boston_dupes.events if event["type"] == "appeal.received"]
    repeats = [event for event in received if "~" in event["order_id"]]
    # then each second occurrence is its own order "<id>~2" with its own event ids
    assert len(repeats) == 20
    assert all(event["order_id"].endswith("~2") for event in repeats)
    assert len({event["order_id"] for event in received}) == 100
    assert len({event["event_id"] for event in boston_dupes.events}) == len(boston_dupes.events)
    # and its appeal says exactly what the first occurrence said, at the same time
    first = {event["order_id"]: event for event in received if "~" not in event["order_id"]}
    for repeat in repeats:
        original = first[repeat["order_id"].removesuffix("~2")]
        assert (repeat["occurred_at"], repeat["data"]) == (original["occurred_at"], original["data"])
    assert sorted(event["order_id"] for event in repeats)[:3] == ["101004113386~2", "101004113512~2", "101004113526~2"]


def test_repeated_rows_keep_the_ids_of_the_file_they_repeat(boston_dupes):
    ids = Counter(row["case_enquiry_id"] for row in _rows(BOSTON_DUPES_SAMPLE))
    repeated = sorted(case_id for case_id, count in ids.items() if count == 2)
    assert sorted(event["order_id"].removesuffix("~2") for event in boston_dupes.events if event["type"] == "appeal.received" and "~" in event["order_id"]) == repeated
