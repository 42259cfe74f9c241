"""JSON Schemas (2020-12) of every topic, compiled once into fast validators.

The schema files live in `schemas/` at the root of the repository (or in the folder
named by HOTLINE_SCHEMAS_DIR). fastjsonschema compiles them to Python code at start-up;
the tests also check each file against the 2020-12 meta-schema with `jsonschema`.

A failed validation is returned as a `Violation` with a stable `reason` code (the
`reason` label of the dead-letter counter) and a human-readable `detail`.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Callable

import fastjsonschema

Validator = Callable[[Any], Any]


@dataclass(frozen=True)
class Violation:
    reason: str
    detail: str


def schemas_dir() -> Path:
    configured = os.environ.get("HOTLINE_SCHEMAS_DIR")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parents[3] / "schemas"


def schema_path(topic: str) -> Path:
    return schemas_dir() / f"{topic}.schema.json"


@cache
def load_schema(topic: str) -> dict[str, Any]:
    path = schema_path(topic)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no JSON Schema for topic {topic!r}: {path} does not exist") from None


# fastjsonschema's failing rule -> our reason code. Anything else is an invalid value.
_RULE_REASONS = {
    "required": "missing_field",
    "type": "wrong_type",
    "additionalProperties": "unexpected_field",
}


def _violation(error: fastjsonschema.JsonSchemaValueException) -> Violation:
    path = list(error.path[1:]) if error.path else []
    if path == ["type"] and error.rule == "enum":
        reason = "unknown_type"
    elif path == ["schema"]:
        reason = "unsupported_schema_version"
    else:
        reason = _RULE_REASONS.get(error.rule or "", "invalid_value")
    return Violation(reason, error.message.replace("data.", "", 1) if error.message.startswith("data.") else error.message)


@dataclass(frozen=True)
class TopicValidator:
    """Validates a decoded message of one topic; `validate` returns None when valid."""

    topic: str
    _validate: Validator

    def validate(self, message: Any) -> Violation | None:
        try:
            self._validate(message)
        except fastjsonschema.JsonSchemaValueException as error:
            return _violation(error)
        return None


class EventValidator:
    """Validates input events: the envelope first, then the data of the event's type.

    Each type gets its own compiled validator (envelope + that type's data schema), so
    validating one event runs one type's checks rather than the schema's whole if/then
    chain.
    """

    def __init__(self, schema: dict[str, Any]):
        envelope = {key: value for key, value in schema.items() if key != "allOf"}
        self._envelope = fastjsonschema.compile(envelope)
        self._by_type: dict[str, Validator] = {}
        for rule in schema.get("allOf", []):
            event_type = rule["if"]["properties"]["type"]["const"]
            typed = copy.deepcopy(envelope)
            typed["properties"]["data"] = rule["then"]["properties"]["data"]
            self._by_type[event_type] = fastjsonschema.compile(typed)

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._by_type)

    def validate(self, event: Any) -> Violation | None:
        event_type = event.get("type") if isinstance(event, dict) else None
        typed = self._by_type.get(event_type) if isinstance(event_type, str) else None
        if typed is not None:
            # A type's validator is the envelope with a narrower data object (every type's
            # data is an object), so an event it accepts passes the envelope too; one it
            # refuses goes through the envelope first, which names the failure.
            try:
                typed(event)
                return None
            except fastjsonschema.JsonSchemaValueException:
                pass
        try:
            self._envelope(event)
            self._by_type[event["type"]](event)
        except fastjsonschema.JsonSchemaValueException as error:
            return _violation(error)
        return None


@cache
def event_validator(topic: str = "hotline.events.v1") -> EventValidator:
    return EventValidator(load_schema(topic))


@cache
def topic_validator(topic: str) -> TopicValidator:
    return TopicValidator(topic, fastjsonschema.compile(load_schema(topic)))
