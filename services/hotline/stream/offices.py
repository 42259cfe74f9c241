"""The office registry as every worker sees it: all of hotline.offices.v1, kept current.

Reference data is small and every worker needs all of it (capacities, levels, parents),
whatever partitions of the event topics it owns, so each worker reads the whole
compacted topic with its own group-less consumer instead of a partitioned agent.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from hotline.contract import codec, schemas, topics

log = logging.getLogger(__name__)


class OfficeRegistry:
    def __init__(self) -> None:
        self.offices: dict[str, dict[str, Any]] = {}
        self.loaded = asyncio.Event()
        self.rejected = 0
        self._listeners: list[Callable[[dict[str, Any]], None]] = []
        self._validator = schemas.topic_validator(topics.OFFICES.name)
        self._levels: dict[str, str | None] | None = None

    def on_office(self, listener: Callable[[dict[str, Any]], None]) -> None:
        """Call `listener` with every office record added or changed, those known included."""
        self._listeners.append(listener)
        for office in self.offices.values():
            listener(office)

    def get(self, office_id: str | None) -> dict[str, Any] | None:
        return self.offices.get(office_id) if office_id else None

    def levels(self) -> dict[str, str | None]:
        """Office id -> level of every office; the same dictionary until the registry
        changes (the rates stage reads it on every message). Not to be modified."""
        if self._levels is None:
            self._levels = {office_id: office.get("level") for office_id, office in self.offices.items()}
        return self._levels

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """Fold one registry message: a value upserts, a tombstone deletes."""
        if key is None:
            self.rejected += 1
            return
        office_id = key.decode("utf-8", "replace")
        if value is None:
            self.offices.pop(office_id, None)
            self._levels = None
            return
        try:
            office = codec.decode(value)
        except ValueError:
            office = None
        if office is None or self._validator.validate(office) is not None or office.get("office_id") != office_id:
            self.rejected += 1
            log.warning("ignored an invalid office record for key %s", office_id)
            return
        self.offices[office_id] = office
        self._levels = None
        for listener in self._listeners:
            listener(office)

    @staticmethod
    async def _caught_up(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
        for partition, end_offset in end.items():
            if await consumer.position(partition) < end_offset:
                return False
        return True

    async def follow_forever(self, consumer_options: dict[str, Any], retry_seconds: float = 5.0) -> None:
        """`follow`, restarted after a connection failure: reference data must not stop a worker."""
        while True:
            try:
                await self.follow(consumer_options)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("office registry consumer failed; retrying in %.0fs", retry_seconds)
                await asyncio.sleep(retry_seconds)

    async def follow(self, consumer_options: dict[str, Any]) -> None:
        """Read the topic from the beginning, mark `loaded` at its end, then keep following."""
        consumer = AIOKafkaConsumer(enable_auto_commit=False, group_id=None, **consumer_options)
        await consumer.start()
        try:
            partitions = [TopicPartition(topics.OFFICES.name, p) for p in consumer.partitions_for_topic(topics.OFFICES.name) or {0}]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while True:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    for record in records:
                        self.apply(record.key, record.value)
                if not self.loaded.is_set() and await self._caught_up(consumer, end):
                    self.loaded.set()
                    log.info("office registry loaded: %d offices", len(self.offices))
        finally:
            await consumer.stop()
