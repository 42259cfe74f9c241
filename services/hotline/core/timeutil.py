"""Event-time parsing and formatting (RFC 3339), and instants as compact epoch numbers."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

# An event's instants are parsed and formatted several times on its way through the
# stages (and an order's instants on every later event of it): both conversions are
# pure and their results immutable, so each keeps the most recent ones.
_CACHED_INSTANTS = 1 << 16


@lru_cache(maxsize=_CACHED_INSTANTS)
def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset; raise ValueError otherwise."""
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return parsed


@lru_cache(maxsize=_CACHED_INSTANTS)
def format_utc(instant: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a Z suffix (microseconds only if set).

    isoformat pads the year to four digits (strftime's %Y does not, which RFC 3339
    requires) and shows microseconds only when set; in UTC it ends in "+00:00". Equal
    instants in other offsets share a cache entry, and their UTC text is the same.
    """
    return instant.astimezone(timezone.utc).isoformat()[:-6] + "Z"


def to_epoch_seconds(instant: datetime) -> float:
    return instant.timestamp()


def compact_epoch(instant: datetime) -> int | float:
    """Unix seconds of an aware instant: an int when it falls on a whole second, else a
    float, which `from_epoch` turns back into the same microsecond up to the year 2242
    (below 2**33 seconds a float's error is under half a microsecond, and the
    conversion rounds to the nearest one)."""
    seconds = instant.timestamp()
    return int(seconds) if instant.microsecond == 0 else seconds


def from_epoch(seconds: int | float) -> datetime:
    """The UTC instant of `compact_epoch`'s number."""
    return datetime.fromtimestamp(seconds, timezone.utc)
