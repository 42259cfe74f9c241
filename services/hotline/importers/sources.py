"""Built-in mappings of the two public 311 exports the project imports out of the box.

Produces `NYC311` (NYC Open Data, "311 Service Requests") and `BOSTON311` (Analyze
Boston, "311 Service Requests"), both `ColumnMapping`s for the generic converter.
examples/mappings/nyc311.toml writes the NYC mapping as a file, and a test holds the two
to the same output.

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
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from hotline.importers.mapping import ColumnMapping, Columns, LocationColumns

_NEW_YORK = ZoneInfo("America/New_York")
# Boston has no zone of its own in the IANA database: it keeps New York's clock.
_BOSTON = _NEW_YORK

NYC311 = ColumnMapping(
    source="nyc311",
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
)

BUILT_IN_MAPPINGS = {mapping.source: mapping for mapping in (NYC311, BOSTON311)}
