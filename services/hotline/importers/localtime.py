"""Local wall-clock times of an export -> instants written as RFC 3339 with their offset.

Consumes a cell such as "04/18/2019 09:55:45 PM", the export's strptime formats and its
time zone; produces an aware datetime in that zone and its RFC 3339 text
("2019-04-18T21:55:45-04:00"). The offset comes from the zone's rules for that date, so
daylight-saving time is right on both sides of every transition.

Two wall-clock readings have no single answer and are settled as PEP 495 does with
`fold=0`:
- a time skipped when clocks go forward (02:30 on a March Sunday in New York) is read
  with the offset in force before the jump and written as the real instant it names
  (02:30-05:00 is written 03:30:00-04:00);
- a time that happens twice when clocks go back (01:30 on a November Sunday) is taken
  as the first occurrence, still on daylight time (01:30:00-04:00).

The format "excel" reads Excel serial dates, which spreadsheets leave in a date column
when a cell was never formatted as a date: days since 1899-12-30, the fraction being the
time of day on the local wall clock ("43831.5" is 2020-01-01 12:00). Serials below 61
(before 1900-03-01) are refused: there Excel counts a 29 February 1900 that never was.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

EXCEL_SERIAL = "excel"
_EXCEL_EPOCH = datetime(1899, 12, 30)
_SERIAL_PATTERN = re.compile(r"\d+(\.\d+)?")
_FIRST_RELIABLE_SERIAL = 61
_LAST_SERIAL = 2958465  # 9999-12-31
_SECONDS_PER_DAY = 86400


def parse_local(text: str, formats: tuple[str, ...], zone: ZoneInfo) -> datetime:
    """The instant `text` names, as an aware datetime in `zone`; ValueError if no format fits.

    A format with %z carries its own offset; the instant is then shown in `zone`.
    """
    for date_format in formats:
        try:
            parsed = _excel_serial(text) if date_format == EXCEL_SERIAL else datetime.strptime(text, date_format)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        # The round trip through UTC turns a skipped wall-clock time into the instant it names.
        return parsed.astimezone(timezone.utc).astimezone(zone)
    expected = " or ".join(repr(date_format) for date_format in formats)
    raise ValueError(f"{text!r} does not match {expected}")


def _excel_serial(text: str) -> datetime:
    if not _SERIAL_PATTERN.fullmatch(text):
        raise ValueError(f"{text!r} is not an Excel serial date")
    serial = float(text)
    if not _FIRST_RELIABLE_SERIAL <= serial < _LAST_SERIAL + 1:
        raise ValueError(f"{text!r} is outside the Excel serial dates {_FIRST_RELIABLE_SERIAL}..{_LAST_SERIAL}")
    # Exports write serials as binary floats (43524.475752314813): round to the second.
    return _EXCEL_EPOCH + timedelta(seconds=round(serial * _SECONDS_PER_DAY))


def format_rfc3339(instant: datetime) -> str:
    """RFC 3339 with the instant's own offset; ValueError for offsets RFC 3339 cannot
    write (local mean time of zones before standard time had seconds in its offset)."""
    offset = instant.utcoffset()
    if offset is None:
        raise ValueError(f"{instant.isoformat()} has no UTC offset")
    if offset.total_seconds() % 60:
        raise ValueError(f"{instant.isoformat()} has an offset with seconds (local mean time), which RFC 3339 cannot express")
    return instant.isoformat()
