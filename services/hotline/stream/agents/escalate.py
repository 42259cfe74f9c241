"""Escalate agent: escalation proposals keyed by receiving office -> hotline.escalations.v1.

Each receiving office has a daily budget (config/escalation.toml): proposals within it
are raised at once; the rest are held back and summarised in one event when the day ends
in event time, so supervision does not itself become overload.

Which proposals fit in a budget depends on their order, and they come from every orders
partition at once, so each partition admits them in event-time order: an ordered merge
(hotline.stream.clocks) holds them until every orders partition's clock has passed
them, and a day is closed when that merge's frontier passes its end. The frontier is
also the clock this stage promises the pressure stage, which counts raised escalations.

The rules are the escalate handler's (hotline.core.stages.escalate); this agent decodes,
calls the handler, sends, stores and counts.
"""

from __future__ import annotations

import logging

from hotline.contract import codec, topics
from hotline.core import escalation
from hotline.core.screening import Rejected
from hotline.core.stages import escalate as escalate_stage
from hotline.core.stages.state import ESCALATIONS, OFFICE_FACTS, Failed, StateView
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import app, escalation_proposals_topic, escalations_topic, json_table, office_facts_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.registry import registry
from hotline.stream.stage_io import send, store

STAGE = "escalate"
log = logging.getLogger(__name__)

policy = bootstrap.rules().escalation
# Budgets and the merge's held proposals share a table (see clocks.MergeTables).
budgets_table = json_table(
    "escalation-budgets",
    "Per receiving office: escalations raised and held back per day; merge|...: proposals held for event-time order, and the orders clocks",
    flush_rank=clocks.merge_flush_rank,
)
promises = clocks.register(clocks.ClockPromises(STAGE, office_facts_topic))
merges = clocks.MergeTables(STAGE, ("orders",), budgets_table)


class BudgetPartitions:
    """The escalate handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, escalate_stage.EscalatePartition] = {}
        self.stale = True

    def rebuild(self) -> None:
        stored = ((office_id, value) for office_id, value in budgets_table.items() if not merges.owns(office_id))
        self.handlers = escalate_stage.EscalatePartition.from_stored(policy, registry.offices, stored)
        self.stale = False

    def handler(self, partition: int) -> escalate_stage.EscalatePartition:
        if partition not in self.handlers:
            self.handlers[partition] = escalate_stage.EscalatePartition(policy, registry.offices, partition)
        return self.handlers[partition]


partitions = BudgetPartitions()
SENT_TO = {ESCALATIONS: escalations_topic, OFFICE_FACTS: office_facts_topic}


async def _apply(step: escalate_stage.EscalateStep) -> None:
    """Send what a step raised and summarised, then store the budgets it changed."""
    for sent in step.sent:
        await send(SENT_TO[sent.topic], sent.key.encode(), codec.encode(sent.value))
        if sent.topic == ESCALATIONS:
            metrics.produced(topic=topics.ESCALATIONS.name).inc()
    store(budgets_table, step.written)
    for event in step.events:
        if event["type"] == escalate_stage.RAISED:
            metrics.ESCALATIONS.labels(reason=event["reason"], level=event["to_level"]).inc()
        else:
            metrics.ESCALATIONS_HELD_BACK.labels(level=event.get("to_level") or "unknown").inc(event["count"])


@app.agent(escalation_proposals_topic, name="escalate")
async def escalate(stream):
    await registry.loaded.wait()
    async for event in stream.events():
        message = event.message
        metrics.consumed(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            value = codec.decode(message.value)
            if not clocks.is_promise(value):
                escalation.Proposal.from_dict(value["payload"])
            released = merges.accept(message.partition, value)
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an escalation proposal: {error}"))
            continue
        handler = partitions.handler(message.partition)
        for step in handler.handle(released, StateView(budgets_table.get)):
            if isinstance(step, Failed):
                log.error("escalate failed on a proposal released by %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
                rejected = Rejected("internal_error", f"{type(step.error).__name__}: {step.error}", step.item.payload.get("caused_by"))
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(step.item.payload))
                continue
            await _apply(step)
        merges.handled(message.partition, released)
        frontier = merges.frontier_seconds(message.partition)
        await _apply(handler.close_through(StateView(budgets_table.get), frontier))
        # Everything released from now on is stamped at or after the frontier.
        promises.promise(message.partition, frontier)
        metrics.processed(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_budget_partitions(sender, assigned, **kwargs) -> None:
    partitions.stale = True
    merges.stale = True
