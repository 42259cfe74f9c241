"""What reaches Kafka first: a stage's sends, then the table writes that record them,
then the offset commit that covers both. `install()` patches Faust to keep that order.

Table writes record progress: a merge pops an item it released, the orders table takes
in an event. After a crash, input read again that the tables say was handled produces
nothing, so a table write that reached the changelog before the messages sent while
handling the same input loses those messages for good. Faust does not prevent it:
`Table.__setitem__` is synchronous, so the write is queued in the producer's buffer
while sends go straight to the Kafka producer, whose batches per partition become ready
at different times (linger, size). In the crash test a dedupe partition released
appeals, the pop reached the changelog and the case links did not; the re-read clock
promise released nothing, the orders waited for their links forever and held back
escalations and pressure. So:

- A table write leaves the buffer only once every send issued before it was queued has
  been acknowledged by the broker (or has failed). Stages keep working meanwhile; the
  writes wait in the buffer, whose size Faust already bounds by pausing the streams.
- A commit waits until every write queued before it has left the buffer. Faust 0.15's
  own flush gives up after 0.1 s without a message leaving the buffer, normal on a busy
  worker, and offsets were committed over queued writes. Writes queued while it waits
  are left to the next commit, so a steady stream of writes cannot hold a commit back.
  (Faust then flushes the Kafka producer, which waits for the writes' acknowledgements.)
"""

from __future__ import annotations

import asyncio
from collections import deque

from faust.transport.drivers.aiokafka import Producer
from faust.transport.producer import ProducerBuffer

# Re-check at least this often: the "message sent" event is a level, not a counter.
_POLL_SECONDS = 0.1

_original_send = Producer.send
_original_put = ProducerBuffer.put
_original_send_pending = ProducerBuffer._send_pending
_original_flush = ProducerBuffer.flush


class UnacknowledgedSends:
    """The producer's sends in the order they were issued, until the broker answers each."""

    def __init__(self) -> None:
        self.issued = 0
        self.waiting: dict[int, asyncio.Future] = {}  # by issue number, oldest first

    def track(self, future: asyncio.Future) -> None:
        self.issued += 1
        number = self.issued
        self.waiting[number] = future
        future.add_done_callback(lambda _: self.waiting.pop(number, None))

    async def settled_up_to(self, number: int) -> None:
        """Until every send issued as `number` or earlier is acknowledged or has failed."""
        while self.waiting:
            oldest, future = next(iter(self.waiting.items()))
            if oldest > number:
                return
            await asyncio.wait([future])
            self.waiting.pop(oldest, None)


sends = UnacknowledgedSends()


async def _send_tracked(self: Producer, *args, **kwargs):
    future = await _original_send(self, *args, **kwargs)
    if isinstance(future, asyncio.Future):
        sends.track(future)
    return future


def _put_after_sends(self: ProducerBuffer, fut) -> None:
    if not hasattr(self, "hotline_sends_before"):
        self.hotline_sends_before = deque()
    self.hotline_sends_before.append(sends.issued)
    self.hotline_queued = getattr(self, "hotline_queued", 0) + 1
    _original_put(self, fut)


async def _send_pending_after_sends(self: ProducerBuffer, fut) -> None:
    try:
        # The buffer's one task hands writes over in the order they were queued.
        await sends.settled_up_to(self.hotline_sends_before.popleft())
        await _original_send_pending(self, fut)
    finally:
        self.hotline_handed_over = getattr(self, "hotline_handed_over", 0) + 1


async def _flush_everything_queued_so_far(self: ProducerBuffer) -> None:
    if self.state != "running":
        await _original_flush(self)  # stopping: Faust's own checks and errors apply
        return
    queued = getattr(self, "hotline_queued", 0)
    while getattr(self, "hotline_handed_over", 0) < queued:
        if self.state != "running":
            raise RuntimeError("Cannot flush: Producer not Running")
        self.message_sent.clear()
        try:
            await asyncio.wait_for(self.message_sent.wait(), timeout=_POLL_SECONDS)
        except asyncio.TimeoutError:
            pass


def install() -> None:
    """Patch Faust's producer and its buffer (idempotent). The buffer's counters assume
    its own queue, i.e. `producer_threaded` off, as the app configures it."""
    Producer.send = _send_tracked
    ProducerBuffer.put = _put_after_sends
    ProducerBuffer._send_pending = _send_pending_after_sends
    ProducerBuffer.flush = _flush_everything_queued_so_far
