"""The Faust application object and the topics it reads and writes.

Topics are declared with the partition counts of hotline.contract.topics (the broker
scripts create them the same way), with raw bytes in and out: decoding is the screen
stage's job, so a malformed message reaches our code instead of failing inside Faust.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable, Iterator

import faust

from hotline.config import Settings
from hotline.contract import codec, topics
from hotline.stream import consumer as project_consumer
from hotline.stream import bootstrap, key_routing, partitioner, restart_position, sensors, table_partitions, worker_logging, write_behind, write_order
from hotline.stream.raw_schema import RawBytes

settings = bootstrap.settings()
FlushRank = Callable[[str, Any], int]
# Before the app makes its producer: table writes follow the sends they record, commits the writes.
write_order.install()
# A partition the group never committed is read from its beginning after a restart.
restart_position.install()
# After a rebalance, entries of the partitions handed over leave the worker's memory.
table_partitions.install()


def _credentials(settings: Settings) -> faust.types.auth.CredentialsT | None:
    ssl_context = None
    if settings.security_protocol in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(cafile=settings.ssl_cafile)
    if settings.security_protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password,
            mechanism=settings.sasl_mechanism or "PLAIN",
            ssl_context=ssl_context,
        )
    if ssl_context is not None:
        return faust.SSLCredentials(ssl_context)
    return None


app = faust.App(
    settings.app_id,
    broker=settings.faust_broker,
    # Faust's aiokafka transport without its idle waits (hotline.stream.consumer).
    broker_consumer=project_consumer.broker_url(settings.bootstrap_servers),
    broker_credentials=_credentials(settings),
    store=settings.store,
    datadir=settings.data_dir,
    web_bind=settings.web_host,
    web_host=settings.web_host,
    web_port=settings.web_port,
    topic_partitions=settings.partitions,
    # Unset, `hotline worker` sets it from the cluster's size before Faust declares a topic.
    topic_replication_factor=settings.replication_factor or 1,
    producer_acks=-1,  # acks=all: a send counts once every in-sync copy has it
    # Every input event leads to several sends (derived events, stage-to-stage items,
    # changelog writes); lingering 10 ms lets them leave in batches instead of one
    # request each, which tripled throughput in `hotline bench` (docs/BENCHMARKS.md).
    producer_linger=0.010,
    producer_max_batch_size=256 * 1024,
    producer_threaded=False,  # write_order counts the buffer's own queue
    producer_partitioner=partitioner.KeptHashPartitioner(),  # Kafka's murmur2, recent keys kept
    consumer_auto_offset_reset="earliest",
    consumer_group_instance_id=settings.group_instance_id,
    # One worker's agents are restarted by Faust if they crash; a poisoned message is
    # dead-lettered by the agents themselves and never reaches this point.
    web_enabled=True,
    Worker=worker_logging.Worker,  # logs at the level asked for (faust lowers it to DEBUG)
    Router=key_routing.Router,  # routes views by a key's topic bytes (faust hashes its JSON)
    Monitor=sensors.MonitorWithoutMessageStats,  # messages are counted in Prometheus metrics
)
# Sensor hooks run per message only for the sensors that use them (hotline.stream.sensors).
sensors.install(app)
# Table writes reach the changelog once per changed key, when an offset commit starts.
app.sensors.add(write_behind.flush_before_commit)


@app.on_partitions_revoked.connect
async def flush_tables_before_handover(sender, revoked, **kwargs) -> None:
    # The partitions' next owner restores their tables from the changelog.
    write_behind.flush_before_commit.flush()
    if write_order.changelog.pending:
        await app.producer.flush()  # hands the records over and waits for their delivery


def changelog_topic_specs() -> tuple[topics.TopicSpec, ...]:
    """The changelog topics of the app's tables, as Faust would create them (compacted)."""
    return tuple(
        topics.TopicSpec(
            table.changelog_topic.get_topic_name(),
            key="table key",
            description=f"internal: changelog of table {name}",
            compacted=True,
            partitions=table.partitions or settings.partitions,
        )
        for name, table in app.tables.items()
    )


def raw_topic(spec: topics.TopicSpec) -> faust.TopicT:
    return app.topic(
        spec.name,
        schema=RawBytes(),
        partitions=spec.with_partitions(settings.partitions).partitions,
        compacting=spec.compacted,
    )


def raw_topics(*names: str) -> faust.TopicT:
    """Several topics read by one agent, raw bytes in."""
    return app.topic(*names, schema=RawBytes())


def internal_topic(suffix: str) -> faust.TopicT:
    """A stage-to-stage topic (see topics.INTERNAL_TOPIC_SUFFIXES)."""
    assert suffix in topics.INTERNAL_TOPIC_SUFFIXES, suffix
    return app.topic(
        f"{settings.app_id}-{suffix}",
        schema=RawBytes(),
        partitions=settings.partitions,
        internal=True,
    )


def write_behind_table(table: faust.TableT, flush_rank: FlushRank | None) -> write_behind.WriteBehindTable:
    wrapped = write_behind.WriteBehindTable(table, flush_rank)
    write_behind.flush_before_commit.tables.append(wrapped)
    return wrapped


def json_table(name: str, help: str, flush_rank: FlushRank | None = None) -> write_behind.WriteBehindTable:
    """A changelog-backed table of JSON-able dicts, partitioned like the topics, whose
    writes reach the changelog at the next commit (hotline.stream.write_behind)."""
    # No value_type: values are plain JSON (the app's default serializer), not Faust models.
    return write_behind_table(app.Table(name, default=None, key_type=str, partitions=settings.partitions, help=help), flush_rank)


class CompactJsonTable:
    """A changelog-backed table of JSON documents held in memory as their encoded bytes.

    For the tables with an entry per order, appeal, case or caller, which hold tens of
    thousands of entries: a decoded document costs Python two to three times its JSON
    (an order: ~10 KB as dicts, ~5 KB as bytes), and an entry is read once per event
    that touches it. The changelog carries the same JSON as `json_table`'s, so either
    can read the other's.
    """

    def __init__(self, name: str, help: str, flush_rank: FlushRank | None = None):
        self.table = write_behind_table(
            app.Table(
                name,
                default=None,
                key_type=str,
                value_type=bytes,  # raw bytes in the changelog: the JSON as encoded here
                partitions=settings.partitions,
                help=help,
            ),
            flush_rank,
        )

    def get(self, key: str) -> Any:
        encoded = self.table.get(key)
        return None if encoded is None else codec.decode(encoded)

    def __getitem__(self, key: str) -> Any:
        return codec.decode(self.table[key])

    def __setitem__(self, key: str, value: Any) -> None:
        # orjson's result keeps the capacity of its write buffer (4 KiB at the least, a
        # 100-byte caller history included); a copy holds only the bytes.
        self.table[key] = bytes(memoryview(codec.encode(value)))

    def pop(self, key: str, default: Any = None) -> Any:
        encoded = self.table.pop(key, None)
        return default if encoded is None else codec.decode(encoded)

    def items(self) -> Iterator[tuple[str, Any]]:
        for key, encoded in self.table.items():
            yield key, codec.decode(encoded)

    def __len__(self) -> int:
        return len(self.table)


events_topic = raw_topic(topics.EVENTS)
screened_topic = raw_topic(topics.SCREENED)
cases_topic = raw_topic(topics.CASES)
deadlines_topic = raw_topic(topics.DEADLINES)
escalations_topic = raw_topic(topics.ESCALATIONS)
pressure_topic = raw_topic(topics.PRESSURE)
alerts_topic = raw_topic(topics.ALERTS)
deadletter_topic = raw_topic(topics.DEADLETTER)

# Stage-to-stage topics: each re-keys messages so the next stage's state is co-partitioned.
office_facts_topic = internal_topic("office-facts")  # key: office_id
escalation_proposals_topic = internal_topic("escalation-proposals")  # key: receiving office_id
clock_ticks_topic = internal_topic("clock-ticks")  # wall-clock ticks for idle partitions (live mode)
appeals_by_caller_topic = internal_topic("appeals-by-caller")  # key: caller pseudonym (order_id without one)
appeals_by_place_topic = internal_topic("appeals-by-place")  # key: dedupe place key
# Screened events whose input partition is not their order's (input not partitioned by
# Kafka's default partitioner): key order_id. Empty when the input is partitioned by it.
screened_by_order_topic = internal_topic("screened-by-order")
