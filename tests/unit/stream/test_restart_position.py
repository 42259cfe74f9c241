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
from mode.utils.queues import FlowControlEvent

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
        self._read_offset = {}

    def _is_changelog_tp(self, tp):
        return False


def _delivered(batch, positions):
    return _drain_with(FetchingConsumer(batch, positions))


def _drain_with(consumer):
    async def original_getmany(self, timeout):
        for tp, offset in self.batch:
            yield tp, SimpleNamespace(offset=offset)

    async def drain(consumer):
        return [(tp, message.offset) async for tp, message in consumer.getmany(timeout=1.0)]

    saved = restart_position._original_getmany
    restart_position._original_getmany = original_getmany
    try:
        return asyncio.run(drain(consumer))
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


class SeekingConsumer:
    """A stand-in with Faust's patched `perform_seek` and its own partition bookkeeping;
    `log` records what happens in order."""

    perform_seek = Consumer.perform_seek
    pause_partitions = Consumer.pause_partitions
    resume_partitions = Consumer.resume_partitions
    _get_active_partitions = Consumer._get_active_partitions
    _set_active_tps = Consumer._set_active_tps

    def __init__(self, assigned, changelogs=()):
        self.assigned = set(assigned)
        self.changelogs = set(changelogs)
        self._active_partitions = set(self.assigned)
        self._paused_partitions = set()
        self._buffered_partitions = set()
        self.log = []
        self.app = SimpleNamespace(consumer_generation_id=3, in_recovery=False, flow_control=FlowControlEvent())

    def assignment(self):
        return set(self.assigned)

    def _is_changelog_tp(self, tp):
        return tp in self.changelogs


def _seek_then_resume(consumer, during_seek=lambda consumer: None):
    """Faust at the end of a recovery: seek (patched), then resume the app's flow."""

    async def original_perform_seek(self):
        self.log.append(("seek", sorted(self._active_partitions)))
        during_seek(self)

    saved = restart_position._original_perform_seek
    restart_position._original_perform_seek = original_perform_seek
    try:
        asyncio.run(consumer.perform_seek())
        consumer.log.append(("after the seek", sorted(consumer._active_partitions)))
        consumer.app.flow_control.resume()
        consumer.log.append(("after the flow resumed", sorted(consumer._active_partitions)))
    finally:
        restart_position._original_perform_seek = saved
    return consumer.log


ORDERS_CHANGELOG_0 = TP("hotline-orders-changelog", 0)


def test_the_stream_partitions_deliver_nothing_from_the_seek_until_the_flow_has_resumed():
    # given a worker whose tables are recovered: its stream partitions were just resumed
    # and a changelog partition is read for a standby table
    consumer = SeekingConsumer([CASES_0, CASES_1, ORDERS_CHANGELOG_0], changelogs=[ORDERS_CHANGELOG_0])
    consumer._buffered_partitions.add(CASES_1)  # under back-pressure: Faust fetches it anyway
    # then while Faust seeks and until the flow has resumed (emptying the stream buffers)
    # only the changelog is fetched; the stream partitions follow
    assert _seek_then_resume(consumer) == [
        ("seek", [ORDERS_CHANGELOG_0]),
        ("after the seek", [ORDERS_CHANGELOG_0]),
        ("after the flow resumed", sorted([CASES_0, CASES_1, ORDERS_CHANGELOG_0])),
    ]
    assert (consumer._paused_partitions, consumer._buffered_partitions) == (set(), set())


def test_a_rebalance_during_the_seek_leaves_the_stream_partitions_to_its_own_seek():
    consumer = SeekingConsumer([CASES_0, CASES_1])

    def rebalance(consumer):
        consumer.app.consumer_generation_id = 4

    assert _seek_then_resume(consumer, during_seek=rebalance)[-1] == ("after the flow resumed", [])


def test_a_flow_resumed_for_a_recovery_leaves_the_stream_partitions_paused():
    consumer = SeekingConsumer([CASES_0])

    def recovery_starts(consumer):
        consumer.app.in_recovery = True

    assert _seek_then_resume(consumer, during_seek=recovery_starts)[-1] == ("after the flow resumed", [])


class ReadingConsumer(FetchingConsumer):
    """Adds Faust's read offsets: the offset the drain loop delivered last per partition."""

    def __init__(self, batch, positions, read_offsets, changelogs=()):
        super().__init__(batch, positions)
        self._read_offset = dict(read_offsets)
        self.changelogs = set(changelogs)

    def _is_changelog_tp(self, tp):
        return tp in self.changelogs


def test_a_record_fetched_again_below_the_read_offset_is_delivered_from_there():
    # given a record that reached a stream after the seek moved the read offset to 1144,
    # and the records from the committed offset 1141 fetched again
    batch = [(CASES_0, 1141), (CASES_0, 1142)]
    consumer = ReadingConsumer(batch, {CASES_0: 1150, ORDERS_CHANGELOG_0: 30}, {CASES_0: 1144})
    # then Faust's read offset is moved back so its drain loop does not drop them
    assert _drain_with(consumer) == batch
    assert consumer._read_offset == {CASES_0: 1141}


def test_the_read_offsets_of_changelogs_are_left_to_faust():
    batch = [(ORDERS_CHANGELOG_0, 12)]
    consumer = ReadingConsumer(batch, {ORDERS_CHANGELOG_0: 30}, {ORDERS_CHANGELOG_0: 20}, changelogs=[ORDERS_CHANGELOG_0])
    assert (_drain_with(consumer), consumer._read_offset) == (batch, {ORDERS_CHANGELOG_0: 20})
