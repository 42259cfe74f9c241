"""Every topic's JSON Schema is valid 2020-12 and agrees with its examples, and the
compiled validators name the reason a message is wrong."""

from __future__ import annotations

import json
from pathlib import Path

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
