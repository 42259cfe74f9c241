"""hotline.stream.restart_position: after Faust seeks to the committed offsets, the
partitions the group never committed (or committed at 0) are sought to their beginning;
a record fetched before a seek moved the fetcher back to it is held back.
The consumers are stand-ins; the patched methods are Faust's own, with the Faust code
they wrap replaced by recorders."""

import asyncio
from types import SimpleNamespace

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from faust.types import TP

from hotline.stream import restart_position

# Before the stand-ins below take Faust's methods.
restart_position.install()


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


class FetchingConsumer:
    """A stand-in with Faust's patched `getmany`: the fetcher hands over `batch`, and
    aiokafka's fetch position of each partition is `positions[tp]` (None: being reset;
    absent: not assigned)."""

    getmany = Consumer.getmany

    def __init__(self, batch, positions):
        self.batch = batch
        states = {tp: SimpleNamespace(has_valid_position=position is not None, position=position) for tp, position in positions.items()}
        assignment = SimpleNamespace(state_value=states.get)
        self._thread = SimpleNamespace(_consumer=SimpleNamespace(_subscription=SimpleNamespace(subscription=SimpleNamespace(assignment=assignment))))


def _delivered(batch, positions):
    async def original_getmany(self, timeout):
        for tp, offset in self.batch:
            yield tp, SimpleNamespace(offset=offset)

    async def drain(consumer):
        return [(tp, message.offset) async for tp, message in consumer.getmany(timeout=1.0)]

    saved = restart_position._original_getmany
    restart_position._original_getmany = original_getmany
    try:
        return asyncio.run(drain(FetchingConsumer(batch, positions)))
    finally:
        restart_position._original_getmany = saved


CASES_0, CASES_1 = TP("hotline.cases.v1", 0), TP("hotline.cases.v1", 1)


def test_records_behind_the_fetch_position_are_delivered():
    batch = [(CASES_0, 4), (CASES_1, 7), (CASES_0, 5)]
    assert _delivered(batch, {CASES_0: 6, CASES_1: 8}) == batch


def test_records_a_seek_moved_the_fetcher_back_to_are_held_back():
    # The batch was read from offset 4 on; a seek to the committed offset 2 came after.
    batch = [(CASES_0, 4), (CASES_0, 5), (CASES_1, 7)]
    assert _delivered(batch, {CASES_0: 2, CASES_1: 8}) == [(CASES_1, 7)]


def test_records_of_a_partition_being_reset_or_not_assigned_are_held_back():
    batch = [(CASES_0, 0), (CASES_1, 3)]
    assert _delivered(batch, {CASES_0: None}) == []
