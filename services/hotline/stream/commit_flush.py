"""A commit must not get ahead of the table writes of the messages it covers.

Faust writes a table's changelog through its producer buffer (`Table.__setitem__` is
synchronous, so the write is queued and a background task hands it to the Kafka
producer). Before committing offsets, Faust flushes that buffer, but its
`ProducerBuffer.flush` (faust-streaming 0.15) gives up as soon as 0.1 s pass without a
message leaving the buffer — which happens on a busy worker, where the agents keep the
event loop occupied. The offsets are then committed while changelog writes of the
messages they cover are still queued; a `kill -9` at that moment loses those writes for
good: the input is not redelivered, and after the restart a table is missing an update
(in the crash test, orders still waiting for a case link they had received).

`install()` replaces that flush with one that waits until every message queued before
the flush began has been handed to the Kafka producer (whose own flush, which Faust
calls next, then waits for the broker's acknowledgements). Messages queued while it
waits are left to the next commit, so a steady stream of writes cannot hold a commit
back indefinitely.
"""

from __future__ import annotations

import asyncio

from faust.transport.producer import ProducerBuffer

# Re-check at least this often: the "message sent" event is a level, not a counter.
_POLL_SECONDS = 0.1

_original_put = ProducerBuffer.put
_original_send_pending = ProducerBuffer._send_pending
_original_flush = ProducerBuffer.flush


def _put_counted(self: ProducerBuffer, fut) -> None:
    self.hotline_queued = getattr(self, "hotline_queued", 0) + 1
    _original_put(self, fut)


async def _send_pending_counted(self: ProducerBuffer, fut) -> None:
    try:
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
    """Patch Faust's producer buffer (idempotent). The counters assume the buffer's own
    queue, i.e. `producer_threaded` off, as the app configures it."""
    ProducerBuffer.put = _put_counted
    ProducerBuffer._send_pending = _send_pending_counted
    ProducerBuffer.flush = _flush_everything_queued_so_far
