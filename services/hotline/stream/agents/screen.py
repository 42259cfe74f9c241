"""The screen stage, run by the orders agent (hotline.stream.agents.orders) on every
message of hotline.events.v1 it reads: validated, normalised, pseudonymised, redacted,
judged events on hotline.screened.v1; appeals also go on to the callers stage (re-keyed
by caller), which adds the frequent-caller rule and passes linkable appeals to the
dedupe stage; anything unreadable goes to hotline.deadletter.v1.

The screen and the order fold share a key, the order id, so they share an agent: a
screened event goes on to the order fold in memory, not through a topic read back
(hotline.screened.v1 is for subscribers; the pipeline does not read it).

The verdict on hotline.screened.v1 is the one on what an appeal says (its content, place
and words); whether its caller calls too often about too many things needs the caller's
other appeals, which arrive on other partitions: the callers stage judges that, and the
final verdict travels with the appeal's case link (see hotline.stream.agents.callers).

Each partition keeps a clock, the highest occurred_at of its valid events (clock ticks
move it in live mode and at the end of a replay; how far behind the wall clock the input
is read decides a live worker's ticks, hotline.stream.idle_ticks). Appeals for the callers
stage are stamped with it and the clock is promised to that stage (hotline.stream.clocks),
which then judges each caller's appeals in event-time order at any replay speed. The
clock is kept in a table, with the input offset it covers, so a restarted or new owner of
the partition never promises less than before, and input read again after a crash is
stamped as the first time.

The rules are the screen handler's (hotline.core.stages.screen): what is valid, what
goes where, the stamps and when the clock is stored. This module calls the handler,
sends, stores, promises and counts.
"""

from __future__ import annotations

import logging
import time

from hotline.contract import codec, schemas, topics
from hotline.core.screening import Rejected, ScreenSettings
from hotline.core.stages import screen as screen_stage
from hotline.core.stages.state import Failed, Sent, StateView
from hotline.stream import bootstrap, clocks, idle_ticks, metrics
from hotline.stream.app import (
    app,
    appeals_by_caller_topic,
    json_table,
    screened_topic,
    settings,
)
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.stage_io import send, store

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
promises = clocks.register(clocks.ClockPromises(STAGE, appeals_by_caller_topic))
SENT_TO = {screen_stage.SCREENED: screened_topic, screen_stage.APPEALS_BY_CALLER: appeals_by_caller_topic}


class ScreenPartitions:
    """The screen handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, screen_stage.ScreenPartition] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.handlers = screen_stage.ScreenPartition.from_stored(rules, screen_settings, validator, clocks_table.values())
        for partition, handler in self.handlers.items():
            promises.promise(partition, handler.clock_seconds)
        self.stale = False

    def handler(self, partition: int) -> screen_stage.ScreenPartition:
        if self.stale:
            self.rebuild()
        if partition not in self.handlers:
            self.handlers[partition] = screen_stage.ScreenPartition(rules, screen_settings, validator, partition)
        return self.handlers[partition]


partitions = ScreenPartitions()


async def _apply(partition: int, step: screen_stage.ScreenStep) -> None:
    """Send what a step sent, then store and promise its clock."""
    for sent in step.sent:
        await send(SENT_TO[sent.topic], sent.key.encode(), codec.encode(sent.value))
    store(clocks_table, step.written)
    promises.promise(partition, step.promised_seconds)


async def advance(partition: int, at_seconds: float) -> None:
    """Live mode (idle partitions) and the end of a replay: event time moves on."""
    step = partitions.handler(partition).advance(StateView(clocks_table.get), at_seconds, time.monotonic())
    await _apply(partition, step)


async def screen_event(message) -> Sent | None:
    """Screen one message of hotline.events.v1: what it sent to hotline.screened.v1, or
    None when it was dead-lettered."""
    metrics.consumed(topic=message.topic).inc()
    read_at_seconds = time.time()
    raw = screen_stage.RawEvent(message.offset, message.value, read_at_seconds, time.monotonic())
    [step] = partitions.handler(message.partition).handle([raw], StateView(clocks_table.get))
    if isinstance(step, Failed):
        log.error("screen failed on %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
        await send_dead_letter(message, STAGE, Rejected("internal_error", f"{type(step.error).__name__}: {step.error}"))
        return None
    if isinstance(step.outcome, Rejected):
        await send_dead_letter(message, STAGE, step.outcome)
        return None
    idle_ticks.ticker.newest_input.observe(step.outcome.occurred_at_seconds, read_at_seconds)
    await _apply(message.partition, step)
    metrics.produced(topic=topics.SCREENED.name).inc()
    metrics.processed(stage=STAGE).inc()
    metrics.observe_event_time(STAGE, step.outcome.occurred_at_seconds)
    return next(sent for sent in step.sent if sent.topic == screen_stage.SCREENED)


@app.on_partitions_assigned.connect
async def reload_clocks_after_rebalance(sender, assigned, **kwargs) -> None:
    partitions.stale = True
