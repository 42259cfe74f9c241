"""The AsyncAPI 3.0 document of the public topics, built from the contract.

Consumes the topic table (`topics.ALL_TOPICS`, `topics.INPUT_TOPICS`), the schema files'
location and their valid examples; produces a dict, written to `docs/asyncapi.yaml` by
`hotline topics asyncapi`. Operations are seen from the processor: it receives the
input topics and sends every other public topic. Internal stage-to-stage topics are
not part of the document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from hotline.contract import topics
from hotline.contract.topics import TopicSpec

ASYNCAPI_VERSION = "3.0.0"
KAFKA_BINDING_VERSION = "0.5.0"
SERVER_ID = "kafka"
LOCAL_BROKER = "127.0.0.1:9092"

# (example name, payload) pairs per topic name.
Examples = Mapping[str, Sequence[tuple[str, Any]]]


def _topic_configuration(spec: TopicSpec) -> dict[str, Any]:
    configs = spec.kafka_configs()
    configuration: dict[str, Any] = {"cleanup.policy": [configs["cleanup.policy"]]}
    if "retention.ms" in configs:
        configuration["retention.ms"] = int(configs["retention.ms"])
    return configuration


def _message(spec: TopicSpec, schema_ref: str, examples: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    message: dict[str, Any] = {
        "name": spec.name,
        "title": spec.name,
        "summary": spec.description,
        "contentType": "application/json",
        "payload": {"$ref": schema_ref},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": f"message key: {spec.key}"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    if examples:
        message["examples"] = [{"name": name, "payload": payload} for name, payload in examples]
    return message


def _channel(spec: TopicSpec, schema_ref: str, examples: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    return {
        "address": spec.name,
        "description": spec.description,
        "servers": [{"$ref": f"#/servers/{SERVER_ID}"}],
        "messages": {spec.name: _message(spec, schema_ref, examples)},
        "bindings": {
            "kafka": {
                "topic": spec.name,
                "partitions": spec.partitions,
                "topicConfiguration": _topic_configuration(spec),
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }


def _operation(spec: TopicSpec, action: str) -> dict[str, Any]:
    verb = "reads" if action == "receive" else "writes"
    return {
        "action": action,
        "summary": f"the processor {verb} {spec.name}",
        "channel": {"$ref": f"#/channels/{spec.name}"},
        "messages": [{"$ref": f"#/channels/{spec.name}/messages/{spec.name}"}],
    }


def operation_action(spec: TopicSpec) -> str:
    return "receive" if spec in topics.INPUT_TOPICS else "send"


def build_document(version: str, schemas_ref_dir: str, examples: Examples) -> dict[str, Any]:
    """The AsyncAPI document; `schemas_ref_dir` is the schema folder relative to the
    document (e.g. `../schemas` for a document in docs/)."""
    specs = topics.ALL_TOPICS
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "hotline",
            "version": version,
            "description": (
                "Public Kafka topics of hotline, a stream processor for city service hotlines "
                "(12345 / 311): the input events and office registry it reads, and the screened "
                "events, case links, deadlines, escalations, pressure snapshots, alerts and dead "
                "letters it writes. Every message is JSON, keyed by a string."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            SERVER_ID: {
                "host": LOCAL_BROKER,
                "protocol": "kafka",
                "description": "the local development broker of `make kafka-up`",
            }
        },
        "channels": {
            spec.name: _channel(spec, f"{schemas_ref_dir}/{spec.name}.schema.json", examples.get(spec.name, ()))
            for spec in specs
        },
        "operations": {f"{operation_action(spec)}.{spec.name}": _operation(spec, operation_action(spec)) for spec in specs},
    }


def load_examples(schemas_dir: Path) -> dict[str, list[tuple[str, Any]]]:
    """The valid examples of every public topic, by file name, in name order."""
    return {
        spec.name: [
            (path.stem, json.loads(path.read_text(encoding="utf-8")))
            for path in sorted((schemas_dir / "examples" / spec.name / "valid").glob("*.json"))
        ]
        for spec in topics.ALL_TOPICS
    }
