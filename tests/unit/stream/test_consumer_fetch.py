"""hotline.stream.consumer: a fetch hands over only records Faust delivers.

Faust gives the consumer thread its live set of active partitions, which the main thread
changes while the fetch waits; aiokafka's own `Fetcher.fetched_records` (run here over a
stand-in for its buffers and positions) reads an empty set as "every partition" and moves
a partition's position past what it hands over, while Faust's getmany drops the records
of a partition that is no longer active. The restarted worker of the crash test lost
input that way: a stream partition paused while it was sought to its committed offset
had its first records fetched, dropped, and committed as a gap."""

import asyncio
import contextlib
from collections import OrderedDict
from types import SimpleNamespace

import faust
from aiokafka.consumer.fetcher import Fetcher, FetchResult
from faust.types import TP

from hotline.stream import consumer

EVENTS = TP("hotline.events.v1", 0)
CASES = TP("hotline.cases.v1", 0)


class PartitionState:
    def __init__(self, position: int):
        self.position = position
        self.paused = False
        self.has_valid_position = True

    def consumed_to(self, position: int) -> None:
        self.position = position


class Assignment:
    active = True

    def __init__(self, positions: dict):
        self.states = {tp: PartitionState(position) for tp, position in positions.items()}
        self.tps = set(self.states)

    def state_value(self, tp):
        return self.states.get(tp)


class Subscriptions:
    reassignment_in_progress = False

    def __init__(self, assignment: Assignment):
        self.subscription = SimpleNamespace(assignment=assignment)

    def is_assigned(self, tp) -> bool:
        return tp in self.subscription.assignment.tps

    def fetch_context(self):
        return contextlib.nullcontext()


class Batch:
    """aiokafka's PartitionRecords as getall reads them: records, and the offset after the last read."""

    def __init__(self, tp, offsets):
        self.records = [SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=offset) for offset in offsets]
        self.next_fetch_offset = offsets[0]

    def __iter__(self):
        for record in self.records:
            self.next_fetch_offset = record.offset + 1
            yield record


class KafkaConsumer:
    """aiokafka's consumer and fetcher state, with aiokafka's own `fetched_records`; what
    the broker would send arrives through `while_waiting`, run when the fetch waits."""

    _closed = False
    _wait_consume_future = None
    fetched_records = Fetcher.fetched_records

    def __init__(self, positions: dict, while_waiting=None):
        self.assignment = Assignment(positions)
        self._subscriptions = self._subscription = Subscriptions(self.assignment)
        self._fetcher = self
        self._records = OrderedDict()
        self.while_waiting = while_waiting

    def position(self, tp) -> int:
        return self.assignment.state_value(tp).position

    def arrive(self, tp, offsets) -> None:
        self._records[tp] = FetchResult(tp, assignment=self.assignment, partition_records=Batch(tp, offsets), backoff=0)

    def seek(self, tp, offset: int) -> None:
        self.assignment.state_value(tp).position = offset
        self._records.pop(tp, None)

    def _notify(self, future) -> None:
        pass

    def _create_fetch_waiter(self):
        waiter = asyncio.get_running_loop().create_future()

        def answer():
            if self.while_waiting is not None:
                self.while_waiting()
            waiter.set_result(None)

        asyncio.get_running_loop().call_soon(answer)
        return waiter


def _app() -> faust.App:
    return faust.App("consumer-fetch-test", broker="kafka://127.0.0.1:1", broker_consumer=consumer.broker_url("127.0.0.1:1"), store="memory://")


def _fetch(app: faust.App, kafka_consumer: KafkaConsumer) -> dict:
    """One fetch of the consumer thread, as Faust's getmany asks for it: with the live set."""
    faust_consumer = app.consumer

    async def run():
        return await faust_consumer._thread._fetch_records(kafka_consumer, faust_consumer._active_partitions, timeout=1.0, max_records=None)

    return asyncio.run(run())


def _offsets(records: dict) -> dict:
    return {tp: [record.offset for record in batch] for tp, batch in records.items()}


def test_records_of_a_partition_paused_and_sought_while_the_fetch_waits_are_fetched_again():
    # given a worker whose only active partition is a stream partition at offset 100
    app = _app()
    app.consumer._active_partitions = {EVENTS}

    def pause_seek_and_the_broker_answers():
        # as restart_position's perform_seek: pause the stream, seek it to its committed offset
        app.consumer._active_partitions.discard(EVENTS)
        kafka_consumer.seek(EVENTS, 100)
        kafka_consumer.arrive(EVENTS, [100, 101, 102, 103, 104])

    kafka_consumer = KafkaConsumer({EVENTS: 100}, while_waiting=pause_seek_and_the_broker_answers)
    # when a fetch that started before the pause gets the records read after the seek
    records = _fetch(app, kafka_consumer)
    # then nothing is handed to Faust (its getmany would drop the records of a paused
    # partition), and the partition is read from 100 again
    assert (_offsets(records), kafka_consumer.position(EVENTS)) == ({}, 100)


def test_a_fetch_asked_for_no_partition_takes_none():
    # given the main thread paused every partition after Faust asked for the fetch
    app = _app()
    app.consumer._active_partitions = set()
    kafka_consumer = KafkaConsumer({EVENTS: 100, CASES: 7})
    kafka_consumer.arrive(EVENTS, [100, 101])
    kafka_consumer.arrive(CASES, [7])
    # when the fetch runs
    records = _fetch(app, kafka_consumer)
    # then aiokafka keeps the records and the positions (it reads no partitions as all)
    assert (_offsets(records), kafka_consumer.position(EVENTS), kafka_consumer.position(CASES)) == ({}, 100, 7)


def test_records_of_active_partitions_and_of_full_stream_buffers_are_handed_over():
    # given two active partitions, one of which flow control drops while the fetch waits
    app = _app()
    app.consumer._active_partitions = {EVENTS, CASES}

    def buffer_full_and_the_broker_answers():
        app.consumer.on_buffer_full(EVENTS)
        kafka_consumer.arrive(EVENTS, [100, 101])
        kafka_consumer.arrive(CASES, [7, 8])

    kafka_consumer = KafkaConsumer({EVENTS: 100, CASES: 7}, while_waiting=buffer_full_and_the_broker_answers)
    # when the fetch returns
    records = _fetch(app, kafka_consumer)
    # then both are delivered (Faust delivers a buffered partition's fetched records)
    assert (_offsets(records), kafka_consumer.position(EVENTS), kafka_consumer.position(CASES)) == ({EVENTS: [100, 101], CASES: [7, 8]}, 102, 9)


def test_records_of_a_partition_paused_after_the_fetch_returned_are_sought_back_from_the_main_thread():
    # given a fetch that returned records of a partition the main thread then paused
    app = _app()
    faust_consumer = app.consumer
    faust_consumer._active_partitions = {CASES}
    kafka_consumer = KafkaConsumer({EVENTS: 105, CASES: 9})
    faust_consumer._thread._ensure_consumer = lambda: kafka_consumer

    async def call_thread(method, *args):
        return method(*args)

    faust_consumer._thread.call_thread = call_thread
    fetched = {EVENTS: Batch(EVENTS, [100, 101, 102, 103, 104]).records, CASES: Batch(CASES, [7, 8]).records}
    # when the consumer takes them
    records = asyncio.run(faust_consumer._without_undelivered(fetched))
    # then the paused partition's records are left out and read again from 100
    assert (_offsets(records), kafka_consumer.position(EVENTS), kafka_consumer.position(CASES)) == ({CASES: [7, 8]}, 100, 9)


def test_a_partition_sought_since_the_fetch_keeps_the_position_of_that_seek():
    kafka_consumer = KafkaConsumer({EVENTS: 42})
    assert (consumer.rewind(kafka_consumer, {EVENTS: (100, 105)}), kafka_consumer.position(EVENTS)) == ([], 42)
