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
   one go, as one record batch per changelog partition (aiokafka's `send_batch`: a
   record costs an append to the batch, not a send with its own future and partition
   look-up), without awaiting each delivery; the producer's own flush then waits for
   them. Checkpoints are handed over in the order they were taken.

The stages' own messages go out in record batches too (`StageBatches`): each batch
counts as a send from the moment it opens, and the flush hands over at once every
partition's batch that has nothing before it in flight (the rest follow as the broker
answers), so step 2 covers them as it covers single sends.

Stages keep working meanwhile. Faust would queue each record in its producer buffer,
whose one task hands them over one at a time while the streams wait for it to ebb; a
commit of several thousand records then ran for seconds, and everything processed
during it was repeated after a kill.
"""

from __future__ import annotations

import asyncio
import functools
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
        """Hand every queued checkpoint to `producer` (aiokafka's), oldest first, as one
        record batch per changelog partition (more where a batch fills); returns how
        many records. The records of a batch whose submission raised stay queued with
        those after it."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        handed = 0
        async with self._lock:  # a revocation's flush and a commit's: one after the other
            while self.queued:
                sends_before, records = self.queued[0]
                await self.sends.settled_up_to(sends_before)
                batches = _batches(producer, records)
                for index, (topic, partition, batch, members) in enumerate(batches):
                    batch.close()  # see StageBatches.submit
                    try:
                        delivery = await producer.send_batch(batch, topic, partition=partition)
                    except BaseException:
                        self.queued[0] = (sends_before, [record for *_, unsent in batches[index:] for record in unsent])
                        raise
                    delivery.add_done_callback(functools.partial(_delivered, members[-1], len(members)))
                    handed += len(members)
                self.queued.popleft()
        return handed


def _batches(producer: Any, records: Sequence[ChangelogRecord]) -> list[tuple[str, int, Any, list[ChangelogRecord]]]:
    """`records` as record batches of `producer`, per topic partition in their order there
    (Kafka orders a partition, not the records of different ones)."""
    by_partition: dict[tuple[str, int], list[ChangelogRecord]] = {}
    for record in records:
        by_partition.setdefault((record.topic, record.partition), []).append(record)
    batches = []
    for (topic, partition), group in by_partition.items():
        batch, members = producer.create_batch(), []
        for record in group:
            if batch.append(timestamp=None, key=record.key, value=record.value) is None:
                batches.append((topic, partition, batch, members))
                batch, members = producer.create_batch(), []
                if batch.append(timestamp=None, key=record.key, value=record.value) is None:
                    raise ValueError(f"a changelog record of {topic} does not fit in an empty batch")
            members.append(record)
        batches.append((topic, partition, batch, members))
    return batches


def _delivered(last: ChangelogRecord, count: int, delivery: asyncio.Future) -> None:
    if delivery.cancelled():
        return
    if delivery.exception() is not None:
        log.warning("%d changelog records for %s were not delivered: %r", count, last.topic, delivery.exception())
        return
    # Faust's Table._on_changelog_sent: a persistent store keeps the offset it holds, here
    # the batch's last (a batch's delivery tells its first).
    last.store.set_persisted_offset(TP(last.topic, last.partition), delivery.result().offset + count - 1)


class _OpenBatch:
    """A record batch for one topic partition, and the delivery that the ordering counts
    as one send from the moment the batch opens."""

    __slots__ = ("topic", "partition", "builder", "count", "delivery")

    def __init__(self, topic: str, partition: int, builder: Any, delivery: asyncio.Future):
        self.topic, self.partition, self.builder, self.delivery = topic, partition, builder, delivery
        self.count = 0


class _PartitionBatches:
    """One topic partition's batches: those not handed to the producer yet, oldest first
    (the last one open for appends), and the one the broker has not acknowledged yet."""

    __slots__ = ("waiting", "in_flight")

    def __init__(self) -> None:
        self.waiting: deque[_OpenBatch] = deque()
        self.in_flight: _OpenBatch | None = None


class StageBatches:
    """The stages' messages appended to aiokafka record batches and handed to the producer
    (`send_batch`), one batch in flight per topic partition: while the broker has not
    acknowledged a partition's batch, its next messages fill the next batch, which goes out
    when the answer comes (Kafka's own producer batches so). A partition with nothing in
    flight hands its batch over `linger_seconds` after the first message, at once when a
    flush asks.

    aiokafka's per-message `send` waits for metadata, builds two partition sets, makes a
    future with its done callback and searches the accumulator's batches: 13-15
    microseconds of CPU a message here against 6.6-6.8 through a batch
    (docs/BENCHMARKS.md). aiokafka sends one batch per partition per request and takes
    the next only once the request before is answered, so small batches handed over every
    linger queued up behind a busy broker; an offset commit, which waits for them, then
    ran for seconds while the stages went on, and a kill repeated all of that work.

    The partition is the one `send` would pick (the producer's own partitioner), so
    co-partitioning is unchanged. Each batch counts as one send in `sends` from the moment
    it opens, so a checkpoint taken meanwhile waits for it (`ChangelogHandOver`), and a
    clock promise appended after an item of the same partition goes out after it, as with
    per-message sends."""

    def __init__(self, sends: UnacknowledgedSends, linger_seconds: float):
        self.sends = sends
        self.linger_seconds = linger_seconds
        self.partitions: dict[tuple[str, int], _PartitionBatches] = {}
        self.known_topics: set[str] = set()
        self._linger: asyncio.Task | None = None

    async def send(self, producer: Any, topic: str, key: bytes, value: bytes, partition: int | None = None) -> None:
        if topic not in self.known_topics:
            await producer.client._wait_on_metadata(topic)  # what `send` awaits on every message
            self.known_topics.add(topic)
        try:
            partition = producer._partition(topic, partition, key, value, key, value)
        except TypeError:  # the topic left the producer's metadata: wait for it as `send` does
            await producer.client._wait_on_metadata(topic)
            partition = producer._partition(topic, partition, key, value, key, value)
        self.append(producer, topic, partition, key, value)

    def append(self, producer: Any, topic: str, partition: int, key: bytes, value: bytes) -> None:
        batches = self.partitions.get((topic, partition))
        if batches is None:
            batches = self.partitions[(topic, partition)] = _PartitionBatches()
        batch = batches.waiting[-1] if batches.waiting else None
        if batch is None or batch.builder.append(timestamp=None, key=key, value=value) is None:
            batch = self._open(producer, batches, topic, partition)
            if batch.builder.append(timestamp=None, key=key, value=value) is None:
                batches.waiting.pop()
                batch.delivery.set_result(None)
                raise ValueError(f"a message to {topic} does not fit in an empty batch")
        batch.count += 1
        if batches.in_flight is None and (self._linger is None or self._linger.done()):
            self._linger = asyncio.ensure_future(self._submit_after_linger(producer))

    def _open(self, producer: Any, batches: _PartitionBatches, topic: str, partition: int) -> _OpenBatch:
        delivery = asyncio.get_running_loop().create_future()
        self.sends.track(delivery)
        batch = _OpenBatch(topic, partition, producer.create_batch(), delivery)
        batches.waiting.append(batch)
        return batch

    @property
    def waiting(self) -> int:
        """Messages not handed to the producer yet."""
        return sum(batch.count for batches in self.partitions.values() for batch in batches.waiting)

    async def _submit_after_linger(self, producer: Any) -> None:
        await asyncio.sleep(self.linger_seconds)
        await self.submit(producer)

    async def submit(self, producer: Any) -> int:
        """Hand the oldest waiting batch of every partition with nothing in flight to
        `producer`; the others follow as the broker acknowledges the ones before. Returns
        how many messages were handed over."""
        submitted = 0
        for batches in list(self.partitions.values()):
            if batches.in_flight is None and batches.waiting:
                submitted += await self._hand_over(producer, batches, self._take_oldest(batches))
        return submitted

    @staticmethod
    def _take_oldest(batches: _PartitionBatches) -> _OpenBatch:
        batch = batches.in_flight = batches.waiting.popleft()
        # Closed: the producer adds none of its own sends to it, and sends it without
        # lingering again.
        batch.builder.close()
        return batch

    async def _hand_over(self, producer: Any, batches: _PartitionBatches, batch: _OpenBatch) -> int:
        try:
            delivery = await producer.send_batch(batch.builder, batch.topic, partition=batch.partition)
        except Exception as error:  # noqa: BLE001 - reported as the batch's delivery
            log.error("%d messages to %s were not handed to the producer: %r", batch.count, batch.topic, error)
            _fail(batch.delivery, error)
            self._hand_over_next(producer, batches)
            return 0
        delivery.add_done_callback(functools.partial(self._delivered, producer, batches, batch))
        return batch.count

    def _delivered(self, producer: Any, batches: _PartitionBatches, batch: _OpenBatch, delivery: asyncio.Future) -> None:
        _settle(batch, delivery)
        self._hand_over_next(producer, batches)

    def _hand_over_next(self, producer: Any, batches: _PartitionBatches) -> None:
        batches.in_flight = None
        if batches.waiting:
            # At once: the batch filled while the one before was on its way.
            asyncio.ensure_future(self._hand_over(producer, batches, self._take_oldest(batches)))


def _settle(batch: _OpenBatch, delivery: asyncio.Future) -> None:
    if delivery.cancelled():
        batch.delivery.cancel()
    elif delivery.exception() is not None:
        log.warning("%d messages to %s were not delivered: %r", batch.count, batch.topic, delivery.exception())
        _fail(batch.delivery, delivery.exception())
    else:
        batch.delivery.set_result(delivery.result())


def _fail(delivery: asyncio.Future, error: BaseException) -> None:
    delivery.set_exception(error)
    delivery.exception()  # logged above; only the ordering waits on it


sends = UnacknowledgedSends()
changelog = ChangelogHandOver(sends)
# The app's producer lingers too (`producer_linger`): batches handed over meanwhile join it.
stage_batches = StageBatches(sends, linger_seconds=0.005)


async def _send_tracked(self: Producer, *args, **kwargs):
    future = await _original_send(self, *args, **kwargs)
    if isinstance(future, asyncio.Future):
        sends.track(future)
    return future


async def _flush_after_hand_over(self: Producer) -> None:
    producer = self._ensure_producer()
    await stage_batches.submit(producer)
    await changelog.hand_over(producer)
    await _original_flush(self)


def install() -> None:
    """Patch Faust's aiokafka producer (idempotent): every send is tracked, and a flush
    (which Faust runs before it commits offsets) hands the queued checkpoints over first."""
    Producer.send = _send_tracked
    Producer.flush = _flush_after_hand_over
