"""Where a (re)started or rebalanced worker reads a partition from, and that nothing
before it is skipped. `install()` patches Faust in four places.

1. **Never committed → from the beginning.** Faust seeks every assigned partition to its
   committed offset once the tables are recovered, through aiokafka's
   `seek_to_committed`, which seeks only partitions whose committed offset is above 0.
   A partition never committed (or committed at 0) kept the position the fetcher already
   had. The crash test found it: after a `kill -9` early in a replay the case links at
   offset 0 of two partitions of hotline.cases.v1 were skipped by the restarted worker,
   and their orders waited for them forever.

2. **A record fetched before a seek is not delivered after it.** Faust resumes the
   stream partitions and only then seeks them to the committed offsets, so the fetcher
   may already have handed over a batch read from the old positions. Faust's drain loop
   went on delivering that batch after the seek: the first record past the committed
   offset made it record the offsets in between as a gap (committed as if processed), and
   when the records were fetched again from the committed offset they were below the
   read position and dropped. The crash test lost the first case links of a restarted
   worker (offsets 0-3 of every hotline.cases.v1 partition) and recorded gaps of 3-4
   records on every input topic this way. Now a record at or past the position the
   fetcher will read next is held back: a seek moved the fetcher back to it, and it is
   fetched, and delivered, again.

3. **Nothing reaches a stream buffer that resuming the flow empties.** Faust resumes the
   stream partitions, seeks them to the committed offsets (seconds: one request per
   partition) and only then resumes the app's flow, which empties every stream buffer.
   Records fetched meanwhile were in those buffers while the fetcher had moved past them:
   the first records after a restart (the one at the committed offset of each partition,
   often more) were never processed, and their offsets were committed with the records
   after them, or the commit stuck behind them for good. The crash test lost case links
   this way (their orders waited forever and held back escalations and pressure) and
   once never drained. Now the stream partitions stay paused while Faust seeks and are
   resumed once the flow has resumed; records already fetched are fetched again from the
   committed offsets.

4. **A record the fetcher hands over is delivered.** Faust drops a record below the
   offset it last delivered on the partition ("read offset"). After the seek above, a
   record that was on its way to a stream when the partition was paused can land after
   the seek and move the read offset past the records fetched again. The fetcher hands an
   offset over once per seek, so a record below the read offset is one a seek moved the
   fetcher back to: the read offset is moved back to it (a duplicate at worst).
"""

from __future__ import annotations

from faust.transport.consumer import Consumer
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread
from mode.utils.queues import FlowControlEvent

_original_seek_to_committed = AIOKafkaConsumerThread.seek_to_committed
_original_getmany = Consumer.getmany
_original_perform_seek = Consumer.perform_seek
_original_resume = FlowControlEvent.resume


async def _seek_to_committed_or_beginning(self: AIOKafkaConsumerThread):
    committed = await _original_seek_to_committed(self)
    # The app reads from the earliest offset when nothing is committed
    # (consumer_auto_offset_reset), which is also what offset 0 means.
    never_committed = sorted((tp for tp, offset in committed.items() if not offset), key=lambda tp: (tp.topic, tp.partition))
    if never_committed:
        await self.call_thread(self._ensure_consumer().seek_to_beginning, *never_committed)
    return committed


def _fetch_position(consumer: Consumer, tp) -> int | None:
    """The offset aiokafka fetches `tp` from next; None while it is being reset or the
    partition is not assigned."""
    kafka_consumer = consumer._thread._consumer
    assignment = kafka_consumer._subscription.subscription.assignment if kafka_consumer and kafka_consumer._subscription.subscription else None
    state = assignment.state_value(tp) if assignment is not None else None
    return state.position if state is not None and state.has_valid_position else None


async def _perform_seek_with_the_streams_paused(self: Consumer) -> None:
    generation_id = self.app.consumer_generation_id
    streams = {tp for tp in self.assignment() if not self._is_changelog_tp(tp)}
    self.pause_partitions(streams)
    self._buffered_partitions.difference_update(streams)  # Faust fetches those too
    await _original_perform_seek(self)
    self.app.flow_control.hotline_paused_streams = (self, generation_id, streams)


def _resume_and_then_the_streams(self: FlowControlEvent) -> None:
    _original_resume(self)  # empties every stream buffer
    paused = self.__dict__.pop("hotline_paused_streams", None)
    if paused is None:
        return
    consumer, generation_id, streams = paused
    if generation_id == consumer.app.consumer_generation_id and not consumer.app.in_recovery:
        consumer.resume_partitions(streams & consumer.assignment())
    # else another rebalance is under way: its own seek pauses and resumes them


async def _getmany_since_the_last_seek(self: Consumer, timeout: float):
    async for tp, message in _original_getmany(self, timeout):
        # A record handed over normally is behind the fetch position; one at or past it
        # was read before a seek moved the fetcher back, and will be fetched again.
        position = _fetch_position(self, tp)
        if position is None or message.offset >= position:
            continue
        read_offset = self._read_offset.get(tp)
        if read_offset is not None and message.offset < read_offset and not self._is_changelog_tp(tp):
            self._read_offset[tp] = message.offset
        yield tp, message


def install() -> None:
    """Patch Faust's consumer (idempotent)."""
    AIOKafkaConsumerThread.seek_to_committed = _seek_to_committed_or_beginning
    Consumer.getmany = _getmany_since_the_last_seek
    Consumer.perform_seek = _perform_seek_with_the_streams_paused
    FlowControlEvent.resume = _resume_and_then_the_streams
