"""Rows of a CSV export -> hotline.events.v1 events, and a reason for every row that cannot be.

Consumes CSV text (or rows already split into {header: cell}) and a `ColumnMapping`;
produces `Conversion(events, problems)`: JSON-ready event dicts valid against
schemas/hotline.events.v1.schema.json, and one `ImportProblem` (row number, reason) per
rejected row. No row is dropped without a problem saying why.

Each row is one order:
- `appeal.received` and `order.dispatched` (to the row's office) at the created time,
  both carrying the export's own due time as `due_at` when it has one;
- for a closed row, `order.resolved` (with the resolution text as `summary`) and
  `order.closed` (with the source status) at the closed time. A row is closed when its
  status is one of the mapping's closed statuses, or, without a status column, when its
  closed time is filled. A closed time on a row whose status is not closed (NYC's
  "Pending") is not a closure and is not used.

Identities: event ids are "<source>:<order id>:<event type>"
("nyc311:42254749:appeal.received"), so re-importing a file yields the same ids. An id
already seen earlier in the same file is a resubmission of the same request, which is a
new appeal: its order id gets "~2", "~3", ... ("101004113298~2") so that it does not
merge into the first order and the dedupe stage can link the two.

Order of output: by event time (as an instant), then by event id, except that the
events of one order at one instant keep their life-cycle order (received, dispatched,
resolved, closed), which sorting by id alone would break.

Rows are rejected for: a missing id or created time, an unreadable time, a closed
status without a closed time, a closed or due time before the created time, a missing
office or category, an office with no usable office_id, unreadable or out-of-range
coordinates, a wrong number of fields, or ids too long for the contract. Text longer
than the contract allows is cut and ends with "…".
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

from hotline.importers.localtime import format_rfc3339, parse_local
from hotline.importers.mapping import ColumnMapping
from hotline.importers.normalise import OFFICE_ID_PATTERN, category_slug, clean_text, clip, office_slug

LIFECYCLE = ("appeal.received", "order.dispatched", "order.resolved", "order.closed")
_STEP = {event_type: step for step, event_type in enumerate(LIFECYCLE)}
_LONGEST_TYPE = max(LIFECYCLE, key=len)
REPEAT_SEPARATOR = "~"

# maxLength of each field in the contract
_MAX_ID_CHARACTERS = 128
_MAX_CHARACTERS = {
    "title": 200,
    "text": 8000,
    "category": 64,
    "summary": 2000,
    "status": 64,
    "district": 64,
    "street": 64,
    "community": 64,
    "address": 256,
}
_PLACE_FIELDS = ("district", "street", "community", "address")


@dataclass(frozen=True)
class ImportProblem:
    """A row that produced no events; `row_number` counts the header as row 1."""

    row_number: int
    reason: str

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class Conversion(NamedTuple):
    """Events in output order (see the module docstring) and problems in file order."""

    events: list[dict[str, Any]]
    problems: list[ImportProblem]

    @property
    def rows_converted(self) -> int:
        return sum(1 for event in self.events if event["type"] == "appeal.received")


class CsvFileError(ValueError):
    """The file as a whole cannot be read with the mapping: no header, columns missing,
    or CSV syntax the reader cannot get past (then nothing of the file is converted)."""


class _RowRejected(Exception):
    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def convert_csv(lines: Iterable[str], mapping: ColumnMapping) -> Conversion:
    """Convert CSV text (an open text file, or lines); CsvFileError if the file cannot be read."""
    reader = csv.reader(lines, delimiter=mapping.delimiter)
    try:
        header = [clean_text(name) for name in next(reader, [])]
    except csv.Error as error:
        raise CsvFileError(f"row 1: {error}") from None
    if not header:
        raise CsvFileError("the file is empty: there is no header row")
    missing = [f"{column!r} (mapping field {field_name})" for field_name, column in mapping.named_columns().items() if column not in header]
    if missing:
        raise CsvFileError(f"the header has no column {', '.join(missing)}")
    ragged: list[ImportProblem] = []

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        row_number = 1
        try:
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue  # csv yields [] for an empty line: there is no row there
                if len(cells) != len(header):
                    ragged.append(ImportProblem(row_number, f"has {len(cells)} fields; the header has {len(header)}"))
                    continue
                yield row_number, dict(zip(header, cells))
        except csv.Error as error:
            raise CsvFileError(f"row {row_number + 1}: {error}") from None

    converted = convert_rows(rows(), mapping)
    problems = sorted(converted.problems + ragged, key=lambda problem: problem.row_number)
    return Conversion(converted.events, problems)


def convert_rows(rows: Iterable[tuple[int, Mapping[str, str]]], mapping: ColumnMapping) -> Conversion:
    """Convert (row number, {column: cell}) pairs; see the module docstring for the rules."""
    keyed_events: list[tuple[tuple[datetime, str, int], dict[str, Any]]] = []
    problems: list[ImportProblem] = []
    occurrences: Counter[str] = Counter()
    for row_number, row in rows:
        try:
            keyed_events.extend(_convert_row(row, mapping, occurrences))
        except _RowRejected as rejection:
            problems.append(ImportProblem(row_number, rejection.reason))
    keyed_events.sort(key=lambda keyed: keyed[0])
    return Conversion([event for _, event in keyed_events], problems)


def _convert_row(row: Mapping[str, str], mapping: ColumnMapping, occurrences: Counter[str]) -> list[tuple[tuple[datetime, str, int], dict[str, Any]]]:
    columns = mapping.columns
    order_id = _order_id(row, mapping, occurrences)
    created_at = _time(row, columns.created_at, "created", mapping)
    if created_at is None:
        raise _RowRejected(f"no created time (column {columns.created_at!r} is empty)")
    closed_at = _closed_at(row, mapping)
    due_at = _time(row, columns.due_at, "due", mapping)
    for label, instant in (("closed", closed_at), ("due", due_at)):
        if instant is not None and instant < created_at:
            raise _RowRejected(f"{label} at {format_rfc3339(instant)}, before it was created at {format_rfc3339(created_at)}")
    office_id = _office_id(row, mapping)
    category = category_slug(_value(row, columns.category, mapping))[: _MAX_CHARACTERS["category"]].rstrip("_")
    if not category:
        raise _RowRejected(f"no category (column {columns.category!r} is empty)")

    appeal: dict[str, Any] = {
        "channel": _channel(row, mapping),
        "title": _text(row, columns.title, "title", mapping),
        "text": _text(row, columns.text, "text", mapping),
        "category": category,
        "urgency": "normal",
        "location": _location(row, mapping),
        "office_id": office_id,
        "source": mapping.source,
    }
    caller_id = _value(row, columns.caller_id, mapping)
    if len(caller_id) > _MAX_ID_CHARACTERS:
        raise _RowRejected(f"caller id is {len(caller_id)} characters; the contract allows {_MAX_ID_CHARACTERS}")
    if caller_id:
        appeal["caller_id"] = caller_id
    dispatched: dict[str, Any] = {"office_id": office_id}
    if due_at is not None:
        appeal["due_at"] = dispatched["due_at"] = format_rfc3339(due_at)

    timeline = [(created_at, "appeal.received", appeal), (created_at, "order.dispatched", dispatched)]
    if closed_at is not None:
        resolved: dict[str, Any] = {"office_id": office_id}
        summary = _text(row, columns.summary, "summary", mapping)
        if summary:
            resolved["summary"] = summary
        status = _text(row, columns.status, "status", mapping)
        timeline.append((closed_at, "order.resolved", resolved))
        timeline.append((closed_at, "order.closed", {"status": status} if status else {}))
    return [_keyed_event(mapping.source, order_id, instant, event_type, data) for instant, event_type, data in timeline]


def _keyed_event(source: str, order_id: str, instant: datetime, event_type: str, data: dict[str, Any]) -> tuple[tuple[datetime, str, int], dict[str, Any]]:
    id_prefix = f"{source}:{order_id}:"
    event = {
        "event_id": id_prefix + event_type,
        "type": event_type,
        "order_id": order_id,
        "occurred_at": format_rfc3339(instant),
        "schema": 1,
        "data": data,
    }
    return (instant, id_prefix, _STEP[event_type]), event


def _value(row: Mapping[str, str], column: str | None, mapping: ColumnMapping) -> str:
    if column is None:
        return ""
    text = clean_text(row.get(column))
    return "" if text in mapping.blank_values else text


def _text(row: Mapping[str, str], column: str | None, field_name: str, mapping: ColumnMapping) -> str:
    return clip(_value(row, column, mapping), _MAX_CHARACTERS[field_name])


def _order_id(row: Mapping[str, str], mapping: ColumnMapping, occurrences: Counter[str]) -> str:
    column = mapping.columns.order_id
    source_id = _value(row, column, mapping)
    if not source_id:
        raise _RowRejected(f"no order id (column {column!r} is empty)")
    occurrences[source_id] += 1
    occurrence = occurrences[source_id]
    order_id = source_id if occurrence == 1 else f"{source_id}{REPEAT_SEPARATOR}{occurrence}"
    longest_event_id = f"{mapping.source}:{order_id}:{_LONGEST_TYPE}"
    if len(longest_event_id) > _MAX_ID_CHARACTERS:
        raise _RowRejected(f"order id is {len(source_id)} characters: with the source and event type it exceeds the {_MAX_ID_CHARACTERS}-character event id")
    return order_id


def _time(row: Mapping[str, str], column: str | None, label: str, mapping: ColumnMapping) -> datetime | None:
    text = _value(row, column, mapping)
    if not text:
        return None
    try:
        instant = parse_local(text, mapping.date_formats, mapping.time_zone)
        format_rfc3339(instant)
    except ValueError as error:
        raise _RowRejected(f"bad {label} time in column {column!r}: {error}") from None
    return instant


def _closed_at(row: Mapping[str, str], mapping: ColumnMapping) -> datetime | None:
    columns = mapping.columns
    if columns.status is None:
        return _time(row, columns.closed_at, "closed", mapping)
    status = _value(row, columns.status, mapping)
    if status.casefold() not in mapping.closed_statuses:
        return None
    closed_at = _time(row, columns.closed_at, "closed", mapping)
    if closed_at is None:
        raise _RowRejected(f"status {status!r} but no closed time (column {columns.closed_at!r} is empty)")
    return closed_at


def _office_id(row: Mapping[str, str], mapping: ColumnMapping) -> str:
    column = mapping.columns.office
    office = _value(row, column, mapping)
    if not office:
        raise _RowRejected(f"no office (column {column!r} is empty)")
    office_id = mapping.office_values.get(office) or office_slug(office)
    if not OFFICE_ID_PATTERN.match(office_id):
        raise _RowRejected(f"office {office!r} has no usable office_id; name it in the mapping's office.values")
    return office_id


def _channel(row: Mapping[str, str], mapping: ColumnMapping) -> str:
    if mapping.channel_column is None:
        return mapping.default_channel
    return mapping.channel_values.get(_value(row, mapping.channel_column, mapping), mapping.default_channel)


def _location(row: Mapping[str, str], mapping: ColumnMapping) -> dict[str, Any]:
    columns = mapping.location
    location: dict[str, Any] = {}
    for field_name in _PLACE_FIELDS:
        text = _text(row, getattr(columns, field_name), field_name, mapping)
        if text:
            location[field_name] = text
    latitude = _coordinate(row, columns.lat, "latitude", 90.0, mapping)
    longitude = _coordinate(row, columns.lon, "longitude", 180.0, mapping)
    if (latitude is None) != (longitude is None):
        raise _RowRejected("has a latitude without a longitude or the other way round")
    if latitude is not None and (latitude, longitude) not in columns.placeholder_coordinates:
        location["lat"] = latitude
        location["lon"] = longitude
    return location


def _coordinate(row: Mapping[str, str], column: str | None, label: str, limit: float, mapping: ColumnMapping) -> float | None:
    text = _value(row, column, mapping)
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise _RowRejected(f"bad {label} in column {column!r}: {text!r} is not a number") from None
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise _RowRejected(f"{label} {text} in column {column!r} is outside -{limit:g}..{limit:g}")
    return value
