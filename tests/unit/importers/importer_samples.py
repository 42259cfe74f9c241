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
