"""Kafka clients for the command line (kafka-python): admin, producer, consumer.

Workers use Faust (aiokafka); the command-line tools are short synchronous programs, so
they use kafka-python with the same connection settings.
"""

from __future__ import annotations

import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

from hotline.config import Replication, Settings
from hotline.contract.topics import TopicSpec


def admin(settings: Settings) -> KafkaAdminClient:
    return KafkaAdminClient(client_id="hotline-cli", request_timeout_ms=30000, **settings.kafka_client_options())


def producer(settings: Settings, **overrides) -> KafkaProducer:
    options = dict(
        client_id="hotline-cli",
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
        compression_type=None,
        max_in_flight_requests_per_connection=5,
    )
    options.update(overrides)
    return KafkaProducer(**settings.kafka_client_options(), **options)


def consumer(settings: Settings, **overrides) -> KafkaConsumer:
    options = dict(client_id="hotline-cli", enable_auto_commit=False, group_id=None)
    options.update(overrides)
    return KafkaConsumer(**settings.kafka_client_options(), **options)


def replication(settings: Settings) -> Replication:
    """The deployment's replication (HOTLINE_REPLICATION_FACTOR, HOTLINE_MIN_INSYNC_REPLICAS),
    a setting left unset decided by the number of brokers the cluster reports now."""
    client = admin(settings)
    try:
        brokers = len(client.describe_cluster()["brokers"])
    finally:
        client.close()
    return settings.replication_for(brokers)


def replicated(specs: tuple[TopicSpec, ...], replication: Replication) -> tuple[TopicSpec, ...]:
    return tuple(spec.with_replication(replication.factor, replication.min_insync) for spec in specs)


def create_topics(settings: Settings, specs: tuple[TopicSpec, ...], wait_seconds: float = 0.0) -> list[tuple[str, str]]:
    """Create the topics that do not exist yet; return (name, 'created' | 'exists') pairs.
    With `wait_seconds`, also wait until the broker describes every one with all its partitions."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        outcome: list[tuple[str, str]] = []
        missing = []
        for spec in specs:
            if spec.name in existing:
                outcome.append((spec.name, "exists"))
            else:
                missing.append(NewTopic(spec.name, spec.partitions, spec.replication_factor, topic_configs=spec.kafka_configs()))
                outcome.append((spec.name, "created"))
        if missing:
            try:
                client.create_topics(missing)
            except TopicAlreadyExistsError:
                pass  # another process created it between the listing and the request
        if wait_seconds > 0:
            _wait_until_described(client, specs, wait_seconds)
        return outcome
    finally:
        client.close()


def partition_counts(settings: Settings, names: list[str]) -> dict[str, int]:
    """The partition count of each named topic the broker has (missing topics left out)."""
    client = admin(settings)
    try:
        existing = set(client.list_topics())
        wanted = [name for name in names if name in existing]
        if not wanted:
            return {}
        return {topic["name"]: len(topic["partitions"]) for topic in client.describe_topics(wanted) if topic["error_code"] == 0}
    finally:
        client.close()


def _wait_until_described(client: KafkaAdminClient, specs: tuple[TopicSpec, ...], wait_seconds: float) -> None:
    expected = {spec.name: spec.partitions for spec in specs}
    deadline = time.monotonic() + wait_seconds
    while True:
        described = {topic["name"]: len(topic["partitions"]) for topic in client.describe_topics(list(expected)) if topic["error_code"] == 0}
        missing = sorted(name for name, partitions in expected.items() if described.get(name, 0) < partitions)
        if not missing:
            return
        if time.monotonic() > deadline:
            raise KafkaTimeoutError(f"topics not described with all their partitions after {wait_seconds:.0f}s: {', '.join(missing)}")
        time.sleep(0.2)
