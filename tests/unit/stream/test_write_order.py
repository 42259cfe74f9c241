"""The order hotline.stream.write_order keeps: a checkpoint's changelog records reach the
producer only after every send issued before the checkpoint settled, all at once, and
checkpoints in the order they were taken. The producer is a recording stand-in whose
sends are acknowledged when the test says."""

import asyncio

from hotline.stream import write_order


class RecordingProducer:
    """Records what is handed to it; each send returns a delivery the test can settle."""

    def __init__(self, fail_on: bytes | None = None):
        self.handed: list[bytes] = []
        self.deliveries: list[asyncio.Future] = []
        self.fail_on = fail_on

    async def send(self, topic, key, value, partition, timestamp, headers):
        if key == self.fail_on:
            self.fail_on = None
            raise ConnectionError("producer closed")
        self.handed.append(key)
        delivery = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery


class Store:
    def __init__(self):
        self.persisted: list = []

    def set_persisted_offset(self, tp, offset):
        self.persisted.append((tp.topic, tp.partition, offset))


def _records(store: Store, *keys: str) -> list[write_order.ChangelogRecord]:
    return [write_order.ChangelogRecord("orders-changelog", 1, key.encode(), b"{}", store) for key in keys]


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
        ("persisted", [("orders-changelog", 1, 41)]),
    ]


async def _hand_over_that_fails_midway() -> tuple[list, int, list]:
    hand_over = write_order.ChangelogHandOver(write_order.UnacknowledgedSends())
    producer = RecordingProducer(fail_on=b"b")
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
    assert asyncio.run(_hand_over_that_fails_midway()) == ([b"a"], 3, [b"a", b"b", b"c", b"d"])
