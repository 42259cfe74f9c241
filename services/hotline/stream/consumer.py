"""The Kafka transport of hotline's Faust apps: Faust's aiokafka transport whose
consumer does not wait a second for records it could already have.

Faust 0.15 makes a busy worker idle in two places:

1. **The broker holds a fetch 1.5 s.** Faust creates aiokafka's consumer with
   `fetch_max_wait_ms=1500`, hard-coded. aiokafka keeps one fetch request in flight per
   broker and leaves out of it the partitions whose records it still holds, so while a
   busy partition is being processed the request in flight names only idle ones (every
   app has some: the assignor's leader topic, quiet stage-to-stage topics), the broker
   holds it the full 1.5 s, and the busy partition is not fetched again until it returns.
   Here the broker holds a fetch at most `fetch_wait_seconds`.

2. **A full stream buffer costs a second.** When a stream's buffer fills, Faust's flow
   control drops the partition from the set the next `getmany` reads; `getmany` then
   waits its 1 s timeout for records of the other (idle) partitions, or sleeps 1 s when
   no partition is left, although the buffer drains in milliseconds and the partition's
   records are already fetched. In `hotline bench` that was an empty second about every
   4,000 messages. Here `getmany` waits at most `fetch_wait_seconds`, and with every
   partition dropped it waits for the first buffer to drain, that long at the most.

3. **Every message costs four futures.** Faust's drain loop hands each message to the
   streams with `wait_first(callback(message), suspend_flow.wait())`, so that a
   rebalance can abandon a delivery that waits: four futures made and three cancelled,
   about 100 of the 170 us a message cost. The delivery almost never waits (the stream
   buffer has room, the flow is on), so here it is run up to its first wait and only a
   delivery that does wait goes through `wait_first`, as Faust's would.

4. **A fetch hands over only what Faust delivers.** Faust passes the consumer thread
   its live set of active partitions, which the main thread changes while the fetch waits
   (a stream partition is paused while it is sought to its committed offset, the
   changelogs once recovered). aiokafka's `Fetcher.fetched_records` reads an empty set
   as "every partition" and moves each position past what it hands over, and Faust's
   `Consumer.getmany` drops the records of a partition that is no longer active (nor
   buffered). A record fetched from the committed offset after the seek can be dropped
   so: the next one delivered lies past a hole, and Faust commits a hole as a gap (a
   restarted worker lost input). With Faust's 1.5 s broker wait the records read after
   the seek seldom arrive while such a fetch still waits; with 50 ms they can. Here the
   fetch gets a copy of the set (none when it is empty), and what comes back for a
   partition that is no longer active is sought back to its first record and fetched
   again.

Everything else is Faust's, so the patches of `restart_position` and `write_order` (on
Faust's base classes) apply to this consumer as they do to Faust's own.

Apps choose it with `broker_consumer=consumer.broker_url(...)`: Faust picks the
transport by the URL's scheme, and importing this module registers the scheme.
"""

from __future__ import annotations

import asyncio
import logging
import types
from typing import Any, Awaitable, Coroutine, Mapping

from faust.transport import drivers
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "hotline-kafka"

logger = logging.getLogger(__name__)

# Short enough that an idle partition in a fetch costs the busy ones little; long enough
# that an idle worker asks the broker twenty times a second, not more.
FETCH_WAIT_SECONDS = 0.05


def broker_url(bootstrap_servers: str) -> str:
    """Faust's broker setting for `host:port[,host:port...]` with this transport."""
    return ";".join(f"{SCHEME}://{server.strip()}" for server in bootstrap_servers.split(","))


def fetch_wait(timeout_seconds: float, fetch_wait_seconds: float) -> float:
    """How long one `getmany` waits for records: Faust's timeout, at most `fetch_wait_seconds`."""
    return min(timeout_seconds, fetch_wait_seconds)


@types.coroutine
def _resumed(coroutine: Coroutine, pending: Any):
    # What a task running `coroutine` would do from here: wait for what it yielded
    # (a future, or None for a bare yield), then go on with it.
    while True:
        try:
            yield pending
        except BaseException as error:  # cancelled while it waited: the coroutine is told
            try:
                pending = coroutine.throw(error)
            except StopIteration as stop:
                return stop.value
            continue
        return (yield from coroutine)


async def _rest(coroutine: Coroutine, pending: Any) -> Any:
    return await _resumed(coroutine, pending)


def run_until_it_waits(coroutine: Coroutine) -> Awaitable | None:
    """Run `coroutine` in the caller's task up to its first wait: None if it finished
    (its result dropped, its exception raised), else an awaitable of the rest."""
    try:
        pending = coroutine.send(None)
    except StopIteration:
        return None
    return _rest(coroutine, pending)


def _fetch_position(kafka_consumer: Any, tp: Any) -> int | None:
    """The offset aiokafka fetches `tp` from next; None while it is being reset or the
    partition is not assigned."""
    subscription = kafka_consumer._subscription.subscription
    assignment = subscription.assignment if subscription is not None else None
    if assignment is None or tp not in assignment.tps:
        return None
    state = assignment.state_value(tp)
    return state.position if state.has_valid_position else None


def rewind(kafka_consumer: Any, spans: Mapping[Any, tuple[int, int]]) -> list:
    """Seek each partition back to the first offset of records it handed over and nobody
    delivered, given as (first offset, the offset after the last): only where the position
    is still the one after them, since a seek in between already chose where to read."""
    rewound = []
    for tp, (first, after) in spans.items():
        if _fetch_position(kafka_consumer, tp) == after:
            kafka_consumer.seek(tp, first)
            rewound.append(tp)
    return rewound


def _span(records: list) -> tuple[int, int]:
    return records[0].offset, records[-1].offset + 1


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        kafka_consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 and no setting for it; aiokafka reads
        # the attribute when the consumer starts and builds its fetcher.
        kafka_consumer._fetch_max_wait_ms = round(self.consumer.fetch_wait_seconds * 1000)
        return kafka_consumer

    async def _fetch_records(self, consumer: Any, active_partitions: Any, timeout: float | None = None, max_records: int | None = None) -> dict:
        # Faust hands over its live set, which the main thread changes while the fetch
        # waits; aiokafka's fetched_records reads an empty one as every partition.
        if active_partitions is not None:
            active_partitions = frozenset(active_partitions)
            if not active_partitions:
                return {}
        records = await super()._fetch_records(consumer, active_partitions, timeout=timeout, max_records=max_records)
        if active_partitions is None:
            return records
        # Faust's getmany drops the records of a partition paused meanwhile, after aiokafka
        # moved its position past them: seek it back so they are fetched again.
        undelivered = {tp: _span(batch) for tp, batch in records.items() if batch and not self.consumer.delivers(tp)}
        for tp in rewind(consumer, undelivered):
            logger.info("Fetched %s at %s-%s after it was paused: read again", tp, *undelivered[tp])
            del records[tp]
        return records

    def rewind(self, spans: Mapping[Any, tuple[int, int]]) -> list:
        return rewind(self._ensure_consumer(), spans)


class Consumer(faust_aiokafka.Consumer):
    fetch_wait_seconds: float = FETCH_WAIT_SECONDS

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def delivers(self, tp: Any) -> bool:
        """Whether Faust's getmany delivers a record of `tp` now (it drops the others)."""
        return tp in self._get_active_partitions() or tp in self._buffered_partitions

    async def _without_undelivered(self, records: Any) -> Any:
        # A partition paused between the consumer thread's check and here: its records
        # are sought back in that thread, and left out.
        while records:
            undelivered = {tp: _span(batch) for tp, batch in records.items() if batch and not self.delivers(tp)}
            if not undelivered:
                return records
            await self._thread.call_thread(self._thread.rewind, undelivered)
            records = {tp: batch for tp, batch in records.items() if tp not in undelivered}
        return records

    def on_buffer_drop(self, tp: Any) -> None:
        super().on_buffer_drop(tp)
        self._buffer_drained().set()

    def _buffer_drained(self) -> asyncio.Event:
        if "hotline_buffer_drained" not in self.__dict__:
            self.hotline_buffer_drained = asyncio.Event()
        return self.hotline_buffer_drained

    async def _wait_next_records(self, timeout: float) -> Any:
        if not self.flow_active:
            await self.wait(self.can_resume_flow)
        wait_seconds = fetch_wait(timeout, self.fetch_wait_seconds)
        if self.app.client_only or self._get_active_partitions():
            records, active_partitions = await super()._wait_next_records(wait_seconds)
            if not self.app.client_only:
                records = await self._without_undelivered(records)
            return records, active_partitions
        # Every partition's stream buffer is full: Faust would sleep 1 s here.
        drained = self._buffer_drained()
        drained.clear()
        try:
            await asyncio.wait_for(drained.wait(), wait_seconds)
        except asyncio.TimeoutError:
            pass
        return {}, self._get_active_partitions()


    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover (needs a broker)
        # Faust 0.15's loop (faust.transport.consumer.Consumer._drain_messages) with one
        # change: the delivery to the streams runs until it waits before `wait_first`.
        callback = self.callback
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set

        get_read_offset = self._read_offset.__getitem__
        set_read_offset = self._read_offset.__setitem__
        set_flag = self.diag.set_flag
        unset_flag = self.diag.unset_flag
        commit_every = self._commit_every
        acks_enabled_for = self.app.topics.acks_enabled_for

        yield_every = 100
        num_since_yield = 0
        sleep = asyncio.sleep

        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > yield_every:
                            await sleep(0)
                            num_since_yield = 0

                        offset = message.offset
                        r_offset = get_read_offset(tp)
                        if r_offset is None or offset >= r_offset:
                            gap = offset - (r_offset or 0)
                            if gap > 1 and r_offset:
                                if acks_enabled_for(message.topic):
                                    await self._add_gap(tp, r_offset + 1, offset)
                            if commit_every is not None:
                                if self._n_acked >= commit_every:
                                    self._n_acked = 0
                                    await self.commit()
                            waiting = run_until_it_waits(callback(message))
                            if waiting is not None:
                                await self.wait_first(waiting, self.suspend_flow.wait())
                            set_read_offset(tp, offset)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)


class Transport(faust_aiokafka.Transport):
    Consumer = Consumer


drivers.TRANSPORTS[SCHEME] = f"{__name__}:Transport"
