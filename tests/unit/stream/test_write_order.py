"""The order hotline.stream.write_order keeps: a checkpoint's changelog records reach the
producer only after every send issued before the checkpoint settled, all at once, and
checkpoints in the order they were taken. The producer is a recording stand-in whose
sends are acknowledged when the test says."""

import asyncio

from hotline.stream import write_order


class RecordingBatch:
    """aiokafka's BatchBuilder as far as the hand-over uses it: holds `capacity` records."""

    def __init__(self, capacity: int):
        self.keys: list[bytes] = []
        self.capacity = capacity

    def append(self, *, timestamp, key, value):
        if len(self.keys) == self.capacity:
            return None
        self.keys.append(key)
        return object()

    def close(self):
        self.capacity = len(self.keys)


class RecordingProducer:
    """Records the batches handed to it; each returns a delivery the test can settle."""

    def __init__(self, fail_on: bytes | None = None, batch_capacity: int = 100):
        self.handed: list[bytes] = []
        self.batches: list[tuple[str, int, list[bytes]]] = []
        self.deliveries: list[asyncio.Future] = []
        self.fail_on = fail_on
        self.batch_capacity = batch_capacity

    def create_batch(self) -> RecordingBatch:
        return RecordingBatch(self.batch_capacity)

    async def send_batch(self, batch, topic, *, partition):
        if self.fail_on in batch.keys:
            self.fail_on = None
            raise ConnectionError("producer closed")
        self.handed.extend(batch.keys)
        self.batches.append((topic, partition, batch.keys))
        delivery = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery


class Store:
    def __init__(self):
        self.persisted: list = []

    def set_persisted_offset(self, tp, offset):
        self.persisted.append((tp.topic, tp.partition, offset))


def _records(store: Store, *keys: str, partition: int = 1) -> list[write_order.ChangelogRecord]:
    return [write_order.ChangelogRecord("orders-changelog", partition, key.encode(), b"{}", store) for key in keys]


async def _checkpoints_around_sends() -> list[tuple[str, list]]:
    """Two sends, a checkpoint, a third send, a second checkpoint; the broker acknowledges
    the sends out of order. Returns what had been handed over after each step."""
    sends = write_order.UnacknowledgedSends()
    hand_over = write_order.ChangelogHandOver(sends)
    producer = RecordingProducer()
    store = Store()
    loop = asyncio.get_running_loop()
    first, second, third = loop.create_future(), loop.create_future(), loop.create_future()
    seen = []

    async def settle(name: str, future: asyncio.Future, failed: bool = False) -> None:
        future.set_exception(ConnectionError("broker gone")) if failed else future.set_result(None)
        await asyncio.sleep(0.01)
        seen.append((name, list(producer.handed)))

    sends.track(first)
    sends.track(second)
    hand_over.queue(_records(store, "a", "b"))
    sends.track(third)
    hand_over.queue(_records(store, "c"))
    hand_over.queue([])  # an empty checkpoint is not queued
    flushing = asyncio.ensure_future(hand_over.hand_over(producer))
    await asyncio.sleep(0.01)
    seen.append(("nothing acknowledged", list(producer.handed)))
    await settle("second acknowledged", second)
    # A failed send settles too: its error is the producer's to report.
    await settle("first failed", first, failed=True)
    await settle("third acknowledged", third)
    seen.append(("handed over", await flushing))
    producer.deliveries[0].set_result(type("RecordMetadata", (), {"offset": 41})())
    await asyncio.sleep(0)
    seen.append(("persisted", store.persisted))
    return seen


def test_a_checkpoint_is_handed_over_whole_once_the_sends_before_it_settled():
    assert asyncio.run(_checkpoints_around_sends()) == [
        ("nothing acknowledged", []),
        ("second acknowledged", []),
        ("first failed", [b"a", b"b"]),
        ("third acknowledged", [b"a", b"b", b"c"]),
        ("handed over", 3),
        ("persisted", [("orders-changelog", 1, 42)]),  # the batch [a, b] from offset 41
    ]


async def _hand_over_that_fails_midway() -> tuple[list, int, list]:
    hand_over = write_order.ChangelogHandOver(write_order.UnacknowledgedSends())
    producer = RecordingProducer(fail_on=b"c", batch_capacity=2)
    hand_over.queue(_records(Store(), "a", "b", "c"))
    hand_over.queue(_records(Store(), "d"))
    try:
        await hand_over.hand_over(producer)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the failed send was swallowed")
    after_failure = list(producer.handed)
    pending = hand_over.pending
    await hand_over.hand_over(producer)
    return after_failure, pending, producer.handed


def test_records_a_failed_hand_over_did_not_send_stay_queued_in_order():
    # batches of two: [a, b] goes out, [c] is refused, so c stays queued before d
    assert asyncio.run(_hand_over_that_fails_midway()) == ([b"a", b"b"], 2, [b"a", b"b", b"c", b"d"])


async def _checkpoint_over_partitions() -> tuple[list, list]:
    hand_over = write_order.ChangelogHandOver(write_order.UnacknowledgedSends())
    producer = RecordingProducer(batch_capacity=2)
    store = Store()
    hand_over.queue([*_records(store, "a", partition=0), *_records(store, "b", "c", partition=1), *_records(store, "d", "e", partition=0)])
    await hand_over.hand_over(producer)
    base_offsets = {(0, "a"): 10, (1, "b"): 20, (0, "e"): 12}
    for (_, partition, keys), delivery in zip(producer.batches, producer.deliveries):
        delivery.set_result(type("RecordMetadata", (), {"offset": base_offsets[(partition, keys[0].decode())]})())
    await asyncio.sleep(0)
    return producer.batches, store.persisted


def test_a_checkpoint_goes_out_as_batches_per_partition_in_write_order():
    batches, persisted = asyncio.run(_checkpoint_over_partitions())
    # each partition's records in the order they were written, two to a batch
    assert batches == [
        ("orders-changelog", 0, [b"a", b"d"]),
        ("orders-changelog", 0, [b"e"]),
        ("orders-changelog", 1, [b"b", b"c"]),
    ]
    # each delivered batch tells the store the offset of its last record
    assert persisted == [("orders-changelog", 0, 11), ("orders-changelog", 0, 12), ("orders-changelog", 1, 21)]


async def _real_batches() -> list[tuple[str, int, int]]:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:9", max_batch_size=16384)  # never started
    records = [write_order.ChangelogRecord("orders-changelog", 0, b"k%d" % n, b"v" * 1000, None) for n in range(40)]
    records.append(write_order.ChangelogRecord("orders-changelog", 3, b"gone", None, None))  # a tombstone
    try:
        return [(topic, partition, batch.record_count()) for topic, partition, batch, _ in write_order._batches(producer, records)]
    finally:
        await producer.stop()


def test_batches_are_aiokafkas_own_filled_to_its_batch_size():
    # 40 records of 1 010 bytes or so (the value, key and record header) in batches of
    # 16 KiB: 16, 16 and 8, and the tombstone of another partition alone
    assert asyncio.run(_real_batches()) == [
        ("orders-changelog", 0, 16),
        ("orders-changelog", 0, 16),
        ("orders-changelog", 0, 8),
        ("orders-changelog", 3, 1),
    ]


class Metadata:
    def __init__(self):
        self.waited: list[str] = []

    async def _wait_on_metadata(self, topic):
        self.waited.append(topic)


class PartitioningProducer(RecordingProducer):
    """Picks a key's partition as the last digit of the key, as a partitioner would."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.client = Metadata()

    def _partition(self, topic, partition, key, value, serialized_key, serialized_value):
        return partition if partition is not None else int(key[-1:]) % 2


def _acknowledge(delivery: asyncio.Future) -> None:
    delivery.set_result(type("RecordMetadata", (), {"offset": 0})())


async def _stage_sends() -> dict:
    sends = write_order.UnacknowledgedSends()
    batches = write_order.StageBatches(sends, linger_seconds=0.01)
    hand_over = write_order.ChangelogHandOver(sends)
    producer = PartitioningProducer(batch_capacity=2)
    for key in (b"o1", b"o2", b"o3", b"o5"):
        await batches.send(producer, "cases", key, b"{}")
    await batches.send(producer, "cases", b"clock", b"{}", partition=1)  # a promise, after the items
    seen = {"opened": sends.issued, "handed before the linger": list(producer.batches)}
    hand_over.queue(_records(Store(), "order"))
    await asyncio.sleep(0.03)
    seen["after the linger"] = list(producer.batches)
    await batches.send(producer, "cases", b"o7", b"{}")  # partition 1 has a batch in flight
    await asyncio.sleep(0.03)
    seen["waiting while one is in flight"] = (len(producer.batches), batches.waiting)
    flushing = asyncio.ensure_future(hand_over.hand_over(producer))
    _acknowledge(producer.deliveries[1])  # partition 0's
    await asyncio.sleep(0.01)
    seen["partition 0 acknowledged"] = len(producer.batches)
    _acknowledge(producer.deliveries[0])  # partition 1's first: its next goes at once
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    seen["partition 1 acknowledged"] = (producer.batches[2:], flushing.done())
    _acknowledge(producer.deliveries[2])
    await asyncio.sleep(0.01)
    seen["the checkpoint's sends settled"] = (producer.batches[3:], flushing.done())
    _acknowledge(producer.deliveries[3])
    await flushing
    seen["opened then"] = sends.issued
    seen["metadata waits"] = producer.client.waited
    return seen


def test_stage_messages_go_out_in_batches_one_in_flight_per_partition_before_the_checkpoint():
    assert asyncio.run(_stage_sends()) == {
        # partition 1 fills a batch with o1 and o3 and opens another for o5 and the promise
        "opened": 3,
        "handed before the linger": [],
        # one batch per partition goes; partition 1's second waits for the first's answer
        "after the linger": [("cases", 1, [b"o1", b"o3"]), ("cases", 0, [b"o2"])],
        # o7 opens a third batch of partition 1: the second is full
        "waiting while one is in flight": (2, 3),
        "partition 0 acknowledged": 2,
        "partition 1 acknowledged": ([("cases", 1, [b"o5", b"clock"])], False),
        # the checkpoint waits only for what was sent before it; o7 follows its batch
        "the checkpoint's sends settled": ([("cases", 1, [b"o7"]), ("orders-changelog", 1, [b"order"])], True),
        "opened then": 4,
        "metadata waits": ["cases"],
    }


async def _stage_send_refused() -> tuple[bool, int]:
    sends = write_order.UnacknowledgedSends()
    batches = write_order.StageBatches(sends, linger_seconds=0.01)
    producer = PartitioningProducer(fail_on=b"o1")
    await batches.send(producer, "cases", b"o1", b"{}")
    submitted = await batches.submit(producer)
    settled = asyncio.ensure_future(sends.settled_up_to(sends.issued))
    await asyncio.sleep(0)
    return settled.done(), submitted


def test_a_batch_the_producer_refuses_settles_so_checkpoints_go_on():
    assert asyncio.run(_stage_send_refused()) == (True, 0)


async def _partition_after_a_refused_batch() -> list:
    batches = write_order.StageBatches(write_order.UnacknowledgedSends(), linger_seconds=1.0)
    producer = PartitioningProducer(fail_on=b"o1", batch_capacity=1)
    await batches.send(producer, "cases", b"o1", b"{}")
    await batches.send(producer, "cases", b"o3", b"{}")
    await batches.submit(producer)
    await asyncio.sleep(0)
    return producer.batches


def test_a_refused_batch_lets_the_next_of_its_partition_go():
    assert asyncio.run(_partition_after_a_refused_batch()) == [("cases", 1, [b"o3"])]
