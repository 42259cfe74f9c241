"""A stage's sends: straight to the app's Kafka producer, a failed delivery logged."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from hotline.stream import stage_io


class RecordingProducer:
    def __init__(self, outcome: BaseException | None):
        self.outcome = outcome
        self.sent: list[tuple] = []

    async def send(self, topic, key, value, *, partition, timestamp, headers):
        self.sent.append((topic, key, value, partition, timestamp, headers))
        delivery = asyncio.get_running_loop().create_future()
        if self.outcome is None:
            delivery.set_result("metadata")
        else:
            delivery.set_exception(self.outcome)
        return delivery


def topic_with(producer: RecordingProducer) -> SimpleNamespace:
    return SimpleNamespace(app=SimpleNamespace(producer=producer), get_topic_name=lambda: "hotline.cases.v1")


async def send_and_settle(topic) -> None:
    await stage_io.send(topic, b"o-1", b"{}")
    await asyncio.sleep(0)  # the delivery's callbacks run


def test_a_send_goes_to_the_app_s_producer_by_topic_name_with_kafka_s_partitioner(caplog):
    producer = RecordingProducer(None)
    with caplog.at_level(logging.WARNING, logger="hotline.stream.stage_io"):
        asyncio.run(send_and_settle(topic_with(producer)))
    assert producer.sent == [("hotline.cases.v1", b"o-1", b"{}", None, None, None)]
    assert caplog.records == []


def test_a_failed_delivery_is_logged_with_its_topic(caplog):
    producer = RecordingProducer(ConnectionError("broker gone"))
    with caplog.at_level(logging.WARNING, logger="hotline.stream.stage_io"):
        asyncio.run(send_and_settle(topic_with(producer)))
    assert [record.getMessage() for record in caplog.records] == ["a message to hotline.cases.v1 was not delivered: ConnectionError('broker gone')"]
