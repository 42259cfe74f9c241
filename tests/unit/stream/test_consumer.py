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


class Delivery:
    """A stand-in for Faust's delivery to the streams: records how far it got."""

    def __init__(self, wait_for: asyncio.Future | None = None):
        self.wait_for = wait_for
        self.steps = []

    async def deliver(self, message):
        self.steps.append(("started", message))
        try:
            if self.wait_for is not None:
                self.steps.append(("got", await self.wait_for))
            self.steps.append(("delivered", message))
            return message
        except asyncio.CancelledError:
            self.steps.append(("abandoned", message))
            raise


def test_a_delivery_that_does_not_wait_is_done_in_the_callers_task():
    delivery = Delivery()
    assert consumer.run_until_it_waits(delivery.deliver("m1")) is None
    assert delivery.steps == [("started", "m1"), ("delivered", "m1")]


def test_a_delivery_that_raises_before_it_waits_raises_to_the_caller():
    async def failing():
        raise ValueError("bad message")

    try:
        consumer.run_until_it_waits(failing())
    except ValueError as error:
        assert str(error) == "bad message"
    else:
        raise AssertionError("the error was swallowed")


def test_a_delivery_that_waits_goes_on_where_it_stopped_once_awaited():
    async def run():
        ready = asyncio.get_running_loop().create_future()
        delivery = Delivery(ready)
        rest = consumer.run_until_it_waits(delivery.deliver("m2"))
        steps_before = list(delivery.steps)
        asyncio.get_running_loop().call_soon(ready.set_result, "room in the buffer")
        result = await rest
        return steps_before, delivery.steps, result

    assert asyncio.run(run()) == (
        [("started", "m2")],
        [("started", "m2"), ("got", "room in the buffer"), ("delivered", "m2")],
        "m2",
    )


def test_a_waiting_delivery_abandoned_by_a_rebalance_is_cancelled_where_it_waits():
    async def run():
        never = asyncio.get_running_loop().create_future()
        delivery = Delivery(never)
        rest = asyncio.ensure_future(consumer.run_until_it_waits(delivery.deliver("m3")))
        suspended = asyncio.ensure_future(asyncio.sleep(0.01))
        done, pending = await asyncio.wait([rest, suspended], return_when=asyncio.FIRST_COMPLETED)
        rest.cancel()
        await asyncio.gather(rest, return_exceptions=True)
        return done == {suspended}, rest.cancelled(), delivery.steps

    assert asyncio.run(run()) == (True, True, [("started", "m3"), ("abandoned", "m3")])
