"""Screen agent: hotline.events.v1 -> validated, normalised, pseudonymised, redacted,
judged events on hotline.screened.v1; appeals also go on to the callers stage (re-keyed by
caller), which adds the frequent-caller rule and passes linkable appeals to the dedupe
stage; anything unreadable goes to hotline.deadletter.v1.

The verdict on hotline.screened.v1 is the one on what an appeal says (its content, place
and words); whether its caller calls too often about too many things needs the caller's
other appeals, which arrive on other partitions: the callers stage judges that, and the
final verdict travels with the appeal's case link (see hotline.stream.agents.callers).

Each partition keeps a clock, the highest occurred_at of its valid events (clock ticks
move it in live mode and at the end of a replay; how far behind the wall clock the input
is read decides a live worker's ticks, hotline.stream.idle_ticks). Appeals for the callers
stage are stamped with it and the clock is promised to that stage (hotline.stream.clocks), which
then judges each caller's appeals in event-time order at any replay speed. The clock is
kept in a table, with the input offset it covers, so a restarted or new owner of the
partition never promises less than before, and input read again after a crash is
stamped as the first time (hotline.core.ordering.StampClock).

Every event of an order takes this one path to the orders stage, so an order's appeal
always reaches it before the order's later lifecycle events, at any replay speed.
"""

from __future__ import annotations

import logging
import time

from hotline.contract import codec, schemas, topics
from hotline.core import screen_rules
from hotline.core.ordering import StampClock
from hotline.core.screening import Rejected, ScreenSettings, screen
from hotline.stream import bootstrap, clocks, idle_ticks, metrics
from hotline.stream.app import (
    app,
    appeals_by_caller_topic,
    clock_ticks_topic,
    json_table,
    raw_topics,
    screened_topic,
    settings,
)
from hotline.stream.deadletters import send_dead_letter

STAGE = "screen"
log = logging.getLogger(__name__)

validator = schemas.event_validator(topics.EVENTS.name)
screen_settings = ScreenSettings(
    pseudonym_key=settings.pseudonym_key,
    max_event_bytes=settings.max_event_bytes,
    max_future_seconds=settings.max_future_seconds or None,
)
rules = bootstrap.rules().screening
clocks_table = json_table("screen-clocks", "Per events partition: the clock promised to the callers stage")
# Writing the clock on every event would double the changelog traffic; the promise only
# ever uses the stored value, so storing it at most this often just delays the promise.
CLOCK_STORE_INTERVAL_SECONDS = 0.5


class PartitionClocks:
    """Per events partition: the stamp clock (hotline.core.ordering), and what is stored of it."""

    def __init__(self) -> None:
        self.clocks: dict[int, StampClock] = {}
        self.stored_at_wall: dict[int, float] = {}
        self.promises = clocks.register(clocks.ClockPromises(STAGE, appeals_by_caller_topic))
        self.stale = True

    @property
    def current(self) -> dict[int, float]:
        return {partition: clock.clock_seconds for partition, clock in self.clocks.items() if clock.clock_seconds is not None}

    def rebuild(self) -> None:
        self.clocks = {value["partition"]: StampClock(value["at_seconds"], value.get("offset", -1)) for value in clocks_table.values()}
        for partition, clock in self.clocks.items():
            self.promises.promise(partition, clock.clock_seconds)
        self.stale = False

    def stamp(self, partition: int, offset: int, at_seconds: float) -> float:
        """The merge time for the input message at `offset` of the partition."""
        return self._clock(partition, lambda clock: clock.stamp(offset, at_seconds))

    def advance(self, partition: int, at_seconds: float) -> None:
        """A clock tick: event time moves on without input; stored and promised at once."""
        self._clock(partition, lambda clock: clock.advance(at_seconds), store_now=True)

    def _clock(self, partition: int, step, store_now: bool = False) -> float:
        if self.stale:
            self.rebuild()
        clock = self.clocks.setdefault(partition, StampClock())
        stamped = step(clock)
        now = time.monotonic()
        if store_now or now - self.stored_at_wall.get(partition, 0.0) >= CLOCK_STORE_INTERVAL_SECONDS:
            clocks_table[f"screen/{partition}"] = {"at_seconds": clock.clock_seconds, "offset": clock.covered_offset, "partition": partition}
            self.stored_at_wall[partition] = now
            self.promises.promise(partition, clock.clock_seconds)
        return stamped


partition_clocks = PartitionClocks()


def caller_key(appeal: screen_rules.Appeal) -> str:
    """The callers stage's key: the caller's pseudonym; an appeal without a caller (311
    imports) is judged on its own, under its order id."""
    return appeal.caller_id or f"order:{appeal.order_id}"


async def _judge_appeal(screened: dict, merge_at_seconds: float) -> None:
    appeal = rules.appeal_from_screened(screened)
    judged = screen_rules.judged_appeal(screened, appeal, rules.content_verdict(appeal))
    await screened_topic.send(key=appeal.order_id.encode(), value=codec.encode(judged))
    item = clocks.merge_item(merge_at_seconds, f"{appeal.order_id}|{screened['caused_by']}", judged)
    await appeals_by_caller_topic.send(key=caller_key(appeal).encode(), value=item)


def _on_tick(message) -> None:
    """Live mode (idle partitions) and the end of a replay: event time moves on."""
    tick = codec.decode(message.value)
    partition_clocks.advance(message.partition, float(tick["now_seconds"]))


@app.agent(raw_topics(topics.EVENTS.name, clock_ticks_topic.get_topic_name()), name="screen")
async def screen_events(stream):
    async for event in stream.events():
        message = event.message
        if message.topic != topics.EVENTS.name:
            # The orders agent reads the same ticks and counts them (one count per message).
            try:
                _on_tick(message)
            except (ValueError, TypeError, KeyError) as error:
                await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not a clock tick: {error}"))
            continue
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        try:
            read_at_seconds = time.time()
            outcome = screen(message.value, validator, screen_settings, now_seconds=read_at_seconds)
            if not isinstance(outcome, Rejected):
                idle_ticks.ticker.newest_input.observe(outcome.occurred_at_seconds, read_at_seconds)
                merge_at_seconds = partition_clocks.stamp(message.partition, message.offset, outcome.occurred_at_seconds)
                if outcome.event["type"] == "appeal.received":
                    await _judge_appeal(outcome.event, merge_at_seconds)
                else:
                    await screened_topic.send(key=outcome.order_id.encode(), value=codec.encode(outcome.event))
        except Exception as error:  # a bug must not stop the worker: dead-letter and go on
            log.exception("screen failed on %s/%s/%s", message.topic, message.partition, message.offset)
            outcome = Rejected("internal_error", f"{type(error).__name__}: {error}")
        if isinstance(outcome, Rejected):
            await send_dead_letter(message, STAGE, outcome)
            continue
        metrics.MESSAGES_PRODUCED.labels(topic=topics.SCREENED.name).inc()
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()
        metrics.observe_event_time(STAGE, outcome.occurred_at_seconds)


@app.on_partitions_assigned.connect
async def reload_clocks_after_rebalance(sender, assigned, **kwargs) -> None:
    partition_clocks.stale = True
