"""The forward-only Faust baseline: one agent that copies each input message to a sink topic.

Consumes HOTLINE_BENCH_SOURCE (raw bytes, as the pipeline's screen agent reads them) and
produces the same key and value on HOTLINE_BENCH_SINK, with the pipeline's producer
settings (acks=-1, 10 ms linger, `await topic.send` per message). Run it as its own worker process:

    python -m hotline.bench.forwarder worker -l warning

Environment: HOTLINE_BROKER, HOTLINE_BENCH_APP_ID, HOTLINE_BENCH_SOURCE, HOTLINE_BENCH_SINK,
HOTLINE_WEB_PORT, HOTLINE_DATA_DIR.
"""

from __future__ import annotations

import os

import faust

from hotline.contract.topics import DEFAULT_PARTITIONS
from hotline.stream import worker_logging

app = faust.App(
    os.environ.get("HOTLINE_BENCH_APP_ID", "hotline-bench-forward"),
    broker="kafka://" + os.environ.get("HOTLINE_BROKER", "127.0.0.1:9092"),
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
)


def _raw_topic(name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw", partitions=DEFAULT_PARTITIONS)


source_topic = _raw_topic(os.environ.get("HOTLINE_BENCH_SOURCE", "hotline.events.v1"))
sink_topic = _raw_topic(os.environ.get("HOTLINE_BENCH_SINK", "hotline-bench-forwarded"))


@app.agent(source_topic, name="forward")
async def forward(stream):
    async for event in stream.events():
        await sink_topic.send(key=event.message.key, value=event.message.value)


if __name__ == "__main__":
    app.main()
