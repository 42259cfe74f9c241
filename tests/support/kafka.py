"""Test helpers that talk to the real local broker named by HOTLINE_BROKER."""

from __future__ import annotations

import os
import time
from typing import Callable, Iterable

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from hotline.contract import codec


def bootstrap() -> str:
    broker = os.environ.get("HOTLINE_BROKER")
    if not broker:
        raise RuntimeError("HOTLINE_BROKER is not set: run the broker tests with `make test`")
    return broker


def produce(topic: str, messages: Iterable[tuple[bytes | None, bytes | None]], servers: str | None = None) -> None:
    producer = KafkaProducer(bootstrap_servers=servers or bootstrap(), acks="all", linger_ms=5)
    try:
        for key, value in messages:
            producer.send(topic, key=key, value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def end_offsets(topic: str, servers: str | None = None) -> dict[int, int]:
    consumer = KafkaConsumer(bootstrap_servers=servers or bootstrap())
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return {tp.partition: offset for tp, offset in consumer.end_offsets(partitions).items()}
    finally:
        consumer.close()


def read_all(topic: str, idle_timeout_ms: int = 1500, servers: str | None = None, timeout_seconds: float = 300.0) -> list:
    """Every message now on the topic (from the beginning up to its current end offsets),
    as kafka-python records, partition by partition. Reads to the end offsets rather than
    until the topic is quiet, so a slow broker cannot make it return early."""
    consumer = KafkaConsumer(
        bootstrap_servers=servers or bootstrap(),
        enable_auto_commit=False,
        group_id=None,
        fetch_max_wait_ms=min(idle_timeout_ms, 500),
    )
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: dict[int, list] = {tp.partition: [] for tp in partitions}
        deadline = time.monotonic() + timeout_seconds
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {topic} to its end offsets {end} in {timeout_seconds}s")
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records[tp.partition].extend(record for record in batch if record.offset < end[tp])
        return [record for partition in sorted(records) for record in records[partition]]
    finally:
        consumer.close()


def wait_for_values(
    topic: str,
    predicate: Callable[[dict], bool],
    count: int,
    timeout_seconds: float = 60.0,
    servers: str | None = None,
) -> list[dict]:
    """Decoded values on `topic` matching `predicate`, once at least `count` are there."""
    deadline = time.monotonic() + timeout_seconds
    matching: list[dict] = []
    while time.monotonic() < deadline:
        matching = [value for value in (codec.decode(r.value) for r in read_all(topic, servers=servers)) if predicate(value)]
        if len(matching) >= count:
            return matching
        time.sleep(0.5)
    raise AssertionError(f"expected {count} matching messages on {topic} within {timeout_seconds}s, found {len(matching)}")


def group_lag(group: str, topics: list[str], servers: str | None = None) -> int:
    """Messages on `topics` that consumer group `group` has not committed yet."""
    from kafka import KafkaAdminClient

    consumer = KafkaConsumer(bootstrap_servers=servers or bootstrap())
    admin = KafkaAdminClient(bootstrap_servers=servers or bootstrap())
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        end = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets(group).get(group, {})
        return sum(offset - (committed[tp].offset if tp in committed else 0) for tp, offset in end.items())
    finally:
        consumer.close()
        admin.close()


def wait_until_drained(group: str, topics: list[str], servers: str | None = None, timeout_seconds: float = 600.0) -> None:
    """Until the group has committed everything on `topics`, three checks in a row."""
    deadline = time.monotonic() + timeout_seconds
    quiet = 0
    lag = -1
    while quiet < 3:
        if time.monotonic() > deadline:
            raise AssertionError(f"group {group} still lags {lag} messages after {timeout_seconds}s")
        try:
            lag = group_lag(group, topics, servers)
        except KafkaError as error:  # the group coordinator of a new broker is still starting
            if not getattr(error, "retriable", False):
                raise
            lag = -1
        quiet = quiet + 1 if lag == 0 else 0
        time.sleep(1.0)
