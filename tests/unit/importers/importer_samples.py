"""Paths of the real samples (tests/data/real) and helpers shared by the importer tests."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from hotline.importers import ColumnMapping, Columns, Conversion, LocationColumns, convert_csv

REAL_SAMPLES = Path(__file__).resolve().parents[2] / "data" / "real"
NYC_SAMPLE = REAL_SAMPLES / "nyc311-100.csv"
BOSTON_SAMPLE = REAL_SAMPLES / "boston311-100.csv"
BOSTON_DUPES_SAMPLE = REAL_SAMPLES / "boston311-100-20dupes-random.csv"

# A small export for hand-written rows: header "id,created,closed,due,status,office,type,details,lat,lon".
TINY_HEADER = "id,created,closed,due,status,office,type,details,lat,lon"
TINY = ColumnMapping(
    source="csv",
    time_zone=ZoneInfo("America/New_York"),
    date_formats=("%Y-%m-%d %H:%M",),
    columns=Columns(
        order_id="id",
        created_at="created",
        closed_at="closed",
        due_at="due",
        status="status",
        office="office",
        title="type",
        text="details",
        category="type",
    ),
    location=LocationColumns(lat="lat", lon="lon"),
    closed_statuses=frozenset({"closed"}),
)


def convert_file(path: Path, mapping: ColumnMapping) -> Conversion:
    with path.open(encoding=mapping.encoding, newline="") as stream:
        return convert_csv(stream, mapping)


def convert_tiny(*rows: str) -> Conversion:
    return convert_csv([TINY_HEADER, *rows], TINY)


def events_of(conversion: Conversion, order_id: str) -> list[dict]:
    return [event for event in conversion.events if event["order_id"] == order_id]


# A hand-made City of Chicago "311 Service Requests" export (the real column set, invented rows).
CHICAGO_COLUMNS = (
    "SR_NUMBER,SR_TYPE,SR_SHORT_CODE,OWNER_DEPARTMENT,STATUS,CREATED_DATE,LAST_MODIFIED_DATE,CLOSED_DATE,STREET_ADDRESS,CITY,STATE,"
    "ZIP_CODE,STREET_NUMBER,STREET_DIRECTION,STREET_NAME,STREET_TYPE,DUPLICATE,LEGACY_RECORD,LEGACY_SR_NUMBER,PARENT_SR_NUMBER,"
    "COMMUNITY_AREA,WARD,ELECTRICAL_DISTRICT,ELECTRICITY_GRID,POLICE_SECTOR,POLICE_DISTRICT,POLICE_BEAT,PRECINCT,"
    "SANITATION_DIVISION_DAYS,CREATED_HOUR,CREATED_DAY_OF_WEEK,CREATED_MONTH,X_COORDINATE,Y_COORDINATE,LATITUDE,LONGITUDE,LOCATION"
).split(",")
CHICAGO_HEADER = ",".join(CHICAGO_COLUMNS)


def chicago_row(**cells: str) -> str:
    """A row of the Chicago export with the given cells filled and the rest empty."""
    unknown = set(cells) - set(CHICAGO_COLUMNS)
    assert not unknown, unknown
    return ",".join(f'"{cells[column]}"' if column in cells else "" for column in CHICAGO_COLUMNS)


_POTHOLE = {"SR_TYPE": "Pothole in Street Complaint", "OWNER_DEPARTMENT": "CDOT - Department of Transportation", "COMMUNITY_AREA": "32"}
CHICAGO_ROWS = (
    chicago_row(SR_NUMBER="SR23-00000001", STATUS="Completed", CREATED_DATE="01/31/2023 11:59:00 PM", CLOSED_DATE="02/02/2023 08:15:00 AM", DUPLICATE="false", **_POTHOLE),
    chicago_row(
        SR_NUMBER="SR23-00000002",
        STATUS="Canceled",
        CREATED_DATE="02/01/2023 07:30:00 AM",
        CLOSED_DATE="02/01/2023 09:00:00 AM",
        DUPLICATE="true",
        PARENT_SR_NUMBER="SR23-00000001",
        **_POTHOLE,
    ),
    chicago_row(
        SR_NUMBER="SR23-00000003",
        STATUS="Canceled",
        CREATED_DATE="02/01/2023 10:00:00 AM",
        CLOSED_DATE="02/01/2023 10:05:00 AM",
        DUPLICATE="true",
        PARENT_SR_NUMBER="SR22-09999999",
        **_POTHOLE,
    ),
    chicago_row(SR_NUMBER="SR23-00000004", STATUS="Open", CREATED_DATE="02/03/2023 12:00:00 PM", DUPLICATE="true", **_POTHOLE),
    chicago_row(SR_NUMBER="SR23-00000005", STATUS="Open", CREATED_DATE="02/03/2023 01:00:00 PM", DUPLICATE="false", **_POTHOLE),
)
