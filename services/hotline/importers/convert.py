"""Rows of a CSV export -> hotline.events.v1 events, and a reason for every row that cannot be.

Consumes CSV text (or rows already split into {header: cell}) and a `ColumnMapping`;
produces `Conversion(events, problems, labels, rows_skipped)`: JSON-ready event dicts
valid against schemas/hotline.events.v1.schema.json, one `ImportProblem` (row number,
reason, kind) per rejected row, the labels a preset reads from the source's own duplicate
marks, and the number of rows the mapping's filter skipped. No row is dropped without a
problem or the filter saying why.

Header and cells: a mapped column is found by its exact name, else by the one header
cell equal to it in any letter case (Boston's exports changed CASE_ENQUIRY_ID to
case_enquiry_id); a mapped name the header holds twice is an error, unmapped repeats do
not matter. A row with fewer cells than the header has empty trailing cells (exports cut
trailing empties); extra cells are ignored when empty and reject the row when filled,
since then the cells have most likely shifted under an unquoted delimiter.

Each row is one order:
- `appeal.received` and `order.dispatched` (to the row's office) at the created time,
  both carrying the export's own due time as `due_at` when it has one;
- with a reply column and a filled reply time, `order.replied` (kind first_contact,
  the reply as text) at that time;
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

Rows are rejected for (kind in brackets): a missing id [no_order_id] or created time
[no_created_time], an unreadable time [bad_time], a closed status without a closed time
[no_closed_time], a closed, due or reply time before the created time
[time_before_created], a missing office or one with no route [no_office], an office with
no usable office_id [unusable_office_id], a missing category [no_category], unreadable
or out-of-range coordinates [bad_coordinates], filled extra cells [extra_cells], or ids
too long for the contract [id_too_long]. Text longer than the contract allows is cut and
ends with "…".
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Iterator, Mapping, NamedTuple

from hotline.importers.localtime import format_rfc3339, parse_local
from hotline.importers.mapping import ColumnMapping, ColumnRef, column_names
from hotline.importers.normalise import OFFICE_ID_PATTERN, category_slug, clean_text, clip, office_slug

LIFECYCLE = ("appeal.received", "order.dispatched", "order.replied", "order.resolved", "order.closed")
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
    "reply": 2000,
    "status": 64,
    "district": 64,
    "street": 64,
    "community": 64,
    "address": 256,
}
_PLACE_FIELDS = ("district", "street", "community", "address")


@dataclass(frozen=True)
class ImportProblem:
    """A row that produced no events; `row_number` counts the header as row 1, `kind`
    groups reasons for counting (see the module docstring)."""

    row_number: int
    reason: str
    kind: str

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"


class Label(NamedTuple):
    """A row of a label file (data/labels/*.csv): order ids as the importer writes them."""

    order_id: str
    earlier_order_id: str
    label: str


class Conversion(NamedTuple):
    """Events in output order (see the module docstring), problems and labels in file order."""

    events: list[dict[str, Any]]
    problems: list[ImportProblem]
    labels: list[Label] = []
    rows_skipped: int = 0

    @property
    def rows_converted(self) -> int:
        return sum(1 for event in self.events if event["type"] == "appeal.received")


class CsvFileError(ValueError):
    """The file as a whole cannot be read with the mapping: no header, columns missing,
    or CSV syntax the reader cannot get past (then nothing of the file is converted)."""


class _RowRejected(Exception):
    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def convert_csv(lines: Iterable[str], mapping: ColumnMapping, stop_at_first_problem: bool = False) -> Conversion:
    """Convert CSV text (an open text file, or lines); CsvFileError if the file cannot be read.

    With `stop_at_first_problem`, conversion ends at the first rejected row (for --strict).
    """
    reader = csv.reader(lines, delimiter=mapping.delimiter)
    try:
        header = [clean_text(name) for name in next(reader, [])]
    except csv.Error as error:
        raise CsvFileError(f"row 1: {error}") from None
    if not header:
        raise CsvFileError("the file is empty: there is no header row")
    positions = _column_positions(header, mapping)

    def rows() -> Iterator[tuple[int, dict[str, str] | ImportProblem]]:
        row_number = 1
        try:
            for row_number, cells in enumerate(reader, start=2):
                if not cells:
                    continue  # csv yields [] for an empty line: there is no row there
                if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header) :]):
                    reason = f"has {len(cells)} cells; the header has {len(header)} and the extra ones are filled"
                    yield row_number, ImportProblem(row_number, reason, "extra_cells")
                    continue
                yield row_number, {column: cells[position] if position < len(cells) else "" for column, position in positions.items()}
        except csv.Error as error:
            raise CsvFileError(f"row {row_number + 1}: {error}") from None

    return _convert(rows(), mapping, stop_at_first_problem)


def _column_positions(header: list[str], mapping: ColumnMapping) -> dict[str, int]:
    """Mapped column name -> its position in the header; CsvFileError naming every column
    that is missing or ambiguous."""
    exact: dict[str, list[int]] = {}
    any_case: dict[str, list[int]] = {}
    for position, name in enumerate(header):
        exact.setdefault(name, []).append(position)
        any_case.setdefault(name.casefold(), []).append(position)
    positions: dict[str, int] = {}
    missing: list[str] = []
    ambiguous: list[str] = []
    for field_name, column in mapping.named_columns().items():
        found = exact.get(column) or any_case.get(column.casefold(), [])
        if not found:
            missing.append(f"{column!r} (mapping field {field_name})")
        elif len(found) > 1:
            ambiguous.append(f"{column!r} (mapping field {field_name}) is in the header {len(found)} times")
        else:
            positions[column] = found[0]
    if missing:
        raise CsvFileError(f"the header has no column {', '.join(missing)}")
    if ambiguous:
        raise CsvFileError(f"the column is ambiguous: {', '.join(ambiguous)}")
    return positions


def convert_rows(rows: Iterable[tuple[int, Mapping[str, str]]], mapping: ColumnMapping, stop_at_first_problem: bool = False) -> Conversion:
    """Convert (row number, {column: cell}) pairs; see the module docstring for the rules."""
    return _convert(rows, mapping, stop_at_first_problem)


def _convert(rows: Iterable[tuple[int, Mapping[str, str] | ImportProblem]], mapping: ColumnMapping, stop_at_first_problem: bool) -> Conversion:
    """As convert_rows; a row the CSV reader already refused comes as its ImportProblem."""
    keyed_events: list[tuple[tuple[datetime, str, int], dict[str, Any]]] = []
    problems: list[ImportProblem] = []
    labels: list[Label] = []
    rows_skipped = 0
    occurrences: Counter[str] = Counter()
    for row_number, row in rows:
        if isinstance(row, ImportProblem):
            problems.append(row)
        elif _filtered_out(row, mapping):
            rows_skipped += 1
            continue
        else:
            try:
                order_id, row_events = _convert_row(row, mapping, occurrences)
            except _RowRejected as rejection:
                problems.append(ImportProblem(row_number, rejection.reason, rejection.kind))
            else:
                keyed_events.extend(row_events)
                label = _label(row, order_id, mapping)
                if label is not None:
                    labels.append(label)
                continue
        if stop_at_first_problem:
            break
    keyed_events.sort(key=lambda keyed: keyed[0])
    return Conversion([event for _, event in keyed_events], problems, labels, rows_skipped)


def _filtered_out(row: Mapping[str, str], mapping: ColumnMapping) -> bool:
    def cell(column: str) -> str:
        return clean_text(row.get(column)).casefold()

    if any(cell(column) in values for column, values in mapping.skip_values.items()):
        return True
    return not all(cell(column) in values for column, values in mapping.keep_values.items())


def _label(row: Mapping[str, str], order_id: str, mapping: ColumnMapping) -> Label | None:
    labeller = mapping.labeller
    if labeller is None:
        return None
    marks = labeller.rule(*(_value(row, column, mapping) for column in labeller.columns))
    if marks is None:
        return None
    # a source naming the case itself as its original says nothing about an earlier one
    earlier_order_id = "" if marks.earlier_id == order_id else marks.earlier_id
    return Label(order_id, earlier_order_id, marks.label)


_RowEvents = list[tuple[tuple[datetime, str, int], dict[str, Any]]]


def _convert_row(row: Mapping[str, str], mapping: ColumnMapping, occurrences: Counter[str]) -> tuple[str, _RowEvents]:
    columns = mapping.columns
    order_id = _order_id(row, mapping, occurrences)
    created_at = _time(row, columns.created_at, "created", mapping)
    if created_at is None:
        raise _RowRejected("no_created_time", f"no created time (column {columns.created_at!r} is empty)")
    closed_at = _closed_at(row, mapping)
    due_at = _time(row, columns.due_at, "due", mapping)
    replied_at = _time(row, columns.replied_at, "reply", mapping)
    for label, instant in (("closed", closed_at), ("due", due_at), ("replied", replied_at)):
        if instant is not None and instant < created_at:
            raise _RowRejected("time_before_created", f"{label} at {format_rfc3339(instant)}, before it was created at {format_rfc3339(created_at)}")
    category_text = _value(row, columns.category, mapping) if columns.category is not None else mapping.constants["category"]
    category = category_slug(category_text)[: _MAX_CHARACTERS["category"]].rstrip("_")
    if not category:
        raise _RowRejected("no_category", f"no category ({_named(columns.category)} is empty)")
    office_id = _office_id(row, category, mapping)

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
    if not mapping.free_text:
        appeal["free_text"] = False
    caller_id = _value(row, columns.caller_id, mapping)
    if len(caller_id) > _MAX_ID_CHARACTERS:
        raise _RowRejected("id_too_long", f"caller id is {len(caller_id)} characters; the contract allows {_MAX_ID_CHARACTERS}")
    if caller_id:
        appeal["caller_id"] = caller_id
    dispatched: dict[str, Any] = {"office_id": office_id}
    if due_at is not None:
        appeal["due_at"] = dispatched["due_at"] = format_rfc3339(due_at)

    timeline = [(created_at, "appeal.received", appeal), (created_at, "order.dispatched", dispatched)]
    if replied_at is not None:
        replied: dict[str, Any] = {"office_id": office_id, "kind": "first_contact"}
        reply = _text(row, columns.reply, "reply", mapping)
        if reply:
            replied["text"] = reply
        timeline.append((replied_at, "order.replied", replied))
    if closed_at is not None:
        resolved: dict[str, Any] = {"office_id": office_id}
        summary = _text(row, columns.summary, "summary", mapping)
        if summary:
            resolved["summary"] = summary
        status = _text(row, columns.status, "status", mapping)
        timeline.append((closed_at, "order.resolved", resolved))
        timeline.append((closed_at, "order.closed", {"status": status} if status else {}))
    return order_id, [_keyed_event(mapping.source, order_id, instant, event_type, data) for instant, event_type, data in timeline]


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


def _value(row: Mapping[str, str], column: ColumnRef | None, mapping: ColumnMapping) -> str:
    """The cleaned cell, or the non-empty cells of joined columns with the separator."""
    cells = (clean_text(row.get(name)) for name in column_names(column))
    return mapping.join_separator.join(cell for cell in cells if cell and cell not in mapping.blank_values)


def _named(column: ColumnRef | None) -> str:
    names = column_names(column)
    return f"column {names[0]!r}" if len(names) == 1 else f"columns {', '.join(repr(name) for name in names)}"


def _text(row: Mapping[str, str], column: ColumnRef | None, field_name: str, mapping: ColumnMapping) -> str:
    return clip(_value(row, column, mapping), _MAX_CHARACTERS[field_name])


def _order_id(row: Mapping[str, str], mapping: ColumnMapping, occurrences: Counter[str]) -> str:
    column = mapping.columns.order_id
    source_id = _value(row, column, mapping)
    if not source_id:
        raise _RowRejected("no_order_id", f"no order id (column {column!r} is empty)")
    occurrences[source_id] += 1
    occurrence = occurrences[source_id]
    order_id = source_id if occurrence == 1 else f"{source_id}{REPEAT_SEPARATOR}{occurrence}"
    longest_event_id = f"{mapping.source}:{order_id}:{_LONGEST_TYPE}"
    if len(longest_event_id) > _MAX_ID_CHARACTERS:
        raise _RowRejected("id_too_long", f"order id is {len(source_id)} characters: with the source and event type it exceeds the {_MAX_ID_CHARACTERS}-character event id")
    return order_id


def _time(row: Mapping[str, str], column: str | None, label: str, mapping: ColumnMapping) -> datetime | None:
    text = _value(row, column, mapping)
    if not text:
        return None
    try:
        instant = parse_local(text, mapping.date_formats, mapping.time_zone)
        format_rfc3339(instant)
    except ValueError as error:
        raise _RowRejected("bad_time", f"bad {label} time in column {column!r}: {error}") from None
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
        raise _RowRejected("no_closed_time", f"status {status!r} but no closed time (column {columns.closed_at!r} is empty)")
    return closed_at


def _office_id(row: Mapping[str, str], category: str, mapping: ColumnMapping) -> str:
    column = mapping.columns.office
    if column is None:
        office_id = mapping.routing.get(category) or mapping.constants.get("office")
        if office_id is None:
            raise _RowRejected("no_office", f"no office: category {category!r} has no route and the mapping has no constants.office")
        return office_id
    office = _value(row, column, mapping)
    if not office:
        raise _RowRejected("no_office", f"no office (column {column!r} is empty)")
    office_id = mapping.office_values.get(office) or office_slug(office)
    if not OFFICE_ID_PATTERN.match(office_id):
        raise _RowRejected("unusable_office_id", f"office {office!r} has no usable office_id; name it in the mapping's office.values")
    return office_id


def _channel(row: Mapping[str, str], mapping: ColumnMapping) -> str:
    if mapping.channel_column is None:
        return mapping.default_channel
    return mapping.channel_values.get(_value(row, mapping.channel_column, mapping), mapping.default_channel)


def _location(row: Mapping[str, str], mapping: ColumnMapping) -> dict[str, Any]:
    columns = mapping.location
    location: dict[str, Any] = {}
    for field_name in _PLACE_FIELDS:
        column = getattr(columns, field_name)
        text = _text(row, column, field_name, mapping) if column is not None else mapping.constants.get(field_name, "")[: _MAX_CHARACTERS[field_name]]
        if text:
            location[field_name] = text
    latitude = _coordinate(row, columns.lat, "latitude", 90.0, mapping)
    longitude = _coordinate(row, columns.lon, "longitude", 180.0, mapping)
    if (latitude is None) != (longitude is None):
        raise _RowRejected("bad_coordinates", "has a latitude without a longitude or the other way round")
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
        raise _RowRejected("bad_coordinates", f"bad {label} in column {column!r}: {text!r} is not a number") from None
    if not (math.isfinite(value) and -limit <= value <= limit):
        raise _RowRejected("bad_coordinates", f"{label} {text} in column {column!r} is outside -{limit:g}..{limit:g}")
    return value
