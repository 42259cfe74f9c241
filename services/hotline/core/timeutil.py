"""Event-time parsing and formatting (RFC 3339)."""

from __future__ import annotations

from datetime import datetime, timezone


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset; raise ValueError otherwise."""
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return parsed


def format_utc(instant: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a Z suffix (microseconds only if set)."""
    utc = instant.astimezone(timezone.utc)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def to_epoch_seconds(instant: datetime) -> float:
    return instant.timestamp()
