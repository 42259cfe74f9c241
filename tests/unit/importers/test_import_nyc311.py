"""`NYC311` on the real NYC Open Data sample (tests/data/real/nyc311-100.csv)."""

from __future__ import annotations

import csv
from collections import Counter
from datetime import datetime

from importer_samples import NYC_SAMPLE, events_of

from hotline.contract.schemas import event_validator


def test_every_row_of_the_nyc_sample_converts_into_valid_events(nyc):
    # given the 100-row sample, when it is converted, then no row is rejected
    assert nyc.problems == []
    assert nyc.rows_converted == 100
    # 98 rows have status Closed; "Assigned" and "Pending" stay open
    assert Counter(event["type"] for event in nyc.events) == {
        "appeal.received": 100,
        "order.dispatched": 100,
        "order.resolved": 98,
        "order.closed": 98,
    }
    assert [event_validator().validate(event) for event in nyc.events] == [None] * 396


def test_closed_noise_complaint_becomes_four_events_in_daylight_time(nyc):
    # given row 2: NYPD, created 04/18/2019 09:55:45 PM, closed 03:45:24 AM, due 05:55:45 AM (EDT)
    events = events_of(nyc, "42254749")
    assert events == [
        {
            "event_id": "nyc311:42254749:appeal.received",
            "type": "appeal.received",
            "order_id": "42254749",
            "occurred_at": "2019-04-18T21:55:45-04:00",
            "schema": 1,
            "data": {
                "channel": "phone",
                "title": "Noise - Residential",
                "text": "Banging/Pounding",
                "free_text": False,
                "category": "noise_residential",
                "urgency": "normal",
                "location": {
                    "district": "BROOKLYN",
                    "street": "SHORE PARKWAY",
                    "address": "3855 SHORE PARKWAY",
                    "lat": 40.5863974,
                    "lon": -73.9325913,
                },
                "office_id": "nypd",
                "source": "nyc311",
                "due_at": "2019-04-19T05:55:45-04:00",
            },
        },
        {
            "event_id": "nyc311:42254749:order.dispatched",
            "type": "order.dispatched",
            "order_id": "42254749",
            "occurred_at": "2019-04-18T21:55:45-04:00",
            "schema": 1,
            "data": {"office_id": "nypd", "due_at": "2019-04-19T05:55:45-04:00"},
        },
        {
            "event_id": "nyc311:42254749:order.resolved",
            "type": "order.resolved",
            "order_id": "42254749",
            "occurred_at": "2019-04-19T03:45:24-04:00",
            "schema": 1,
            "data": {
                "office_id": "nypd",
                "summary": "The Police Department responded to the complaint and with the information available observed no evidence of the violation at that time.",
            },
        },
        {
            "event_id": "nyc311:42254749:order.closed",
            "type": "order.closed",
            "order_id": "42254749",
            "occurred_at": "2019-04-19T03:45:24-04:00",
            "schema": 1,
            "data": {"status": "Closed"},
        },
    ]


def test_winter_row_is_written_with_standard_time_offset(nyc):
    # given row 17: created 12/15/2010 02:38:36 PM, due 12/22/2010 06:30:59 PM, closed 12/23 04:18:57 PM
    received, dispatched, resolved, closed = events_of(nyc, "19349369")
    assert received["occurred_at"] == "2010-12-15T14:38:36-05:00"
    assert received["data"]["due_at"] == dispatched["data"]["due_at"] == "2010-12-22T18:30:59-05:00"
    assert resolved["occurred_at"] == closed["occurred_at"] == "2010-12-23T16:18:57-05:00"
    # "Unspecified" and empty columns leave only the borough
    assert received["data"]["location"] == {"district": "BRONX"}
    assert received["data"]["category"] == "dhs_advantage_tenant"


def test_times_of_one_order_take_their_own_offsets_across_dst_changes(nyc):
    # given row 90: created in September 2015 (EDT), due on 12 March 2017, the day clocks
    # went forward, at 09:28 (EDT), closed in January 2018 (EST)
    received, dispatched, resolved, closed = events_of(nyc, "31536250")
    assert received["occurred_at"] == "2015-09-15T09:30:42-04:00"
    assert dispatched["data"] == {"office_id": "dpr", "due_at": "2017-03-12T09:28:19-04:00"}
    assert closed["occurred_at"] == "2018-01-18T15:19:09-05:00"
    # given row 64: created on 30 October 2020 (EDT), closed after clocks went back on 1 November
    received, _, _, closed = events_of(nyc, "48024139")
    assert received["occurred_at"] == "2020-10-30T09:09:09-04:00"
    assert closed["occurred_at"] == "2020-11-02T17:50:06-05:00"


def test_assigned_row_without_closed_date_stays_open_with_its_due_time(nyc):
    # given row 42: status Assigned, no Closed Date, Due Date 08/20/2015 05:26:26 AM, channel MOBILE
    events = events_of(nyc, "31132444")
    assert [event["type"] for event in events] == ["appeal.received", "order.dispatched"]
    assert events[0]["data"]["channel"] == "app"
    assert events[0]["data"]["office_id"] == "dohmh"
    assert events[1]["data"] == {"office_id": "dohmh", "due_at": "2015-08-20T05:26:26-04:00"}


def test_pending_row_with_a_closed_date_is_not_closed(nyc):
    # given row 56: status Pending although Closed Date is filled ("an open service request
    # already exists"), when converted, then the order stays open
    events = events_of(nyc, "34170943")
    assert [event["type"] for event in events] == ["appeal.received", "order.dispatched"]
    assert events[0]["occurred_at"] == "2016-08-24T16:35:00-04:00"


def test_order_closed_at_its_creation_instant_keeps_its_life_cycle_order(nyc):
    # given row 33: created and closed at 03/13/2012 03:23:00 PM, where sorting by event id
    # alone would put order.closed before order.resolved
    events = events_of(nyc, "22873997")
    assert [(event["type"], event["occurred_at"]) for event in events] == [
        ("appeal.received", "2012-03-13T15:23:00-04:00"),
        ("order.dispatched", "2012-03-13T15:23:00-04:00"),
        ("order.resolved", "2012-03-13T15:23:00-04:00"),
        ("order.closed", "2012-03-13T15:23:00-04:00"),
    ]


def test_output_is_sorted_by_event_time_as_instants(nyc):
    instants = [datetime.fromisoformat(event["occurred_at"]) for event in nyc.events]
    assert instants == sorted(instants)
    assert nyc.events[0]["event_id"] == "nyc311:15751112:appeal.received"
    assert nyc.events[-1]["event_id"] == "nyc311:48444304:order.closed"


def test_channels_offices_and_due_times_follow_the_source_columns(nyc):
    with NYC_SAMPLE.open(encoding="utf-8-sig", newline="") as stream:
        rows = {row["Unique Key"]: row for row in csv.DictReader(stream)}
    received = {event["order_id"]: event["data"] for event in nyc.events if event["type"] == "appeal.received"}
    assert Counter(data["channel"] for data in received.values()) == {"phone": 52, "other": 21, "web": 16, "app": 11}
    assert {order_id: data["office_id"] for order_id, data in received.items()} == {
        order_id: row["Agency"].lower() for order_id, row in rows.items()
    }
    # the 42 rows with a Due Date carry it, the others have none
    assert sorted(order_id for order_id, data in received.items() if "due_at" in data) == sorted(
        order_id for order_id, row in rows.items() if row["Due Date"]
    )
