"""Built-in mappings of the public 311 exports the project imports out of the box.

Produces `NYC311` (NYC Open Data, "311 Service Requests"), `BOSTON311` (Analyze
Boston, "311 Service Requests"), `SF311` (DataSF "311 Cases" as published with UTC
labels) and `CHICAGO311` (City of Chicago, "311 Service Requests"), all `ColumnMapping`s
for the generic converter. examples/mappings/nyc311.toml writes the NYC mapping as a
file, and a test holds the two to the same output. Boston, San Francisco and Chicago
carry a label rule (hotline.importers.labels) for `--labels-out`.

Choices that are not obvious from the column names:
- title / text / category: NYC has Complaint Type > Descriptor; Boston has reason (20
  groups) > type > case_title. Boston's `reason` is the category (coarse enough for
  hotspots), its `type` the text and `case_title` the title.
- office: the agency (NYC "NYPD" -> "nypd") or department (Boston "PWDx" -> "pwdx").
- channel: NYC PHONE / ONLINE / MOBILE / UNKNOWN; Boston Constituent Call, Self
  Service (the web form), Citizens Connect App and City Worker App (city staff
  reporting from the field, still an app).
- Boston writes City Hall's coordinates (42.3594, -71.0587) on cases it could not
  geocode, including blank locations; they are dropped rather than piled into one
  false hotspot.
- NYC writes "Unspecified" (borough) and "N/A" (descriptor) for unknown values.
- Boston's older exports spell the same columns in upper case (CASE_ENQUIRY_ID,
  OnTime_Status, Department, LATITUDE); columns are matched in any letter case, so one
  preset reads both.
- San Francisco: title complaint_type, text descriptor, category category, office the
  agency queue ("DPW Ops Queue" -> "dpw_ops_queue"), district the supervisor district
  and community the neighborhood. Its times end in " UTC" but are the city's wall clock:
  requests peak at 09:00-11:00 and are fewest at 03:00 read as written, which in UTC
  would be the middle of the Pacific night. So the preset reads them as
  America/Los_Angeles. Ungeocoded requests have 0.0, 0.0, dropped like Boston's.
- Chicago: one SR_TYPE is title, text and category (the export has no free text);
  office OWNER_DEPARTMENT, district the community area (1-77); Completed and Canceled
  requests are closed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hotline.importers.labels import boston311_label, chicago311_label, sf311_label
from hotline.importers.mapping import ColumnMapping, Columns, Labeller, LocationColumns

_NEW_YORK = ZoneInfo("America/New_York")
# Boston has no zone of its own in the IANA database: it keeps New York's clock.
_BOSTON = _NEW_YORK
_SAN_FRANCISCO = ZoneInfo("America/Los_Angeles")
_CHICAGO = ZoneInfo("America/Chicago")

NYC311 = ColumnMapping(
    source="nyc311",
    free_text=False,
    time_zone=_NEW_YORK,
    date_formats=("%m/%d/%Y %I:%M:%S %p",),
    columns=Columns(
        order_id="Unique Key",
        created_at="Created Date",
        closed_at="Closed Date",
        due_at="Due Date",
        title="Complaint Type",
        text="Descriptor",
        category="Complaint Type",
        office="Agency",
        status="Status",
        summary="Resolution Description",
    ),
    location=LocationColumns(district="Borough", street="Street Name", address="Incident Address", lat="Latitude", lon="Longitude"),
    closed_statuses=frozenset({"closed"}),
    blank_values=frozenset({"Unspecified", "N/A"}),
    channel_column="Open Data Channel Type",
    channel_values={"PHONE": "phone", "ONLINE": "web", "MOBILE": "app", "UNKNOWN": "other"},
)

BOSTON311 = ColumnMapping(
    source="boston311",
    free_text=False,
    time_zone=_BOSTON,
    date_formats=("%Y-%m-%d %H:%M:%S",),
    columns=Columns(
        order_id="case_enquiry_id",
        created_at="open_dt",
        closed_at="closed_dt",
        due_at="target_dt",
        title="case_title",
        text="type",
        category="reason",
        office="department",
        status="case_status",
        summary="closure_reason",
    ),
    location=LocationColumns(
        district="neighborhood",
        street="location_street_name",
        address="location",
        lat="latitude",
        lon="longitude",
        placeholder_coordinates=((42.3594, -71.0587),),
    ),
    closed_statuses=frozenset({"closed"}),
    channel_column="source",
    channel_values={"Constituent Call": "phone", "Self Service": "web", "Citizens Connect App": "app", "City Worker App": "app"},
    labeller=Labeller(columns=("case_status", "closure_reason"), rule=boston311_label),
)

SF311 = ColumnMapping(
    source="sf311",
    free_text=False,
    time_zone=_SAN_FRANCISCO,
    date_formats=("%Y-%m-%d %H:%M:%S UTC",),
    columns=Columns(
        order_id="unique_key",
        created_at="created_date",
        closed_at="closed_date",
        title="complaint_type",
        text="descriptor",
        category="category",
        office="agency_name",
        status="status",
        summary="status_notes",
    ),
    location=LocationColumns(
        district="supervisor_district",
        community="neighborhood",
        address="incident_address",
        lat="latitude",
        lon="longitude",
        placeholder_coordinates=((0.0, 0.0),),
    ),
    closed_statuses=frozenset({"closed"}),
    channel_column="source",
    channel_values={"Phone": "phone", "Web": "web", "Mobile/Open311": "app", "Email": "email", "Twitter": "other", "Integrated Agency": "other"},
    labeller=Labeller(columns=("status", "status_notes"), rule=sf311_label),
)

CHICAGO311 = ColumnMapping(
    source="chicago311",
    free_text=False,
    time_zone=_CHICAGO,
    date_formats=("%m/%d/%Y %I:%M:%S %p",),
    columns=Columns(
        order_id="SR_NUMBER",
        created_at="CREATED_DATE",
        closed_at="CLOSED_DATE",
        title="SR_TYPE",
        text="SR_TYPE",
        category="SR_TYPE",
        office="OWNER_DEPARTMENT",
        status="STATUS",
    ),
    location=LocationColumns(
        district="COMMUNITY_AREA",
        street="STREET_NAME",
        address="STREET_ADDRESS",
        lat="LATITUDE",
        lon="LONGITUDE",
    ),
    closed_statuses=frozenset({"completed", "canceled", "cancelled"}),
    labeller=Labeller(columns=("STATUS", "DUPLICATE", "PARENT_SR_NUMBER"), rule=chicago311_label),
)

BUILT_IN_MAPPINGS = {mapping.source: mapping for mapping in (NYC311, BOSTON311, SF311, CHICAGO311)}
