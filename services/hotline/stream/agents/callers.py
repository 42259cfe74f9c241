"""Callers agent: appeals keyed by caller -> the final verdict (the frequent-caller rule
added to the screen stage's), passed with the appeal to the dedupe stage (re-keyed by
place) and on with its case link to the orders stage.

The frequent-caller rule needs a caller's recent appeals, which arrive from every screen
partition at once: each partition holds them in an ordered merge (hotline.stream.clocks)
until every screen partition's clock has passed them and judges them in event-time
order, so the verdicts are the same at any replay speed and with any number of workers.
It then promises the dedupe stage its merge frontier: what it sends later is stamped no
earlier (it passes each appeal on with the stamp the screen stage gave it).

A caller's history, the merge's clocks and its held appeals share one table, so what one
message changes reaches one changelog partition in the order written. An appeal is
passed on before the history that records it is stored; released again after a crash,
it gets the verdict its history entry recorded the first time.

The rules are the callers handler's (hotline.core.stages.callers): the verdict, which
appeals go on to the dedupe stage (those the screen stage's verdict lets through, as the
orders stage decided which orders wait for a link), and which quiet callers leave the
table. This agent decodes, calls the handler, sends, stores and counts.
"""

from __future__ import annotations

import logging

from hotline.contract import codec
from hotline.core.screening import Rejected
from hotline.core.stages import callers as callers_stage
from hotline.core.stages.state import Failed, StateView
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import CompactJsonTable, app, appeals_by_caller_topic, appeals_by_place_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.stage_io import send, store

STAGE = "callers"
log = logging.getLogger(__name__)

rules = bootstrap.rules().screening
dedupe_settings = bootstrap.rules().dedupe
state_table = CompactJsonTable(
    "callers",
    "caller|<pseudonym>: a caller's recent appeals, for the frequent-caller rule; merge|...: appeals held for event-time order, and the screen clocks",
    flush_rank=clocks.merge_flush_rank,
)
merges = clocks.MergeTables(STAGE, ("screen",), state_table)
promises = clocks.register(clocks.ClockPromises(STAGE, appeals_by_place_topic))


class CallerPartitions:
    """The callers handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, callers_stage.CallersPartition] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.handlers = callers_stage.CallersPartition.from_stored(rules, dedupe_settings, state_table.items())
        self.stale = False

    def handler(self, partition: int) -> callers_stage.CallersPartition:
        if partition not in self.handlers:
            self.handlers[partition] = callers_stage.CallersPartition(rules, dedupe_settings, partition)
        return self.handlers[partition]


partitions = CallerPartitions()


def _count(step: callers_stage.JudgeStep) -> None:
    metrics.APPEALS_SCREENED.labels(verdict=step.verdict.status).inc()
    for reason in step.verdict.reasons:
        metrics.APPEALS_FLAGGED.labels(verdict=step.verdict.status, reason=reason).inc()
    metrics.observe_event_time(STAGE, step.occurred_at_seconds)


@app.agent(appeals_by_caller_topic, name="callers")
async def judge_callers(stream):
    async for event in stream.events():
        message = event.message
        metrics.consumed(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            released = merges.accept(message.partition, codec.decode(message.value))
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an appeal for the callers stage: {error}"))
            continue
        handler = partitions.handler(message.partition)
        for step in handler.handle(released, StateView(state_table.get)):
            if isinstance(step, Failed):
                log.error("callers stage failed on an appeal released by %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
                rejected = Rejected("internal_error", f"{type(step.error).__name__}: {step.error}", step.item.payload.get("caused_by"))
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(step.item.payload))
                continue
            for sent in step.sent:
                await send(appeals_by_place_topic, sent.key.encode(), codec.encode(sent.value))
            store(state_table, step.written)
            _count(step)
        merges.handled(message.partition, released)
        # Only now, with every released appeal sent on: a held one is stamped at or after it.
        frontier_seconds = merges.frontier_seconds(message.partition)
        promises.promise(message.partition, frontier_seconds)
        forgotten = handler.forget_quiet(StateView(state_table.get), frontier_seconds)
        store(state_table, forgotten.written)
        metrics.CALLERS_FORGOTTEN.inc(forgotten.forgotten)
        metrics.processed(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_after_rebalance(sender, assigned, **kwargs) -> None:
    merges.stale = True
    partitions.stale = True
