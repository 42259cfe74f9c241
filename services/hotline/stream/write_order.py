"""What reaches Kafka first: a stage's sends, then the table writes that record them,
then the offset commit that covers both. `install()` patches Faust's producer to keep
that order.

Table writes record progress: a merge pops an item it released, the orders table takes
in an event. After a crash, input read again that the tables say was handled produces
nothing, so a table write that reached the changelog before the messages sent while
handling the same input loses those messages for good: in the crash test a dedupe
partition released appeals, the pop reached the changelog and the case links did not;
the re-read clock promise released nothing, the orders waited for their links forever
and held back escalations and pressure. So a commit is a checkpoint:

1. When it starts, the write-behind tables (hotline.stream.write_behind) turn every key
   written since the last commit into one changelog record, and `changelog.queue` notes
   how many sends had been issued by then.
2. Before the offsets are committed, Faust flushes the producer. Here that flush first
   waits, once, until every send issued before the checkpoint is acknowledged by the
   broker (or has failed), then hands the checkpoint's records to the Kafka producer in
   one go, without awaiting each delivery; the producer's own flush then waits for
   them. Checkpoints are handed over in the order they were taken.

Stages keep working meanwhile. Faust would queue each record in its producer buffer,
whose one task hands them over one at a time while the streams wait for it to ebb; a
commit of several thousand records then ran for seconds, and everything processed
during it was repeated after a kill.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any, NamedTuple, Sequence

from faust.transport.drivers.aiokafka import Producer
from faust.types import TP

log = logging.getLogger(__name__)

_original_send = Producer.send
_original_flush = Producer.flush


class ChangelogRecord(NamedTuple):
    topic: str
    partition: int
    key: bytes
    value: bytes | None  # None: a tombstone
    store: Any  # the table's store, told each delivered offset as Faust's writes tell it


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


class ChangelogHandOver:
    """Checkpoints of changelog records, each handed to the producer once the sends issued
    before it have settled."""

    def __init__(self, sends: UnacknowledgedSends) -> None:
        self.sends = sends
        self.queued: deque[tuple[int, Sequence[ChangelogRecord]]] = deque()
        self._lock: asyncio.Lock | None = None

    @property
    def pending(self) -> int:
        """Records taken and not yet handed to the producer."""
        return sum(len(records) for _, records in self.queued)

    def queue(self, records: Sequence[ChangelogRecord]) -> None:
        if records:
            self.queued.append((self.sends.issued, records))

    async def hand_over(self, producer: Any) -> int:
        """Hand every queued checkpoint to `producer`, oldest first; returns how many
        records. A record whose send raised stays queued with those after it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        handed = 0
        async with self._lock:  # a revocation's flush and a commit's: one after the other
            while self.queued:
                sends_before, records = self.queued[0]
                await self.sends.settled_up_to(sends_before)
                for index, record in enumerate(records):
                    try:
                        delivery = await producer.send(
                            record.topic, record.key, record.value, partition=record.partition, timestamp=None, headers=None
                        )
                    except BaseException:
                        self.queued[0] = (sends_before, records[index:])
                        raise
                    delivery.add_done_callback(lambda done, record=record: _delivered(record, done))
                    handed += 1
                self.queued.popleft()
        return handed


def _delivered(record: ChangelogRecord, delivery: asyncio.Future) -> None:
    if delivery.cancelled():
        return
    if delivery.exception() is not None:
        log.warning("a changelog record for %s was not delivered: %r", record.topic, delivery.exception())
        return
    # Faust's Table._on_changelog_sent: a persistent store keeps the offset it holds.
    record.store.set_persisted_offset(TP(record.topic, record.partition), delivery.result().offset)


sends = UnacknowledgedSends()
changelog = ChangelogHandOver(sends)


async def _send_tracked(self: Producer, *args, **kwargs):
    future = await _original_send(self, *args, **kwargs)
    if isinstance(future, asyncio.Future):
        sends.track(future)
    return future


async def _flush_after_hand_over(self: Producer) -> None:
    await changelog.hand_over(self)
    await _original_flush(self)


def install() -> None:
    """Patch Faust's aiokafka producer (idempotent): every send is tracked, and a flush
    (which Faust runs before it commits offsets) hands the queued checkpoints over first."""
    Producer.send = _send_tracked
    Producer.flush = _flush_after_hand_over
