"""Broker-side helpers of the benchmark (kafka-python): topics, offsets, group lag, producing.

Consumes a bootstrap address; produces topic partitions' end offsets, a consumer group's
committed offsets and lag, pre-committed start positions for fresh groups, and the
pre-produced input events (keyed by order_id, like `hotline replay`), and how many
messages every topic holds (what one input event costs in messages).
"""

from __future__ import annotations

import time
from typing import Callable, Iterable, Sequence

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from hotline.contract import codec
from hotline.contract.topics import DEFAULT_PARTITIONS


def create_topics(bootstrap: str, names: Iterable[str], partitions: int = DEFAULT_PARTITIONS) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="hotline-bench")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        if missing:
            try:
                admin.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # created by someone else between the listing and the request
    finally:
        admin.close()


def commit_offsets(bootstrap: str, group: str, offsets: dict[TopicPartition, int], timeout_seconds: float = 60.0) -> None:
    """Set a fresh (empty) group's committed positions, so a new app starts exactly there
    instead of at the beginning of topics other runs have written to."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="hotline-bench")
    deadline = time.monotonic() + timeout_seconds
    try:
        while True:
            try:
                outcome = admin.alter_group_offsets(group, {tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})
                break
            except KafkaError as error:  # a new broker's group coordinator is still loading
                if not getattr(error, "retriable", False) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        admin.close()
    failed = {tp: error for tp, error in outcome.items() if error.__name__ != "NoError"}
    if failed:
        raise RuntimeError(f"could not set the start offsets of group {group}: {failed}")


class Probe:
    """Long-lived clients that read end offsets and group offsets many times a second."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="hotline-bench-probe")
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="hotline-bench-probe")

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()

    def partitions(self, topic: str) -> list[TopicPartition]:
        deadline = time.monotonic() + 30
        while True:
            found = self._consumer.partitions_for_topic(topic)
            if found:
                return [TopicPartition(topic, p) for p in sorted(found)]
            if time.monotonic() > deadline:
                raise RuntimeError(f"topic {topic} has no partitions on {self.bootstrap}")
            self._consumer.topics()  # refresh metadata
            time.sleep(0.2)

    def end_offsets(self, topics: Sequence[str]) -> dict[TopicPartition, int]:
        partitions = [tp for topic in topics for tp in self.partitions(topic)]
        return self._consumer.end_offsets(partitions)

    def end_total(self, topics: Sequence[str]) -> int:
        return sum(self.end_offsets(topics).values())

    def end_totals_by_topic(self) -> dict[str, int]:
        """Every topic's end offsets summed over its partitions: how many messages it has
        ever been written (the broker's own "__" topics left out)."""
        names = sorted(name for name in self._consumer.topics() if not name.startswith("__"))
        totals = dict.fromkeys(names, 0)
        for tp, offset in self.end_offsets(names).items():
            totals[tp.topic] += offset
        return totals

    def committed(self, group: str) -> dict[TopicPartition, int]:
        try:
            offsets = self._admin.list_group_offsets(group).get(group, {})
        except KafkaError as error:  # the coordinator of a new group is still loading
            if getattr(error, "retriable", False):
                return {}
            raise
        return {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}

    def lag(self, group: str, topics: Sequence[str] | None = None) -> int:
        """Messages the group has not committed: on `topics`, or on every partition the
        group has committed offsets for (all stages of a pipeline)."""
        committed = self.committed(group)
        if topics is None:
            partitions = list(committed)
        else:
            partitions = [tp for topic in topics for tp in self.partitions(topic)]
        if not partitions:
            return -1
        try:
            end = self._consumer.end_offsets(partitions)
        except KeyError:  # a topic the app just created is not in this client's metadata yet
            self._consumer.topics()
            return -1
        return sum(max(0, offset - committed.get(tp, 0)) for tp, offset in end.items())


def produce_events(
    bootstrap: str,
    topic: str,
    events: Sequence[dict],
    on_progress: Callable[[int], None] | None = None,
) -> float:
    """Send the events keyed by order_id as fast as possible (acks=all, like `hotline
    replay`); return the seconds until the broker acknowledged them all."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, client_id="hotline-bench", acks="all", linger_ms=20, batch_size=256 * 1024
    )
    failures: list[Exception] = []
    started = time.monotonic()
    try:
        for number, event in enumerate(events, start=1):
            producer.send(topic, key=event["order_id"].encode(), value=codec.encode(event)).add_errback(failures.append)
            if on_progress is not None and number % 2000 == 0:
                on_progress(number)
        producer.flush(timeout=120)
    finally:
        producer.close()
    if failures:
        raise RuntimeError(f"the broker rejected {len(failures)} of {len(events)} events; first: {failures[0]}")
    if on_progress is not None:
        on_progress(len(events))
    return time.monotonic() - started
