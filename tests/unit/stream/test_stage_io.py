"""A stage's sends: into a record batch of the app's Kafka producer, on the partition
its partitioner picks (or the one given), a failed delivery logged."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from hotline.stream import stage_io, write_order


class RecordingProducer:
    """aiokafka's producer as far as a stage's sends use it."""

    def __init__(self, outcome: BaseException | None):
        self.outcome = outcome
        self.sent: list[tuple] = []
        self.client = SimpleNamespace(_wait_on_metadata=self._wait_on_metadata)

    async def _wait_on_metadata(self, topic):
        return None

    def _partition(self, topic, partition, key, value, serialized_key, serialized_value):
        return 3 if partition is None else partition

    def create_batch(self):
        return Batch()

    async def send_batch(self, batch, topic, *, partition):
        self.sent.extend((topic, partition, key, value) for key, value in batch.messages)
        delivery = asyncio.get_running_loop().create_future()
        if self.outcome is None:
            delivery.set_result(SimpleNamespace(offset=0))
        else:
            delivery.set_exception(self.outcome)
        return delivery


class Batch:
    def __init__(self):
        self.messages = []

    def append(self, *, timestamp, key, value):
        self.messages.append((key, value))
        return object()

    def close(self):
        pass


def topic_with(producer: RecordingProducer) -> SimpleNamespace:
    faust_producer = SimpleNamespace(_ensure_producer=lambda: producer)
    return SimpleNamespace(app=SimpleNamespace(producer=faust_producer), get_topic_name=lambda: "hotline.cases.v1")


async def send_and_settle(topic, monkeypatch) -> None:
    batches = write_order.StageBatches(write_order.UnacknowledgedSends(), linger_seconds=0.001)
    monkeypatch.setattr(write_order, "stage_batches", batches)
    await stage_io.send(topic, b"o-1", b"{}")
    await stage_io.send(topic, b"clock", b"{}", partition=0)
    await asyncio.sleep(0.01)  # the linger passes, the delivery's callbacks run


def test_a_send_goes_to_the_app_s_producer_by_topic_name_with_kafka_s_partitioner(caplog, monkeypatch):
    producer = RecordingProducer(None)
    with caplog.at_level(logging.WARNING, logger="hotline.stream.write_order"):
        asyncio.run(send_and_settle(topic_with(producer), monkeypatch))
    assert producer.sent == [("hotline.cases.v1", 3, b"o-1", b"{}"), ("hotline.cases.v1", 0, b"clock", b"{}")]
    assert caplog.records == []


def test_a_failed_delivery_is_logged_with_its_topic(caplog, monkeypatch):
    producer = RecordingProducer(ConnectionError("broker gone"))
    with caplog.at_level(logging.WARNING, logger="hotline.stream.write_order"):
        asyncio.run(send_and_settle(topic_with(producer), monkeypatch))
    assert [record.getMessage() for record in caplog.records] == [
        "1 messages to hotline.cases.v1 were not delivered: ConnectionError('broker gone')",
        "1 messages to hotline.cases.v1 were not delivered: ConnectionError('broker gone')",
    ]
