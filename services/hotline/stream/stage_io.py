"""What an agent does with a stage handler's steps (hotline.core.stages): send the step's
messages, then store the table writes that record them (hotline.stream.write_order)."""

from __future__ import annotations

from typing import Iterable

import faust

from hotline.core.stages.state import Written
from hotline.stream import write_order


async def send(topic: faust.TopicT, key: bytes, value: bytes, partition: int | None = None) -> None:
    """Hand a message to the app's Kafka producer, in a record batch of its topic
    partition (hotline.stream.write_order.StageBatches); its delivery is not awaited.

    Faust's `Topic.send` wraps each message in a pending and a future message and calls
    the sensors before and after it, and aiokafka's `send` gives each its own future: most
    of a send's cost, for nothing a stage uses. The producer and its partitioner are the
    same, so the message goes where `Topic.send` would put it, before the table writes
    that record it, and a failed delivery is logged."""
    producer = topic.app.producer._ensure_producer()
    await write_order.stage_batches.send(producer, topic.get_topic_name(), key, value, partition)


def store(table, written: Iterable[Written]) -> None:
    for write in written:
        if write.value is None:
            table.pop(write.key, None)
        else:
            table[write.key] = write.value
