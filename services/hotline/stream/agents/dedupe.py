"""Dedupe agent: appeals keyed by place -> a case link or a new case on hotline.cases.v1.

The rules are the dedupe handler's (hotline.core.stages.dedupe): each partition keeps a
near-duplicate index (MinHash LSH over character n-grams, see hotline.core.dedupe) in
memory; its entries are also kept in a table so the index is rebuilt after a restart or
rebalance, and both forget appeals older than the window as event time advances, so
memory stays bounded. This agent decodes, calls the handler, sends, stores and counts.

Which appeal of a case comes first decides the links, and appeals reach a partition
from every callers partition at once, so they are linked in event-time order: each
partition holds them in an ordered merge (hotline.stream.clocks) until every callers
partition's clock has passed them. Each link carries the appeal's final verdict, which
the orders stage gives the order.

Index entries, case repeat counts and held appeals share one table, so what one message
changes reaches one changelog partition in the order written; links are sent before
the entries that record them are stored (hotline.stream.write_order).
"""

from __future__ import annotations

import logging

from hotline.contract import codec, topics
from hotline.core.screening import Rejected
from hotline.core.stages import dedupe as dedupe_stage
from hotline.core.stages.state import Failed, StateView
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import CompactJsonTable, app, appeals_by_place_topic, cases_topic
from hotline.stream.deadletters import send_dead_letter
from hotline.stream.stage_io import send, store

STAGE = "dedupe"
log = logging.getLogger(__name__)

rules = bootstrap.rules().screening
settings = bootstrap.rules().dedupe
state_table = CompactJsonTable(
    "dedupe",
    "entry|<order id>: an appeal's dedupe index entry (rebuilds the in-memory index); case|<case id>: how many "
    "appeals repeated a case still in the index, and the last one counted; merge|...: appeals held for event-time order, and the callers clocks",
    flush_rank=clocks.merge_flush_rank,
)
merges = clocks.MergeTables(STAGE, ("callers",), state_table)


class PartitionIndexes:
    """The dedupe handlers of this worker's partitions, rebuilt from the table."""

    def __init__(self) -> None:
        self.handlers: dict[int, dedupe_stage.DedupePartition] = {}
        self.stale = True

    def rebuild(self) -> None:
        self.handlers = dedupe_stage.DedupePartition.from_stored(rules, settings, state_table.items())
        self.stale = False
        self.gauge()

    def handler(self, partition: int) -> dedupe_stage.DedupePartition:
        if partition not in self.handlers:
            self.handlers[partition] = dedupe_stage.DedupePartition(rules, settings, partition)
        return self.handlers[partition]

    def gauge(self) -> None:
        metrics.DEDUPE_INDEX_ENTRIES.set(sum(handler.index.size for handler in self.handlers.values()))


partitions = PartitionIndexes()


@app.agent(appeals_by_place_topic, name="dedupe")
async def link_cases(stream):
    async for event in stream.events():
        message = event.message
        metrics.consumed(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            released = merges.accept(message.partition, codec.decode(message.value))
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an appeal for dedupe: {error}"))
            continue
        handler = partitions.handler(message.partition)
        view = StateView(state_table.get)
        for step in handler.handle([item.payload for item in released], view):
            if isinstance(step, Failed):
                log.error("dedupe failed on an appeal released by %s/%s/%s", message.topic, message.partition, message.offset, exc_info=step.error)
                rejected = Rejected("internal_error", f"{type(step.error).__name__}: {step.error}", step.item.get("caused_by"))
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(step.item))
                continue
            for sent in step.sent:
                await send(cases_topic, sent.key.encode(), codec.encode(sent.value))
                metrics.produced(topic=topics.CASES.name).inc()
            store(state_table, step.written)
            if step.counted_relation is not None:
                metrics.REPEATS.labels(relation=step.counted_relation).inc()
        merges.handled(message.partition, released)
        partitions.gauge()
        metrics.processed(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_indexes_after_rebalance(sender, assigned, **kwargs) -> None:
    partitions.stale = True
    merges.stale = True
