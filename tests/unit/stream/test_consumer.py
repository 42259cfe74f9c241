"""hotline.stream.consumer: the app's transport asks the broker to hold a fetch at most
`fetch_wait_seconds`, and a `getmany` waits no longer than that for records, nor after
flow control dropped every partition. The consumers are Faust's, built by an app that
never connects; only the fetch underneath is a recorder."""

import asyncio
import time

import faust
from faust.transport import by_url
from faust.types import TP

from hotline.stream import consumer

EVENTS = TP("hotline.events.v1", 0)
TICKS = TP("hotline-clock-ticks", 0)


def _app() -> faust.App:
    return faust.App("consumer-test", broker="kafka://127.0.0.1:1", broker_consumer=consumer.broker_url("127.0.0.1:1"), store="memory://")


def test_broker_url_names_every_server_with_the_transport_scheme():
    assert consumer.broker_url("kafka-a:9092, kafka-b:9093") == "hotline-kafka://kafka-a:9092;hotline-kafka://kafka-b:9093"


def test_the_scheme_selects_the_transport_and_its_consumer():
    app = _app()
    assert by_url("hotline-kafka://127.0.0.1:1") is consumer.Transport
    assert type(app.transport) is consumer.Transport
    assert type(app.consumer) is consumer.Consumer
    assert type(app.consumer._thread) is consumer.ConsumerThread


def test_the_kafka_consumer_is_created_with_the_short_fetch_wait():
    async def created():
        app = _app()
        kafka_consumer = app.consumer._thread._create_worker_consumer(app.transport)
        return kafka_consumer._fetch_max_wait_ms, kafka_consumer._group_id

    assert asyncio.run(created()) == (50, "consumer-test")


def test_a_getmany_waits_faust_timeout_at_most_the_fetch_wait():
    assert [consumer.fetch_wait(timeout, 0.05) for timeout in (1.0, 0.05, 0.01, 0.0)] == [0.05, 0.05, 0.01, 0.0]


def _waited(timeout: float, active: set, drop_after_seconds: float | None = None, buffered: set = frozenset()):
    """What `_wait_next_records(timeout)` returns, the timeouts the fetch below it was
    given, and how long it took."""

    async def run():
        app = _app()
        faust_consumer = app.consumer
        faust_consumer.fetch_wait_seconds = 0.2
        faust_consumer._active_partitions = set(active)
        faust_consumer._buffered_partitions = set(buffered)
        fetches = []

        async def fetch(active_partitions, timeout):
            fetches.append(timeout)
            return {EVENTS: ["record"]}

        faust_consumer._getmany = fetch
        if drop_after_seconds is not None:
            asyncio.get_running_loop().call_later(drop_after_seconds, faust_consumer.on_buffer_drop, EVENTS)
        started = time.monotonic()
        result = await faust_consumer._wait_next_records(timeout)
        return result, fetches, time.monotonic() - started

    return asyncio.run(run())


def test_with_a_partition_to_read_the_fetch_is_given_the_short_wait():
    (records, active), fetches, _ = _waited(1.0, {EVENTS, TICKS})
    assert (records, active, fetches) == ({EVENTS: ["record"]}, {EVENTS, TICKS}, [0.2])


def test_with_every_buffer_full_nothing_is_fetched_and_the_wait_is_the_short_one():
    (records, active), fetches, elapsed_seconds = _waited(1.0, set())
    assert (records, active, fetches) == ({}, set(), [])
    assert 0.15 < elapsed_seconds < 0.9  # Faust sleeps 1 s here


def test_with_every_buffer_full_the_wait_ends_when_a_buffer_drains():
    (records, active), fetches, elapsed_seconds = _waited(1.0, set(), drop_after_seconds=0.01, buffered={EVENTS})
    assert (records, active, fetches) == ({}, {EVENTS}, [])
    assert elapsed_seconds < 0.15
