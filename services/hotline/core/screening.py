"""The screen stage: raw input bytes -> a screened event, or a rejection with a reason.

Consumes the bytes of one `hotline.events.v1` message. Produces either a `Screened`
event (validated, occurred_at normalised to UTC, caller pseudonymised, phone / ID
numbers redacted from free text, with a verdict) or a `Rejected` value whose reason
code names why it must be dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from hotline.core.ids import derived_event_id
from hotline.core.privacy import pseudonymize, redact
from hotline.core.timeutil import format_utc, parse_rfc3339

SCREENED_KIND = "screened"
_FREE_TEXT_FIELDS = ("title", "text", "summary", "reason")


class Validates(Protocol):
    def validate(self, event: Any) -> Any | None: ...


@dataclass(frozen=True)
class Screened:
    event: dict[str, Any]
    occurred_at_seconds: float

    @property
    def order_id(self) -> str:
        return self.event["order_id"]


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str
    input_event_id: str | None = None


@dataclass(frozen=True)
class ScreenSettings:
    pseudonym_key: bytes
    max_event_bytes: int = 64 * 1024
    # An event stamped further ahead of the wall clock than this is a source's clock or
    # data error: folded, it would move its partition's event-time watermark into the
    # future and breach every open order there. None: no limit.
    max_future_seconds: float | None = 86400.0


def decode_event(raw: bytes | None, validator: Validates, max_event_bytes: int) -> dict[str, Any] | Rejected:
    """Decode and validate one message; the first failure names the reason."""
    if raw is None:
        return Rejected("empty_message", "message has no value (tombstone)")
    if len(raw) > max_event_bytes:
        return Rejected("too_large", f"message is {len(raw)} bytes; the limit is {max_event_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejected("invalid_encoding", f"not UTF-8: {error}")
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        return Rejected("invalid_json", f"not JSON: {error}")
    if not isinstance(event, dict):
        return Rejected("not_an_object", f"expected a JSON object, got {type(event).__name__}")
    event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
    violation = validator.validate(event)
    if violation is not None:
        return Rejected(violation.reason, violation.detail, event_id)
    try:
        parse_rfc3339(event["occurred_at"])
    except ValueError as error:
        return Rejected("invalid_value", f"occurred_at: {error}", event_id)
    return event


def _sanitize_data(data: dict[str, Any], key: bytes) -> dict[str, Any]:
    clean = dict(data)
    if "caller_id" in clean:
        clean["caller_id"] = pseudonymize(clean["caller_id"], key)
    for field in _FREE_TEXT_FIELDS:
        if isinstance(clean.get(field), str):
            clean[field] = redact(clean[field])
    location = clean.get("location")
    if isinstance(location, dict) and isinstance(location.get("address"), str):
        clean["location"] = {**location, "address": redact(location["address"])}
    return clean


def screen(
    raw: bytes | None, validator: Validates, settings: ScreenSettings, now_seconds: float | None = None
) -> Screened | Rejected:
    """Screen one message; `now_seconds` (the wall clock at the edge) bounds how far in the
    future an event may be stamped."""
    decoded = decode_event(raw, validator, settings.max_event_bytes)
    if isinstance(decoded, Rejected):
        return decoded
    event = decoded
    occurred_at = parse_rfc3339(event["occurred_at"])
    if now_seconds is not None and settings.max_future_seconds is not None:
        ahead_seconds = occurred_at.timestamp() - now_seconds
        if ahead_seconds > settings.max_future_seconds:
            return Rejected(
                "occurred_in_future",
                f"occurred_at {event['occurred_at']} is {ahead_seconds:.0f}s ahead of the clock "
                f"(limit {settings.max_future_seconds:.0f}s, HOTLINE_MAX_FUTURE_SECONDS)",
                event["event_id"],
            )
    return Screened(
        {
            "event_id": derived_event_id(event["event_id"], SCREENED_KIND),
            "caused_by": event["event_id"],
            "type": event["type"],
            "order_id": event["order_id"],
            "occurred_at": format_utc(occurred_at),
            "schema": event["schema"],
            "data": _sanitize_data(event["data"], settings.pseudonym_key),
            "verdict": {"status": "accepted", "reasons": []},
        },
        occurred_at.timestamp(),
    )
