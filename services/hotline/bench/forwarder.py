"""The forward-only Faust baselines: one agent that copies each input message to a sink topic.

Consumes HOTLINE_BENCH_SOURCE (raw bytes, as the pipeline's screen agent reads them) and
produces the same key and value on HOTLINE_BENCH_SINK, with the pipeline's producer
settings (acks=-1, 10 ms linger). Run it as its own worker process:

    python -m hotline.bench.forwarder worker -l warning

HOTLINE_BENCH_FORWARD chooses the agent:

- `per-message` (default): `await topic.send` per message, as a stage sends.
- `batched`: `stream.take_events` of up to BATCH_SIZE messages (BATCH_WITHIN_SECONDS at the
  most), each handed to the producer without awaiting its delivery; the batch's deliveries
  are awaited before the batch is acknowledged.

HOTLINE_BENCH_CONSUMER chooses the Kafka transport, sensors and partitioner: `hotline`
(default, as the pipeline app has them: hotline.stream.consumer, short fetch waits and
deliveries without `wait_first`; hotline.stream.sensors, no per-message sensor hooks
that do nothing; hotline.stream.partitioner, recent keys' hashes kept) or `faust`
(Faust's own).

Environment: HOTLINE_BROKER, HOTLINE_BENCH_APP_ID, HOTLINE_BENCH_SOURCE, HOTLINE_BENCH_SINK,
HOTLINE_BENCH_FORWARD, HOTLINE_BENCH_CONSUMER, HOTLINE_WEB_PORT, HOTLINE_DATA_DIR.
"""

from __future__ import annotations

import asyncio
import logging
import os

import faust

from hotline.contract.topics import DEFAULT_PARTITIONS
from hotline.stream import consumer, partitioner, sensors, worker_logging

BATCH_SIZE = 1000
BATCH_WITHIN_SECONDS = 0.05

log = logging.getLogger(__name__)

_bootstrap = os.environ.get("HOTLINE_BROKER", "127.0.0.1:9092")
_forward_mode = os.environ.get("HOTLINE_BENCH_FORWARD", "per-message")
_consumer_choice = os.environ.get("HOTLINE_BENCH_CONSUMER", "hotline")
if _forward_mode not in ("per-message", "batched"):
    raise SystemExit(f"HOTLINE_BENCH_FORWARD={_forward_mode!r}: expected per-message or batched")
if _consumer_choice not in ("hotline", "faust"):
    raise SystemExit(f"HOTLINE_BENCH_CONSUMER={_consumer_choice!r}: expected hotline or faust")

app = faust.App(
    os.environ.get("HOTLINE_BENCH_APP_ID", "hotline-bench-forward"),
    broker="kafka://" + _bootstrap,
    broker_consumer=consumer.broker_url(_bootstrap) if _consumer_choice == "hotline" else None,
    store="memory://",
    datadir=os.environ.get("HOTLINE_DATA_DIR", "/tmp/hotline-bench-forward"),
    web_bind="127.0.0.1",
    web_host="127.0.0.1",
    web_port=int(os.environ.get("HOTLINE_WEB_PORT", "6067")),
    topic_partitions=DEFAULT_PARTITIONS,
    topic_replication_factor=1,
    producer_acks=-1,
    producer_linger=0.010,
    producer_max_batch_size=256 * 1024,
    consumer_auto_offset_reset="earliest",
    Worker=worker_logging.Worker,  # the pipeline's worker class: the same logging cost
    Monitor=sensors.MonitorWithoutMessageStats if _consumer_choice == "hotline" else None,
    producer_partitioner=partitioner.KeptHashPartitioner() if _consumer_choice == "hotline" else None,
)
if _consumer_choice == "hotline":
    sensors.install(app)


def _raw_topic(name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=DEFAULT_PARTITIONS)


source_topic = _raw_topic(os.environ.get("HOTLINE_BENCH_SOURCE", "hotline.events.v1"))
sink_topic = _raw_topic(os.environ.get("HOTLINE_BENCH_SINK", "hotline-bench-forwarded"))


async def forward_per_message(stream):
    async for event in stream.events():
        await sink_topic.send(key=event.message.key, value=event.message.value)


async def forward_batched(stream):
    await sink_topic.maybe_declare()  # topic.send would, on its first message
    sink = sink_topic.get_topic_name()
    # take_events acknowledges the whole batch when its body raises, so nothing in the
    # body may: a message that cannot be handed over or delivered is logged and counted.
    async for events in stream.take_events(BATCH_SIZE, within=BATCH_WITHIN_SECONDS):
        handed_over, deliveries = [], []
        for event in events:
            try:
                deliveries.append(await app.producer.send(sink, event.message.key, event.message.value, None, None, None))
                handed_over.append(event)
            except Exception as error:
                _log_lost(event, error)
        for event, outcome in zip(handed_over, await asyncio.gather(*deliveries, return_exceptions=True)):
            if isinstance(outcome, Exception):
                _log_lost(event, outcome)


def _log_lost(event, error: Exception) -> None:
    message = event.message
    log.error("not forwarded: %s[%d]@%d: %r", message.topic, message.partition, message.offset, error)


app.agent(source_topic, name="forward")(forward_batched if _forward_mode == "batched" else forward_per_message)


if __name__ == "__main__":
    app.main()
