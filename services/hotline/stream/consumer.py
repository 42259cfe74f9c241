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

Everything else is Faust's, so the patches of `restart_position` and `write_order` (on
Faust's base classes) apply to this consumer as they do to Faust's own.

Apps choose it with `broker_consumer=consumer.broker_url(...)`: Faust picks the
transport by the URL's scheme, and importing this module registers the scheme.
"""

from __future__ import annotations

import asyncio
import types
from typing import Any, Awaitable, Coroutine

from faust.transport import drivers
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as faust_aiokafka

SCHEME = "hotline-kafka"

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


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        kafka_consumer = super()._create_worker_consumer(transport)
        # Faust passes fetch_max_wait_ms=1500 and no setting for it; aiokafka reads
        # the attribute when the consumer starts and builds its fetcher.
        kafka_consumer._fetch_max_wait_ms = round(self.consumer.fetch_wait_seconds * 1000)
        return kafka_consumer


class Consumer(faust_aiokafka.Consumer):
    fetch_wait_seconds: float = FETCH_WAIT_SECONDS

    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

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
            return await super()._wait_next_records(wait_seconds)
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
