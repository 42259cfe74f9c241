"""Every topic's JSON Schema is valid 2020-12 and agrees with its examples, and the
compiled validators name the reason a message is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import fastjsonschema
import jsonschema
import pytest

from hotline.contract import schemas, topics

SCHEMAS = schemas.schemas_dir()
EXAMPLES = sorted((SCHEMAS / "examples").glob("*/*/*.json"))


def _example_id(path: Path) -> str:
    return f"{path.parts[-3]}/{path.parts[-2]}/{path.stem}"


def test_every_topic_of_the_contract_has_a_schema_with_examples():
    for spec in topics.ALL_TOPICS:
        assert schemas.schema_path(spec.name).is_file(), spec.name
        assert any((SCHEMAS / "examples" / spec.name / "valid").glob("*.json")), spec.name
        assert any((SCHEMAS / "examples" / spec.name / "invalid").glob("*.json")), spec.name


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_schema_is_valid_draft_2020_12(path: Path):
    schema = json.loads(path.read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def _validators(topic: str):
    reference = jsonschema.Draft202012Validator(
        schemas.load_schema(topic), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    fast = schemas.event_validator(topic) if topic == topics.EVENTS.name else schemas.topic_validator(topic)
    return reference, fast


@pytest.mark.parametrize("path", EXAMPLES, ids=_example_id)
def test_example_is_judged_alike_by_reference_and_compiled_validators(path: Path):
    topic, kind = path.parts[-3], path.parts[-2]
    document = json.loads(path.read_text())
    reference, fast = _validators(topic)
    reference_errors = list(reference.iter_errors(document))
    violation = fast.validate(document)
    if kind == "valid":
        assert reference_errors == []
        assert violation is None
    else:
        assert reference_errors != []
        assert violation is not None


def _event(**changes):
    event = {
        "event_id": "e-1",
        "type": "order.dispatched",
        "order_id": "o-1",
        "occurred_at": "2026-01-05T09:00:00+08:00",
        "schema": 1,
        "data": {"office_id": "d01-s02"},
    }
    event.update(changes)
    return event


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (_event(type="order.teleported"), "unknown_type"),
        ({k: v for k, v in _event().items() if k != "order_id"}, "missing_field"),
        (_event(data={}), "missing_field"),
        (_event(data={"office_id": 7}), "wrong_type"),
        (_event(order_id=["o-1"]), "wrong_type"),
        (_event(colour="red"), "unexpected_field"),
        (_event(schema=2), "unsupported_schema_version"),
        (_event(occurred_at="yesterday"), "invalid_value"),
        (_event(type="order.extended", data={}), "invalid_value"),
    ],
)
def test_event_validator_names_the_reason(event, reason):
    violation = schemas.event_validator().validate(event)
    assert violation is not None
    assert violation.reason == reason


def test_event_validator_knows_every_type_of_the_contract():
    assert schemas.event_validator().event_types == frozenset(
        {
            "appeal.received", "appeal.answered", "order.dispatched", "order.signed", "order.returned",
            "order.transferred", "order.replied", "order.suspended", "order.resumed", "order.extended",
            "order.resolved", "order.rated", "order.reopened", "order.closed",
        }
    )


def test_every_event_type_carries_its_data_as_an_object():
    # The event validator checks a known type with that type's validator alone: the
    # envelope asks only that data be an object, which every type's data schema asks too.
    schema = schemas.load_schema("hotline.events.v1")
    assert schema["properties"]["data"] == {"type": "object"}
    for rule in schema["allOf"]:
        data = rule["then"]["properties"]["data"]
        assert schema["$defs"][data["$ref"].rsplit("/", 1)[-1]]["type"] == "object", rule["if"]


def _envelope_first(event):
    validator = schemas.event_validator()
    try:
        validator._envelope(event)
        validator._by_type[event["type"]](event)
    except fastjsonschema.JsonSchemaValueException as error:
        return schemas._violation(error)
    return None


EVENT_EXAMPLES = sorted((SCHEMAS / "examples" / "hotline.events.v1").glob("*/*.json"))


@pytest.mark.parametrize("event", [
    *(json.loads(path.read_text()) for path in EVENT_EXAMPLES),
    _event(),
    _event(type="order.teleported"),
    _event(type=["order.dispatched"]),
    _event(data={}),
    _event(data=[]),
    _event(data={"office_id": 7}),
    _event(colour="red", data={}),
    _event(schema=2, data={"office_id": 7}),
    {k: v for k, v in _event(data={}).items() if k != "order_id"},
], ids=lambda event: str(event.get("type")) if isinstance(event, dict) else "not-an-object")
def test_the_event_validator_judges_and_names_failures_as_the_envelope_first_order_does(event):
    assert schemas.event_validator().validate(event) == _envelope_first(event)
