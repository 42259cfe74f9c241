"""The command-line tools against the real local broker: topics, offices, replay, tail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from hotline.contract import codec, topics
from support.kafka import bootstrap, read_all

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([HOTLINE, *args], input=stdin, capture_output=True, timeout=120)


def test_topics_exist_with_the_partitions_and_cleanup_policy_of_the_contract():
    admin = KafkaAdminClient(bootstrap_servers=bootstrap())
    try:
        described = {t["name"]: t for t in admin.describe_topics([spec.name for spec in topics.ALL_TOPICS])}
        resources = [ConfigResource(ConfigResourceType.TOPIC, spec.name) for spec in topics.ALL_TOPICS]
        configs = admin.describe_configs(resources)["topic"]
    finally:
        admin.close()
    for spec in topics.ALL_TOPICS:
        assert len(described[spec.name]["partitions"]) == spec.partitions, spec.name
        for key, value in spec.kafka_configs().items():
            assert configs[spec.name][key]["value"] == value, (spec.name, key)


def test_creating_topics_again_leaves_them_as_they_are():
    result = run("topics", "create")
    assert result.returncode == 0, result.stderr
    expected = len(topics.ALL_TOPICS) + len(topics.internal_topics("hotline"))
    assert result.stdout.decode().count(" exists ") == expected


def test_offices_load_validates_and_puts_each_office_on_the_compacted_topic(tmp_path):
    suffix = uuid.uuid4().hex[:8]
    offices = [
        {"office_id": f"t-{suffix}-d01", "name": "天河区", "level": "district", "parent_id": "city", "daily_capacity": 300},
        {"office_id": f"t-{suffix}-s01", "name": "石牌街道", "level": "street", "parent_id": f"t-{suffix}-d01", "daily_capacity": 40},
    ]
    registry = tmp_path / "offices.jsonl"
    registry.write_bytes(b"\n".join(codec.encode(o) for o in offices) + b"\n")
    result = run("offices", "load", str(registry))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().strip() == "loaded 2 offices onto hotline.offices.v1"
    on_topic = {r.key.decode(): codec.decode(r.value) for r in read_all(topics.OFFICES.name) if r.key.decode().startswith(f"t-{suffix}")}
    assert on_topic == {o["office_id"]: o for o in offices}


def test_offices_load_refuses_a_bad_registry_naming_line_and_field(tmp_path):
    registry = tmp_path / "offices.jsonl"
    registry.write_text(
        json.dumps({"office_id": "ok", "name": "x", "level": "street", "parent_id": None, "daily_capacity": 1}) + "\n"
        + json.dumps({"office_id": "bad", "name": "x", "level": "street", "parent_id": None, "daily_capacity": "many"}) + "\n"
    )
    result = run("offices", "load", str(registry))
    assert result.returncode == 1
    assert f"{registry}:2: daily_capacity must be integer (wrong_type)" in result.stderr.decode()


def test_replay_keys_events_by_order_id_and_tail_prints_them_back(tmp_path):
    order_id = f"IT-{uuid.uuid4().hex[:8]}"
    events = [
        {"event_id": f"{order_id}:{i}", "type": "order.signed", "order_id": order_id, "occurred_at": "2026-01-05T09:00:00+08:00", "schema": 1, "data": {"office_id": "d01-s02"}}
        for i in range(3)
    ]
    result = run("replay", "--quiet", "-", stdin=b"".join(codec.encode(e) + b"\n" for e in events))
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("replayed 3 events onto hotline.events.v1")
    mine = [r for r in read_all(topics.EVENTS.name) if r.key == order_id.encode()]
    assert [codec.decode(r.value) for r in mine] == events
    assert len({r.partition for r in mine}) == 1  # one order, one partition: its events stay in order

    tail = run("tail", topics.EVENTS.name, "--from-beginning", "--timeout-ms", "3000", "--with-metadata")
    assert tail.returncode == 0, tail.stderr
    printed = [json.loads(line) for line in tail.stdout.decode().splitlines()]
    assert [p["value"] for p in printed if p["key"] == order_id] == events


def test_tools_fail_clearly_when_no_broker_answers():
    env = dict(os.environ, HOTLINE_BROKER="127.0.0.1:1")
    result = subprocess.run([HOTLINE, "topics", "create"], env=env, capture_output=True, timeout=120)
    assert result.returncode != 0
    assert b"NoBrokersAvailable" in result.stderr or b"KafkaConnectionError" in result.stderr or b"Error" in result.stderr
