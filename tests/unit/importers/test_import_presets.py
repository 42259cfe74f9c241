"""Presets boston311 (both header spellings), sf311 and chicago311 on hand-made rows."""

from __future__ import annotations

from importer_samples import CHICAGO_HEADER, CHICAGO_ROWS, chicago_row, events_of

from hotline.contract.schemas import event_validator
from hotline.importers import BOSTON311, CHICAGO311, SF311, Label, convert_csv

# Boston's older export: upper-case names, OnTime_Status, and two resolution columns written twice.
BOSTON_OLD_HEADER = (
    "CASE_ENQUIRY_ID,OPEN_DT,TARGET_DT,CLOSED_DT,OnTime_Status,CASE_STATUS,CLOSURE_REASON,CASE_TITLE,SUBJECT,REASON,TYPE,QUEUE,"
    "Department,Location,neighborhood,LOCATION_STREET_NAME,LATITUDE,LONGITUDE,Source,resolution_hours,resolution_days,resolution_hours,resolution_days"
)
BOSTON_NEW_HEADER = (
    "case_enquiry_id,open_dt,target_dt,closed_dt,ontime,case_status,closure_reason,case_title,subject,reason,type,queue,"
    "department,location,neighborhood,location_street_name,latitude,longitude,source"
)
BOSTON_ROW = (
    "101004500001,2022-03-12 22:10:00,2022-03-14 22:10:00,2022-03-13 09:30:00,ONTIME,Closed,"
    '"Case Closed. Duplicate of Existing Case see 101004499999",Street Light Outage,Street Lights,Street Lights,Street Light Outages,PWDx_Street Light Outages,'
    "PWDx,10 Example St Boston MA 02110,Downtown,10 Example St,42.3551,-71.0565,Citizens Connect App"
)


def test_boston_old_and_new_headers_give_the_same_events():
    # given one case written under the older upper-case header (with its repeated columns) and the current one
    old = convert_csv([BOSTON_OLD_HEADER, BOSTON_ROW + ",11.3,0.5,11.3,0.5"], BOSTON311)
    new = convert_csv([BOSTON_NEW_HEADER, BOSTON_ROW], BOSTON311)
    # then both convert, to the same events
    assert old.problems == new.problems == []
    assert old.events == new.events
    received, dispatched, resolved, closed = old.events
    assert received["occurred_at"] == "2022-03-12T22:10:00-05:00"
    assert dispatched["data"] == {"office_id": "pwdx", "due_at": "2022-03-14T22:10:00-04:00"}
    assert received["data"]["location"] == {
        "district": "Downtown",
        "street": "10 Example St",
        "address": "10 Example St Boston MA 02110",
        "lat": 42.3551,
        "lon": -71.0565,
    }
    assert closed["data"] == {"status": "Closed"}
    assert old.labels == new.labels == [Label("101004500001", "101004499999", "duplicate")]


def test_boston_repeated_case_is_labelled_under_its_own_order_id():
    conversion = convert_csv([BOSTON_NEW_HEADER, BOSTON_ROW, BOSTON_ROW], BOSTON311)
    assert [label.order_id for label in conversion.labels] == ["101004500001", "101004500001~2"]


SF_HEADER = (
    "unique_key,created_date,closed_date,resolution_action_updated_date,status,status_notes,agency_name,category,complaint_type,"
    "descriptor,incident_address,supervisor_district,neighborhood,location,source,media_url,latitude,longitude,police_district"
)


def test_sf311_reads_utc_labelled_times_as_the_citys_wall_clock_and_keeps_its_districts():
    # given a request created on a summer morning and one with the 0.0 placeholder coordinates
    conversion = convert_csv(
        [
            SF_HEADER,
            '7000001,2018-07-02 09:15:00 UTC,2018-07-03 10:00:00 UTC,2018-07-03 10:00:00 UTC,Closed,"Request is a duplicate and has been '
            'previously reported as 6999999",DPW Ops Queue,Street and Sidewalk Cleaning,Bulky Items,Furniture,"1 EXAMPLE ST, SAN FRANCISCO, CA, 94103",'
            "6,South of Market,,Mobile/Open311,,37.7786,-122.4101,SOUTHERN",
            "7000002,2018-12-02 23:40:00 UTC,,,Open,,Recology_Litter,Litter Receptacles,Overflowing,,,9,Mission,,Phone,,0.0,0.0,MISSION",
        ],
        SF311,
    )
    assert conversion.problems == []
    first, second = events_of(conversion, "7000001"), events_of(conversion, "7000002")
    assert [event["occurred_at"] for event in first] == ["2018-07-02T09:15:00-07:00", "2018-07-02T09:15:00-07:00", "2018-07-03T10:00:00-07:00", "2018-07-03T10:00:00-07:00"]
    assert first[0]["data"] == {
        "channel": "app",
        "title": "Bulky Items",
        "text": "Furniture",
        "free_text": False,
        "category": "street_and_sidewalk_cleaning",
        "urgency": "normal",
        "location": {"district": "6", "community": "South of Market", "address": "1 EXAMPLE ST, SAN FRANCISCO, CA, 94103", "lat": 37.7786, "lon": -122.4101},
        "office_id": "dpw_ops_queue",
        "source": "sf311",
    }
    assert second[0]["occurred_at"] == "2018-12-02T23:40:00-08:00"
    assert second[0]["data"]["location"] == {"district": "9", "community": "Mission"}
    assert second[0]["data"]["channel"] == "phone"
    # and the open request has no label yet; the closed one repeats 6999999
    assert conversion.labels == [Label("7000001", "6999999", "duplicate")]
    assert [event_validator().validate(event) for event in conversion.events] == [None] * 6


def test_chicago311_reads_twelve_hour_local_times_and_the_community_area():
    conversion = convert_csv([CHICAGO_HEADER, *CHICAGO_ROWS], CHICAGO311)
    assert conversion.problems == []
    received, dispatched, resolved, closed = events_of(conversion, "SR23-00000001")
    assert received["occurred_at"] == "2023-01-31T23:59:00-06:00"
    assert received["data"] == {
        "channel": "other",
        "title": "Pothole in Street Complaint",
        "text": "Pothole in Street Complaint",
        "free_text": False,
        "category": "pothole_in_street_complaint",
        "urgency": "normal",
        "location": {"district": "32"},
        "office_id": "cdot-department_of_transportation",
        "source": "chicago311",
    }
    assert closed["occurred_at"] == "2023-02-02T08:15:00-06:00"
    assert closed["data"] == {"status": "Completed"}
    # a canceled request is closed too
    assert [event["type"] for event in events_of(conversion, "SR23-00000002")][-1] == "order.closed"
    assert [event["type"] for event in events_of(conversion, "SR23-00000005")] == ["appeal.received", "order.dispatched"]
    assert [event_validator().validate(event) for event in conversion.events] == [None] * len(conversion.events)


def test_chicago311_keeps_address_street_and_coordinates():
    row = chicago_row(
        SR_NUMBER="SR23-00000009",
        SR_TYPE="Graffiti Removal Request",
        OWNER_DEPARTMENT="Streets and Sanitation",
        STATUS="Open",
        CREATED_DATE="07/04/2023 10:05:00 AM",
        STREET_ADDRESS="100 W EXAMPLE AVE",
        STREET_NAME="EXAMPLE",
        COMMUNITY_AREA="8",
        LATITUDE="41.8921",
        LONGITUDE="-87.6312",
    )
    conversion = convert_csv([CHICAGO_HEADER, row], CHICAGO311)
    received = conversion.events[0]
    assert received["occurred_at"] == "2023-07-04T10:05:00-05:00"
    assert received["data"]["office_id"] == "streets_and_sanitation"
    assert received["data"]["location"] == {"district": "8", "street": "EXAMPLE", "address": "100 W EXAMPLE AVE", "lat": 41.8921, "lon": -87.6312}
