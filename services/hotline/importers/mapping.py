"""How the columns of a CSV export map onto the hotline event contract.

Consumes a mapping TOML file (see examples/mappings/nyc311.toml for every field) or the
built-in mappings of `hotline.importers.sources`; produces a validated `ColumnMapping`.
Every mistake in a file is a `ConfigFileError` naming the file and the field, raised
before any row is read.

A field comes from one column, from several columns joined (`text = ["Title", "Details"]`),
or from a constant (`[constants] office = "city_hotline"`), never from two of these. The
office of a row is its office column, else its category's route (`[routing]`), else
`constants.office`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hotline.configfiles import load_toml
from hotline.core.config_tables import ConfigFileError, check, reject_unknown_keys, require
from hotline.importers.localtime import EXCEL_SERIAL
from hotline.importers.normalise import OFFICE_ID_PATTERN, category_slug

# The contract's `channel` enum (schemas/hotline.events.v1.schema.json).
CHANNELS = frozenset({"phone", "web", "app", "wechat", "email", "sms", "walk_in", "other"})
_SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
# A date far from any month/day/hour ambiguity, to prove a format reads what it writes.
_FORMAT_PROBE = datetime(2001, 11, 23, 21, 45, 56)

_REQUIRED_COLUMNS = ("order_id", "created_at", "title", "text")
_OPTIONAL_COLUMNS = ("category", "office", "closed_at", "due_at", "caller_id", "status", "summary", "replied_at", "reply")
_LOCATION_COLUMNS = ("district", "street", "community", "address", "lat", "lon")
# Fields whose text may be joined from several columns (ids, times, numbers may not).
JOINABLE_FIELDS = frozenset({"title", "text", "category", "summary", "reply", "district", "street", "community", "address"})
# Fields a constant can fill when the export has no column for them.
CONSTANT_FIELDS = ("office", "category", "district", "street", "community")
_TOP_LEVEL_FIELDS = frozenset(
    {
        "source",
        "time_zone",
        "date_format",
        "encoding",
        "delimiter",
        "join_separator",
        "free_text",
        "closed_statuses",
        "blank_values",
        "columns",
        "location",
        "constants",
        "routing",
        "filter",
        "channel",
        "office",
    }
)

# One column, or several whose non-empty cells are joined with the mapping's separator.
ColumnRef = str | tuple[str, ...]


def column_names(column: ColumnRef | None) -> tuple[str, ...]:
    if column is None:
        return ()
    return (column,) if isinstance(column, str) else column


@dataclass(frozen=True)
class Columns:
    """Header names of the columns that carry each part of an order (None: not in this export)."""

    order_id: str
    created_at: str
    title: ColumnRef
    text: ColumnRef
    category: ColumnRef | None = None
    office: str | None = None
    closed_at: str | None = None
    due_at: str | None = None
    caller_id: str | None = None
    status: str | None = None
    summary: ColumnRef | None = None
    # the first reply to the caller (an order.replied event at replied_at)
    replied_at: str | None = None
    reply: ColumnRef | None = None


@dataclass(frozen=True)
class LocationColumns:
    district: ColumnRef | None = None
    street: ColumnRef | None = None
    community: ColumnRef | None = None
    address: ColumnRef | None = None
    lat: str | None = None
    lon: str | None = None
    # Coordinates an export writes when it could not geocode a case (Boston puts City
    # Hall's on them); kept they would make a false hotspot, so they are dropped.
    placeholder_coordinates: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class ColumnMapping:
    """Everything the converter needs to know about one kind of export."""

    source: str
    time_zone: ZoneInfo
    date_formats: tuple[str, ...]
    columns: Columns
    location: LocationColumns = LocationColumns()
    # casefolded status values that mean the order is closed; empty when no status column
    closed_statuses: frozenset[str] = frozenset()
    # cell values that mean "no value" ("Unspecified", "N/A")
    blank_values: frozenset[str] = frozenset()
    channel_column: str | None = None
    channel_values: dict[str, str] = field(default_factory=dict)
    default_channel: str = "other"
    office_values: dict[str, str] = field(default_factory=dict)
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    join_separator: str = "\n"
    # False: the export records no free text, its title and text are type labels (311);
    # repeat detection then links its appeals by place, category and time.
    free_text: bool = True
    # field -> value for fields no column carries (CONSTANT_FIELDS)
    constants: dict[str, str] = field(default_factory=dict)
    # category slug -> office_id, for exports without an office column
    routing: dict[str, str] = field(default_factory=dict)
    # column -> casefolded values: a row with one of them is skipped (skip) / needed (keep)
    skip_values: dict[str, frozenset[str]] = field(default_factory=dict)
    keep_values: dict[str, frozenset[str]] = field(default_factory=dict)
    # a preset's reading of the source's own duplicate marks (hotline.importers.labels)
    labeller: Labeller | None = None

    def named_columns(self) -> dict[str, str]:
        """Mapping field -> header name, for every column the mapping uses."""
        refs: dict[str, ColumnRef | None] = {f"columns.{name}": getattr(self.columns, name) for name in _REQUIRED_COLUMNS + _OPTIONAL_COLUMNS}
        refs.update({f"location.{name}": getattr(self.location, name) for name in _LOCATION_COLUMNS})
        refs["channel.column"] = self.channel_column
        for kind, table in (("skip", self.skip_values), ("keep", self.keep_values)):
            refs.update({f"filter.{kind}.{column}": column for column in table})
        if self.labeller is not None:
            refs.update({f"labels.{column}": column for column in self.labeller.columns})
        named: dict[str, str] = {}
        for field_name, ref in refs.items():
            columns = column_names(ref)
            if isinstance(ref, tuple):
                named.update({f"{field_name}[{index}]": column for index, column in enumerate(columns)})
            elif ref is not None:
                named[field_name] = ref
        return named


@dataclass(frozen=True)
class SourceLabel:
    """What a source's own marks say about one row: `duplicate` (of `earlier_id`, "" when
    the source does not name it) or `not_duplicate`."""

    label: str
    earlier_id: str = ""


@dataclass(frozen=True)
class Labeller:
    """The columns a preset's label rule reads, in the order of its parameters."""

    columns: tuple[str, ...]
    rule: Callable[..., SourceLabel | None]


def load_mapping(path: Path | str) -> ColumnMapping:
    table = load_toml(path)
    reject_unknown_keys(table, _TOP_LEVEL_FIELDS, path)
    source = _optional_str(table, "source", "csv", path, "")
    check(bool(_SOURCE_PATTERN.match(source)), path, "source", f"{source!r} must be 1-32 lowercase letters, digits, '_', '.' or '-'")
    columns = _columns(require(table, "columns", dict, path), path)
    status_values = _string_list(table, "closed_statuses", path)
    if columns.status is None:
        check(not status_values, path, "closed_statuses", "needs columns.status (without it a row is closed when its closed time is filled)")
    else:
        check(bool(status_values), path, "closed_statuses", "must list the status values that mean closed, because columns.status is set")
        check(columns.closed_at is not None, path, "columns.closed_at", "is needed with columns.status: a closed order needs its closed time")
    channel_column, channel_values, default_channel = _channel(table.get("channel", {}), path)
    location = _location(table.get("location", {}), path)
    constants = _constants(table.get("constants", {}), columns, location, path)
    routing = _routing(table.get("routing", {}), path)
    if columns.office is None:
        check(
            "office" in constants or bool(routing),
            path,
            "columns.office",
            "is missing: name the office column, or give constants.office or [routing] by category",
        )
    else:
        check(not routing, path, "routing", "routes by category only for exports without columns.office")
    check(columns.category is not None or "category" in constants, path, "columns.category", "is missing: name a column or give constants.category")
    check((columns.replied_at is None) == (columns.reply is None), path, "columns.replied_at", "columns.replied_at and columns.reply go together")
    skip_values, keep_values = _filter(table.get("filter", {}), path)
    return ColumnMapping(
        source=source,
        time_zone=_time_zone(table, path),
        date_formats=_date_formats(table, path),
        columns=columns,
        location=location,
        closed_statuses=frozenset(value.casefold() for value in status_values),
        blank_values=frozenset(_string_list(table, "blank_values", path)),
        channel_column=channel_column,
        channel_values=channel_values,
        default_channel=default_channel,
        office_values=_office_values(table.get("office", {}), path),
        encoding=_encoding(table, path),
        delimiter=_delimiter(table, path),
        join_separator=_join_separator(table, path),
        free_text=require(table, "free_text", bool, path) if "free_text" in table else True,
        constants=constants,
        routing=routing,
        skip_values=skip_values,
        keep_values=keep_values,
    )


def _optional_str(table: dict[str, Any], key: str, default: str, path: Path | str, prefix: str) -> str:
    if key not in table:
        return default
    value = require(table, key, str, path, prefix.rstrip("."))
    check(bool(value), path, f"{prefix}{key}", "must not be empty")
    return value


def _string_list(table: dict[str, Any], key: str, path: Path | str) -> list[str]:
    if key not in table:
        return []
    values = require(table, key, list, path)
    for index, value in enumerate(values):
        check(isinstance(value, str), path, f"{key}[{index}]", f"expected str, got {value!r}")
    return values


def _time_zone(table: dict[str, Any], path: Path | str) -> ZoneInfo:
    name = require(table, "time_zone", str, path)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ConfigFileError(path, "time_zone", f"unknown time zone {name!r} (an IANA name such as 'America/New_York' or 'Asia/Shanghai')") from None


def _date_formats(table: dict[str, Any], path: Path | str) -> tuple[str, ...]:
    value = require(table, "date_format", (str, list), path)
    formats = [value] if isinstance(value, str) else value
    check(bool(formats), path, "date_format", "must name at least one strptime format")
    for index, date_format in enumerate(formats):
        field_name = "date_format" if isinstance(value, str) else f"date_format[{index}]"
        check(isinstance(date_format, str), path, field_name, f"expected str, got {date_format!r}")
        if date_format == EXCEL_SERIAL:
            continue
        try:
            read_back = datetime.strptime(_FORMAT_PROBE.strftime(date_format), date_format)
        except ValueError as error:
            raise ConfigFileError(path, field_name, f"{date_format!r} cannot read the dates it writes: {error}") from None
        check(
            read_back.date() == _FORMAT_PROBE.date(),
            path,
            field_name,
            f"{date_format!r} must contain a full date (year, month and day), e.g. '%Y-%m-%d %H:%M:%S'",
        )
    return tuple(formats)


def _columns(table: dict[str, Any], path: Path | str) -> Columns:
    reject_unknown_keys(table, _REQUIRED_COLUMNS + _OPTIONAL_COLUMNS, path, "columns")
    required = {name: _column_ref(table, name, path, "columns.") for name in _REQUIRED_COLUMNS}
    for name, column in required.items():
        check(column is not None, path, f"columns.{name}", "is missing")
    optional = {name: _column_ref(table, name, path, "columns.") for name in _OPTIONAL_COLUMNS}
    return Columns(**required, **optional)


def _column_ref(table: dict[str, Any], name: str, path: Path | str, prefix: str) -> ColumnRef | None:
    if name not in table:
        return None
    value = table[name]
    if not isinstance(value, list) or name not in JOINABLE_FIELDS:
        return _optional_str(table, name, "", path, prefix) or None
    check(len(value) >= 2, path, f"{prefix}{name}", "a list joins two or more columns; name a single column as a string")
    for index, column in enumerate(value):
        check(isinstance(column, str) and bool(column), path, f"{prefix}{name}[{index}]", f"expected a column name, got {column!r}")
    return tuple(value)


def _location(table: dict[str, Any], path: Path | str) -> LocationColumns:
    check(isinstance(table, dict), path, "location", "expected a table")
    reject_unknown_keys(table, _LOCATION_COLUMNS + ("placeholder_coordinates",), path, "location")
    columns = {name: _column_ref(table, name, path, "location.") for name in _LOCATION_COLUMNS}
    check((columns["lat"] is None) == (columns["lon"] is None), path, "location.lat", "location.lat and location.lon go together")
    placeholders = []
    for index, pair in enumerate(table.get("placeholder_coordinates", [])):
        field_name = f"location.placeholder_coordinates[{index}]"
        check(
            isinstance(pair, list) and len(pair) == 2 and all(isinstance(number, (int, float)) and not isinstance(number, bool) for number in pair),
            path,
            field_name,
            f"expected [latitude, longitude], got {pair!r}",
        )
        placeholders.append((float(pair[0]), float(pair[1])))
    return LocationColumns(**columns, placeholder_coordinates=tuple(placeholders))


def _channel(table: dict[str, Any], path: Path | str) -> tuple[str | None, dict[str, str], str]:
    check(isinstance(table, dict), path, "channel", "expected a table")
    reject_unknown_keys(table, ("column", "values", "default"), path, "channel")
    default = _optional_str(table, "default", "other", path, "channel.")
    check(default in CHANNELS, path, "channel.default", f"{default!r} is not one of {', '.join(sorted(CHANNELS))}")
    values = table.get("values", {})
    check(isinstance(values, dict), path, "channel.values", "expected a table of source value = contract channel")
    for source_value, channel in values.items():
        check(channel in CHANNELS, path, f"channel.values.{source_value}", f"{channel!r} is not one of {', '.join(sorted(CHANNELS))}")
    column = _optional_str(table, "column", "", path, "channel.") or None
    check(column is not None or not values, path, "channel.column", "is needed when channel.values is given")
    return column, dict(values), default


def _office_values(table: dict[str, Any], path: Path | str) -> dict[str, str]:
    check(isinstance(table, dict), path, "office", "expected a table")
    reject_unknown_keys(table, ("values",), path, "office")
    values = table.get("values", {})
    check(isinstance(values, dict), path, "office.values", "expected a table of source value = office_id")
    for source_value, office_id in values.items():
        check(
            isinstance(office_id, str) and bool(OFFICE_ID_PATTERN.match(office_id)),
            path,
            f"office.values.{source_value}",
            f"{office_id!r} is not an office_id (1-64 of A-Z a-z 0-9 _ . : -)",
        )
    return dict(values)


def _encoding(table: dict[str, Any], path: Path | str) -> str:
    encoding = _optional_str(table, "encoding", "utf-8-sig", path, "")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigFileError(path, "encoding", f"unknown text encoding {encoding!r} (e.g. 'utf-8-sig', 'gb18030')") from None
    return encoding


def _delimiter(table: dict[str, Any], path: Path | str) -> str:
    delimiter = _optional_str(table, "delimiter", ",", path, "")
    check(len(delimiter) == 1 and delimiter not in "\"\r\n", path, "delimiter", f"{delimiter!r} must be one character other than a quote or newline")
    return delimiter


def _join_separator(table: dict[str, Any], path: Path | str) -> str:
    if "join_separator" not in table:
        return "\n"
    return require(table, "join_separator", str, path)


def _constants(table: dict[str, Any], columns: Columns, location: LocationColumns, path: Path | str) -> dict[str, str]:
    check(isinstance(table, dict), path, "constants", "expected a table")
    reject_unknown_keys(table, CONSTANT_FIELDS, path, "constants")
    constants = {name: _optional_str(table, name, "", path, "constants.") for name in table}
    for name in constants:
        column = getattr(columns, name, None) or getattr(location, name, None)
        check(column is None, path, f"constants.{name}", f"the field already comes from column {column!r}; give a column or a constant, not both")
    if "office" in constants:
        check(bool(OFFICE_ID_PATTERN.match(constants["office"])), path, "constants.office", f"{constants['office']!r} is not an office_id (1-64 of A-Z a-z 0-9 _ . : -)")
    if "category" in constants:
        check(bool(category_slug(constants["category"])), path, "constants.category", "has no letters or digits")
    return constants


def _routing(table: dict[str, Any], path: Path | str) -> dict[str, str]:
    check(isinstance(table, dict), path, "routing", "expected a table of category = office_id")
    routes: dict[str, str] = {}
    for category, office_id in table.items():
        field_name = f"routing.{category}"
        check(
            isinstance(office_id, str) and bool(OFFICE_ID_PATTERN.match(office_id)),
            path,
            field_name,
            f"{office_id!r} is not an office_id (1-64 of A-Z a-z 0-9 _ . : -)",
        )
        slug = category_slug(category)
        check(bool(slug), path, field_name, "the category has no letters or digits")
        check(slug not in routes, path, field_name, "names the same category as another route (routes compare categories in snake_case)")
        routes[slug] = office_id
    return routes


def _filter(table: dict[str, Any], path: Path | str) -> tuple[dict[str, frozenset[str]], dict[str, frozenset[str]]]:
    check(isinstance(table, dict), path, "filter", "expected a table")
    reject_unknown_keys(table, ("skip", "keep"), path, "filter")
    tables = []
    for kind in ("skip", "keep"):
        values_by_column = table.get(kind, {})
        check(isinstance(values_by_column, dict), path, f"filter.{kind}", "expected a table of column = [values]")
        for column, values in values_by_column.items():
            field_name = f"filter.{kind}.{column}"
            check(isinstance(values, list) and bool(values), path, field_name, "expected a non-empty list of cell values")
            for index, value in enumerate(values):
                check(isinstance(value, str), path, f"{field_name}[{index}]", f"expected str, got {value!r}")
        tables.append({column: frozenset(value.casefold() for value in values) for column, values in values_by_column.items()})
    return tables[0], tables[1]
