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
    """Format an aware datetime as RFC 3339 in UTC with a Z suffix (microseconds only if set).

    Built from the fields rather than strftime: %Y does not pad years before 1000, which
    RFC 3339 requires, and this runs for every derived timestamp.
    """
    utc = instant.astimezone(timezone.utc)
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
    )
    if utc.microsecond:
        return f"{text}.{utc.microsecond:06d}Z"
    return text + "Z"


def to_epoch_seconds(instant: datetime) -> float:
    return instant.timestamp()
