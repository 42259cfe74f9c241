"""Sending a message that a stage could not process to hotline.deadletter.v1."""

from __future__ import annotations

from hotline.contract import codec, topics
from hotline.core.deadletters import SourcePosition, dead_letter
from hotline.core.screening import Rejected
from hotline.stream import metrics
from hotline.stream.app import deadletter_topic, settings


async def send_dead_letter(message, stage: str, rejected: Rejected, original: bytes | None = None) -> None:
    """Dead-letter one consumed Faust message with the stage and reason, and count it.
    `original`: what failed when it is not the message itself (an item a stage held and
    released later, e.g. an appeal released by a clock promise)."""
    position = SourcePosition(message.topic, message.partition, message.offset, message.key)
    await send_dead_letter_at(position, message.value if original is None else original, stage, rejected)


async def send_dead_letter_at(position: SourcePosition, original: bytes, stage: str, rejected: Rejected) -> None:
    """Dead-letter what was read at `position` (kept by a stage, then failed)."""
    record = dead_letter(
        position,
        original,
        stage=stage,
        reason=rejected.reason,
        error=rejected.detail,
        input_event_id=rejected.input_event_id,
        max_original_bytes=settings.max_event_bytes,
        pseudonym_key=settings.pseudonym_key,
    )
    await deadletter_topic.send(key=position.label.encode(), value=codec.encode(record))
    metrics.MESSAGES_DEADLETTERED.labels(stage=stage, reason=rejected.reason).inc()
    metrics.produced(topic=topics.DEADLETTER.name).inc()
