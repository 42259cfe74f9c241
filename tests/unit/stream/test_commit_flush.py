"""The producer buffer's flush, as patched by hotline.stream.commit_flush: a real Faust
ProducerBuffer whose sends are slower than Faust's 0.1 s patience."""

import asyncio
from types import SimpleNamespace

from faust.transport.producer import ProducerBuffer

from hotline.stream import commit_flush

SEND_SECONDS = 0.25


def _slow_message(published: list[int], number: int):
    async def publish_message(fut, wait=False):
        await asyncio.sleep(SEND_SECONDS)
        published.append(number)

    return SimpleNamespace(message=SimpleNamespace(channel=SimpleNamespace(publish_message=publish_message)))


async def _flush_after_queueing(count: int, flush) -> tuple[list[int], list[int]]:
    commit_flush.install()
    buffer = ProducerBuffer()
    buffer.app = SimpleNamespace(conf=SimpleNamespace(producer_threaded=False))
    await buffer.start()
    published: list[int] = []
    try:
        for number in range(count):
            buffer.put(_slow_message(published, number))
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
    at_flush_end, published = asyncio.run(_flush_after_queueing(3, commit_flush._original_flush))
    assert (len(at_flush_end) < 3, published) == (True, [0, 1, 2])
