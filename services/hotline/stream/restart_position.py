"""Where a (re)started worker reads a partition from: its committed offset, or the
beginning if the group never committed one. `install()` patches Faust to do so.

Faust seeks every assigned partition to its committed offset once the tables are
recovered, through aiokafka's `seek_to_committed`, which seeks only partitions whose
committed offset is above 0. A partition never committed (or committed at 0) keeps the
position the fetcher already had — and Faust lets the fetcher run while it recovers the
tables, so that position can be past records no stream ever saw. They were lost: the
next record processed moved the commit past them. The crash test found it after a
`kill -9` early in a replay: the case links at offset 0 of two partitions of
hotline.cases.v1 (the first worker had not committed there yet) were skipped by the
restarted worker, and their orders waited for them forever.
"""

from __future__ import annotations

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_original_seek_to_committed = AIOKafkaConsumerThread.seek_to_committed


async def _seek_to_committed_or_beginning(self: AIOKafkaConsumerThread):
    committed = await _original_seek_to_committed(self)
    # The app reads from the earliest offset when nothing is committed
    # (consumer_auto_offset_reset), which is also what offset 0 means.
    never_committed = sorted((tp for tp, offset in committed.items() if not offset), key=lambda tp: (tp.topic, tp.partition))
    if never_committed:
        await self.call_thread(self._ensure_consumer().seek_to_beginning, *never_committed)
    return committed


def install() -> None:
    """Patch Faust's aiokafka consumer thread (idempotent)."""
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed_or_beginning
