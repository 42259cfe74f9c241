"""hotline.stream.restart_position: after Faust seeks to the committed offsets, the
partitions the group never committed (or committed at 0) are sought to their beginning.
The consumer is a stand-in recording the seeks; the patched method is Faust's own."""

import asyncio
from types import SimpleNamespace

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from hotline.stream import restart_position


class RecordingConsumer:
    def __init__(self, committed):
        self.committed = committed
        self.sought_to_beginning = []

    async def seek_to_committed(self):
        return dict(self.committed)

    async def seek_to_beginning(self, *partitions):
        self.sought_to_beginning.extend(partitions)
        return True


def _seek(committed):
    restart_position.install()
    consumer = RecordingConsumer(committed)

    async def call_thread(fun, *args):
        return await fun(*args)

    thread = SimpleNamespace(_ensure_consumer=lambda: consumer, call_thread=call_thread)
    result = asyncio.run(AIOKafkaConsumerThread.seek_to_committed(thread))
    return result, consumer.sought_to_beginning


def test_partitions_never_committed_are_read_from_the_beginning():
    cases = [TP("hotline.cases.v1", partition) for partition in range(4)]
    committed = {cases[0]: 2, cases[1]: None, cases[2]: 0, cases[3]: 57}
    assert _seek(committed) == (committed, [cases[1], cases[2]])


def test_nothing_more_is_sought_when_every_partition_was_committed():
    committed = {TP("hotline.events.v1", 0): 10, TP("hotline.events.v1", 1): 3}
    assert _seek(committed) == (committed, [])
