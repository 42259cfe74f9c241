"""What an agent does with a stage handler's steps (hotline.core.stages): send the step's
messages, then store the table writes that record them (hotline.stream.write_order)."""

from __future__ import annotations

import asyncio
import logging
from typing import Iterable

import faust

from hotline.core.stages.state import Written

log = logging.getLogger(__name__)


async def send(topic: faust.TopicT, key: bytes, value: bytes) -> None:
    """Hand a message to the app's Kafka producer; its delivery is not awaited.

    Faust's `Topic.send` wraps each message in a pending and a future message and calls
    the sensors before and after it: about 40 % of a send's cost, for nothing a stage
    uses. The producer is the same, so the send is ordered before the table writes that
    record it as Faust's are, and a failed delivery is logged as Faust logs it."""
    name = topic.get_topic_name()
    delivery = await topic.app.producer.send(name, key, value, partition=None, timestamp=None, headers=None)
    delivery.add_done_callback(lambda done: _log_failed_delivery(name, done))


def _log_failed_delivery(topic_name: str, delivery: asyncio.Future) -> None:
    if not delivery.cancelled() and delivery.exception() is not None:
        log.warning("a message to %s was not delivered: %r", topic_name, delivery.exception())


def store(table, written: Iterable[Written]) -> None:
    for write in written:
        if write.value is None:
            table.pop(write.key, None)
        else:
            table[write.key] = write.value
