"""The order hotline.stream.write_order gives Faust's producer buffer: a real Faust
ProducerBuffer, fed table writes whose hand-over to Kafka is simulated (slower than
Faust's 0.1 s patience, or instant), and sends whose acknowledgements the test controls."""

import asyncio
from types import SimpleNamespace

from faust.transport.producer import ProducerBuffer

from hotline.stream import write_order

SEND_SECONDS = 0.25


def _write(published: list, name, seconds: float = 0.0):
    async def publish_message(fut, wait=False):
        await asyncio.sleep(seconds)
        published.append(name)

    return SimpleNamespace(message=SimpleNamespace(channel=SimpleNamespace(publish_message=publish_message)))


async def _started_buffer() -> ProducerBuffer:
    write_order.install()
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))
    await buffer.start()
    return buffer


async def _flush_after_queueing(count: int, flush) -> tuple[list[int], list[int]]:
    buffer = await _started_buffer()
    published: list[int] = []
    try:
        for number in range(count):
            buffer.put(_write(published, number, SEND_SECONDS))
        await flush(buffer)
        at_flush_end = list(published)
        while len(published) < count:
            await asyncio.sleep(0.05)
        return at_flush_end, published
    finally:
        await buffer.stop()


def test_the_flush_returns_once_everything_queued_before_it_was_handed_to_the_producer():
    at_flush_end, published = asyncio.run(_flush_after_queueing(3, lambda buffer: buffer.flush()))
    assert (at_flush_end, published) == ([0, 1, 2], [0, 1, 2])


def test_faust_s_own_flush_gives_up_while_messages_are_still_queued():
    # The defect the patch removes: what a commit right after this flush would not cover.
    at_flush_end, published = asyncio.run(_flush_after_queueing(3, write_order._original_flush))
    assert (len(at_flush_end) < 3, published) == (True, [0, 1, 2])


async def _writes_around_sends() -> list[tuple[str, list]]:
    """Two sends, a write, a third send, a second write; the broker acknowledges the sends
    out of order. Returns what had been handed over after each acknowledgement."""
    buffer = await _started_buffer()
    published: list = []
    loop = asyncio.get_running_loop()
    first, second, third = loop.create_future(), loop.create_future(), loop.create_future()
    seen = []

    async def settle(name: str, future: asyncio.Future, failed: bool = False) -> None:
        future.set_exception(ConnectionError("broker gone")) if failed else future.set_result(None)
        await asyncio.sleep(0.05)
        seen.append((name, list(published)))

    try:
        write_order.sends.track(first)
        write_order.sends.track(second)
        buffer.put(_write(published, "write after two sends"))
        write_order.sends.track(third)
        buffer.put(_write(published, "write after three sends"))
        await asyncio.sleep(0.05)
        seen.append(("nothing acknowledged", list(published)))
        await settle("second acknowledged", second)
        await settle("third acknowledged", third)
        await settle("first failed", first, failed=True)
        return seen
    finally:
        await buffer.stop()


def test_a_table_write_leaves_the_buffer_only_after_the_sends_issued_before_it_settled():
    assert asyncio.run(_writes_around_sends()) == [
        ("nothing acknowledged", []),
        ("second acknowledged", []),
        ("third acknowledged", []),
        # A failed send settles too: its error is the producer's to report.
        ("first failed", ["write after two sends", "write after three sends"]),
    ]
