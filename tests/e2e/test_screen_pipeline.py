"""A running worker screens events from hotline.events.v1: valid ones reach
hotline.screened.v1 sanitised, malformed ones reach hotline.deadletter.v1 with their
reason, the worker keeps going, and /metrics counts every message."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
import uuid

import orjson
import pytest
from aiokafka.partitioner import murmur2
from kafka import KafkaProducer

from hotline.contract import topics
from hotline.config import Settings
from hotline.contract.schemas import topic_validator
from hotline.core.deadletters import redact_original
from hotline.core.ids import derived_event_id
from support.kafka import bootstrap, produce, wait_for_values


def _appeal(order_id: str, event_id: str) -> dict:
    return {
        "event_id": event_id,
        "type": "appeal.received",
        "order_id": order_id,
        "occurred_at": "2026-01-05T09:12:00+08:00",
        "schema": 1,
        "data": {
            "channel": "phone",
            "caller_id": "13812345678",
            "title": "夜间施工噪音",
            "text": "工地每晚施工到十二点，请联系我13812345678",
            "category": "noise",
            "urgency": "normal",
            "location": {"district": "天河区", "street": "石牌街道"},
        },
    }


def test_valid_appeal_is_screened_with_caller_pseudonymised_and_phone_redacted(worker):
    run = uuid.uuid4().hex[:8]
    appeal = _appeal(f"E2E-{run}", f"src-{run}-1")
    produce(topics.EVENTS.name, [(appeal["order_id"].encode(), orjson.dumps(appeal))])

    [screened] = wait_for_values(topics.SCREENED.name, lambda v: v["caused_by"] == appeal["event_id"], count=1)

    assert screened["event_id"] == derived_event_id(appeal["event_id"], "screened")
    assert screened["occurred_at"] == "2026-01-05T01:12:00Z"
    assert screened["data"]["text"] == "工地每晚施工到十二点，请联系我[phone]"
    assert screened["data"]["caller_id"].startswith("c_")
    assert b"13812345678" not in orjson.dumps(screened)
    assert topic_validator(topics.SCREENED.name).validate(screened) is None


MALFORMED = {
    "invalid_json": b'{"event_id": "broken", "type": "appeal.rece',
    "wrong_type": orjson.dumps({**_appeal("O", "x"), "order_id": 42}),
    "missing_field": orjson.dumps({k: v for k, v in _appeal("O", "x").items() if k != "occurred_at"}),
    "unknown_type": orjson.dumps({**_appeal("O", "x"), "type": "order.teleported"}),
}


@pytest.mark.parametrize("reason", sorted(MALFORMED))
def test_malformed_message_is_dead_lettered_with_its_reason_and_the_worker_goes_on(worker, reason):
    run = uuid.uuid4().hex[:8]
    poison = MALFORMED[reason].replace(b'"x"', f'"poison-{run}"'.encode()).replace(b'"broken"', f'"poison-{run}"'.encode())
    follower = _appeal(f"E2E-{run}", f"src-{run}-after")
    key = f"E2E-{run}".encode()  # same key: same partition, the valid event comes after the poison
    produce(topics.EVENTS.name, [(key, poison), (key, orjson.dumps(follower))])

    # the dead letter keeps the poison's bytes, its phone number and caller id redacted
    # with the worker's key (the development key: neither process sets one)
    redacted = redact_original(poison, Settings.from_env().pseudonym_key)
    assert (b"13812345678" in poison, b"13812345678" in redacted) == (reason != "invalid_json", False)
    [letter] = wait_for_values(topics.DEADLETTER.name, lambda v: base64.b64decode(v["value_base64"]) == redacted, count=1)
    assert letter["reason"] == reason
    assert letter["stage"] == "screen"
    assert letter["source"]["topic"] == topics.EVENTS.name
    assert letter["source"]["key_base64"] == base64.b64encode(key).decode()
    assert letter["error"]
    assert topic_validator(topics.DEADLETTER.name).validate(letter) is None
    wait_for_values(topics.SCREENED.name, lambda v: v["caused_by"] == follower["event_id"], count=1)
    assert worker.process.poll() is None


def _counter(samples, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_every_message_consumed_as_processed_or_dead_lettered(worker):
    before = worker.metrics()
    run = uuid.uuid4().hex[:8]
    good = [_appeal(f"M-{run}-{i}", f"src-{run}-{i}") for i in range(5)]
    bad = [b"not json at all", b"[]", orjson.dumps({**good[0], "event_id": f"bad-{run}", "type": "nope"})]
    produce(topics.EVENTS.name, [(e["order_id"].encode(), orjson.dumps(e)) for e in good] + [(None, b) for b in bad])

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        after = worker.metrics()
        consumed = _counter(after, "hotline_messages_consumed_total", topic=topics.EVENTS.name) - _counter(before, "hotline_messages_consumed_total", topic=topics.EVENTS.name)
        if consumed >= 8:
            break
        time.sleep(0.5)
    processed = _counter(after, "hotline_messages_processed_total", stage="screen") - _counter(before, "hotline_messages_processed_total", stage="screen")
    deadlettered = {
        reason: _counter(after, "hotline_messages_deadlettered_total", stage="screen", reason=reason)
        - _counter(before, "hotline_messages_deadlettered_total", stage="screen", reason=reason)
        for reason in ("invalid_json", "not_an_object", "unknown_type")
    }
    assert (consumed, processed) == (8, 5)
    assert deadlettered == {"invalid_json": 1, "not_an_object": 1, "unknown_type": 1}
    produced = _counter(after, "hotline_messages_produced_total", topic=topics.SCREENED.name) - _counter(before, "hotline_messages_produced_total", topic=topics.SCREENED.name)
    assert produced == 5


def _order_view(worker, order_id: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"{worker.url}/orders/{order_id}/", timeout=10) as response:
            return orjson.loads(response.read())
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _lifecycle(order_id: str, event_id: str, kind: str, occurred_at: str) -> dict:
    return {
        "event_id": event_id,
        "type": kind,
        "order_id": order_id,
        "occurred_at": occurred_at,
        "schema": 1,
        "data": {"office_id": "tianhe-urban-management"},
    }


def test_events_read_from_another_partition_than_their_orders_reach_the_order_fold_through_the_app_topic(worker):
    # given an order's dispatch and signing, produced to a partition Kafka's default
    # partitioner would not give their order id (as a producer partitioning otherwise does)
    run = uuid.uuid4().hex[:8]
    order_id = f"P-{run}"
    events = [
        _lifecycle(order_id, f"src-{run}-1", "order.dispatched", "2026-01-05T09:30:00+08:00"),
        _lifecycle(order_id, f"src-{run}-2", "order.signed", "2026-01-05T09:40:00+08:00"),
    ]
    home = (murmur2(order_id.encode()) & 0x7FFFFFFF) % topics.DEFAULT_PARTITIONS
    rekeyed = f"{worker.app_id}-screened-by-order"
    before = worker.metrics()
    producer = KafkaProducer(bootstrap_servers=bootstrap(), acks="all")
    try:
        for event in events:
            producer.send(topics.EVENTS.name, key=order_id.encode(), value=orjson.dumps(event), partition=(home + 1) % topics.DEFAULT_PARTITIONS)
        producer.flush(timeout=30)
    finally:
        producer.close()

    # then the order's fold, in its own partition, holds both
    deadline = time.monotonic() + 60
    view = None
    while time.monotonic() < deadline:
        view = _order_view(worker, order_id)
        if view is not None and view["order"]["status"] == "signed":
            break
        time.sleep(0.5)
    assert view is not None and view["order"]["status"] == "signed", view
    assert (view["order"]["dispatched_at"], view["order"]["signed_at"]) == ("2026-01-05T01:30:00Z", "2026-01-05T01:40:00Z")
    # and both went there through the app's screened-by-order topic, once each
    after = worker.metrics()
    assert _counter(after, "hotline_messages_produced_total", topic=rekeyed) - _counter(before, "hotline_messages_produced_total", topic=rekeyed) == 2
    assert _counter(after, "hotline_messages_consumed_total", topic=rekeyed) - _counter(before, "hotline_messages_consumed_total", topic=rekeyed) == 2
