"""The checked-in AsyncAPI document is current, covers exactly the public topics, points
at existing schema files and, where Node is installed, passes the reference parser."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from hotline.cli.kafka_commands import render_asyncapi, topics_group
from hotline.contract import topics

REPO = Path(__file__).resolve().parents[3]
DOCUMENT = REPO / "docs" / "asyncapi.yaml"
VALIDATOR = REPO / "tools" / "asyncapi-validate"
REGENERATE = "hotline topics asyncapi --out docs/asyncapi.yaml"


def _document() -> dict:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def test_checked_in_document_is_what_the_command_writes_now():
    assert DOCUMENT.read_text(encoding="utf-8") == render_asyncapi(DOCUMENT), (
        f"{DOCUMENT.relative_to(REPO)} is stale: regenerate it with `{REGENERATE}`"
    )


def test_command_writes_the_document_next_to_its_schema_refs(tmp_path: Path):
    out = tmp_path / "asyncapi.yaml"

    result = CliRunner().invoke(topics_group, ["asyncapi", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == render_asyncapi(out)


def test_every_public_topic_has_a_channel_and_every_channel_is_a_public_topic():
    document = _document()

    assert sorted(channel["address"] for channel in document["channels"].values()) == sorted(
        spec.name for spec in topics.ALL_TOPICS
    )
    assert sorted(document["channels"]) == sorted(spec.name for spec in topics.ALL_TOPICS)


def test_processor_receives_the_input_topics_and_sends_the_others():
    operations = _document()["operations"]

    actions = {operation["channel"]["$ref"].removeprefix("#/channels/"): operation["action"] for operation in operations.values()}

    assert actions == {
        "hotline.events.v1": "receive",
        "hotline.offices.v1": "receive",
        "hotline.screened.v1": "send",
        "hotline.cases.v1": "send",
        "hotline.deadlines.v1": "send",
        "hotline.escalations.v1": "send",
        "hotline.pressure.v1": "send",
        "hotline.alerts.v1": "send",
        "hotline.office-rates.v1": "send",
        "hotline.deadletter.v1": "send",
    }


def test_every_message_payload_refers_to_the_topics_schema_file():
    for name, channel in _document()["channels"].items():
        for message in channel["messages"].values():
            reference = message["payload"]["$ref"]
            target = (DOCUMENT.parent / reference).resolve()
            assert target == (REPO / "schemas" / f"{name}.schema.json").resolve(), reference
            assert target.is_file(), reference


def test_every_message_carries_the_topics_valid_examples():
    for name, channel in _document()["channels"].items():
        (message,) = channel["messages"].values()
        example_files = sorted((REPO / "schemas" / "examples" / name / "valid").glob("*.json"))
        assert [example["name"] for example in message["examples"]] == [path.stem for path in example_files]


@pytest.mark.skipif(
    shutil.which("node") is None or not (VALIDATOR / "node_modules" / "@asyncapi" / "parser").is_dir(),
    reason="the AsyncAPI parser is not installed (`make install` installs it with npm)",
)
def test_document_passes_the_asyncapi_parser():
    result = subprocess.run(
        ["node", "validate.mjs", str(DOCUMENT)], cwd=VALIDATOR, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(f"valid AsyncAPI 3.0.0, {len(topics.ALL_TOPICS)} channels")
