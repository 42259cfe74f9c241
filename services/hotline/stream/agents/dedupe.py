"""Dedupe agent: appeals keyed by place -> a case link or a new case on hotline.cases.v1.

Each partition keeps a near-duplicate index (MinHash LSH over character n-grams, see
hotline.core.dedupe) in memory; its entries are also kept in a table so the index is
rebuilt after a restart or rebalance, and both forget appeals older than the window as
event time advances, so memory stays bounded.

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
from collections import defaultdict

from hotline.contract import codec, topics
from hotline.core import dedupe
from hotline.core.screening import Rejected
from hotline.stream import bootstrap, clocks, metrics
from hotline.stream.app import CompactJsonTable, app, appeals_by_place_topic, cases_topic
from hotline.stream.deadletters import send_dead_letter

STAGE = "dedupe"
log = logging.getLogger(__name__)

rules = bootstrap.rules().screening
settings = bootstrap.rules().dedupe
state_table = CompactJsonTable(
    "dedupe",
    "entry|<order id>: an appeal's dedupe index entry (rebuilds the in-memory index); case|<case id>: how many "
    "appeals repeated a case still in the index, and the last one counted; merge|...: appeals held for event-time order, and the callers clocks",
)
merges = clocks.MergeTables(STAGE, ("callers",), state_table)


def entry_key(order_id: str) -> str:
    return f"entry|{order_id}"


def case_key(case_id: str) -> str:
    return f"case|{case_id}"


class PartitionIndexes:
    def __init__(self) -> None:
        self.indexes: dict[int, dedupe.CaseIndex] = {}
        self.watermarks: dict[int, float] = {}
        self.stale = True

    def rebuild(self) -> None:
        by_partition: dict[int, list] = defaultdict(list)
        for key, value in state_table.items():
            if key.startswith("entry|"):
                by_partition[value["partition"]].append(value["entry"])
        self.indexes = {p: dedupe.CaseIndex.from_entries(settings, entries) for p, entries in by_partition.items()}
        self.stale = False
        metrics.DEDUPE_INDEX_ENTRIES.set(sum(index.size for index in self.indexes.values()))

    def index(self, partition: int) -> dedupe.CaseIndex:
        if partition not in self.indexes:
            self.indexes[partition] = dedupe.CaseIndex(settings)
        return self.indexes[partition]


partitions = PartitionIndexes()


async def _link(partition: int, value: dict) -> None:
    appeal = rules.appeal_from_screened(value)
    index = partitions.index(partition)
    stored = state_table.get(entry_key(appeal.order_id))
    decision = index.link(appeal)
    case_count = state_table.get(case_key(decision.case_id)) if decision.relation is not None else None
    repeat_count = dedupe.repeat_count_of(decision, stored, case_count)
    await cases_topic.send(key=decision.order_id.encode(), value=codec.encode(decision.to_event(repeat_count, value["verdict"])))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.CASES.name).inc()
    if stored is None:
        if decision.relation is not None:
            state_table[case_key(decision.case_id)] = {"repeat_count": repeat_count, "counted_order_id": appeal.order_id, "partition": partition}
            metrics.REPEATS.labels(relation=decision.relation).inc()
        state_table[entry_key(appeal.order_id)] = {
            "entry": index.entry(appeal.order_id).to_json(),
            "partition": partition,
            "repeat_count": repeat_count,
        }
    if appeal.occurred_at_seconds > partitions.watermarks.get(partition, float("-inf")):
        partitions.watermarks[partition] = appeal.occurred_at_seconds
        for order_id in index.purge(appeal.occurred_at_seconds):
            forgotten = state_table.pop(entry_key(order_id))
            # A case no remembered appeal belongs to can never be linked again.
            if forgotten is not None and not index.has_case(forgotten["entry"]["case_id"]):
                state_table.pop(case_key(forgotten["entry"]["case_id"]))


@app.agent(appeals_by_place_topic, name="dedupe")
async def link_cases(stream):
    async for event in stream.events():
        message = event.message
        metrics.MESSAGES_CONSUMED.labels(topic=message.topic).inc()
        if partitions.stale:
            partitions.rebuild()
        try:
            released = merges.accept(message.partition, codec.decode(message.value))
        except (ValueError, TypeError, KeyError) as error:
            await send_dead_letter(message, STAGE, Rejected("invalid_value", f"not an appeal for dedupe: {error}"))
            continue
        for item in released:
            try:
                await _link(message.partition, item.payload)
            except Exception as error:  # a bug must not stop the worker: dead-letter and go on
                log.exception("dedupe failed on an appeal released by %s/%s/%s", message.topic, message.partition, message.offset)
                rejected = Rejected("internal_error", f"{type(error).__name__}: {error}", item.payload.get("caused_by"))
                await send_dead_letter(message, STAGE, rejected, original=codec.encode(item.payload))
        merges.handled(message.partition, released)
        metrics.DEDUPE_INDEX_ENTRIES.set(sum(index.size for index in partitions.indexes.values()))
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_indexes_after_rebalance(sender, assigned, **kwargs) -> None:
    partitions.stale = True
    merges.stale = True
