"""Dedupe agent: appeals keyed by place -> a case link or a new case on hotline.cases.v1.

Each partition keeps a near-duplicate index (MinHash LSH over character n-grams, see
hotline.core.dedupe) in memory; its entries are also kept in a table so the index is
rebuilt after a restart or rebalance, and both forget appeals older than the window as
event time advances, so memory stays bounded.

Which appeal of a case comes first decides the links, and appeals reach a partition
from every screen partition at once, so they are linked in event-time order: each
partition holds them in an ordered merge (hotline.stream.clocks) until every screen
partition's clock has passed them.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from hotline.contract import codec, topics
from hotline.core import dedupe, screen_rules
from hotline.core.screening import Rejected
from hotline.stream import clocks, metrics
from hotline.stream.app import CompactJsonTable, app, appeals_by_place_topic, cases_topic, json_table
from hotline.stream.deadletters import send_dead_letter

STAGE = "dedupe"
log = logging.getLogger(__name__)

rules = screen_rules.load_screening_rules()
settings = dedupe.load_dedupe_settings()
entries_table = CompactJsonTable("dedupe-entries", "Per order: its dedupe index entry (rebuilds the in-memory index)")
cases_table = CompactJsonTable("cases", "Per case id with an appeal still in the dedupe index: how many appeals repeated it")
merges = clocks.MergeTables(STAGE, ("screen",), json_table("dedupe-pending", "Per partition: appeals held for event-time order, and the screen clocks"))


class PartitionIndexes:
    def __init__(self) -> None:
        self.indexes: dict[int, dedupe.CaseIndex] = {}
        self.watermarks: dict[int, float] = {}
        self.stale = True

    def rebuild(self) -> None:
        by_partition: dict[int, list] = defaultdict(list)
        for order_id, value in entries_table.items():
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
    known = entries_table.get(appeal.order_id) is not None
    decision = index.link(appeal)
    if known:
        # Redelivery: publish exactly what was published the first time.
        repeat_count = entries_table[appeal.order_id]["repeat_count"]
    else:
        repeat_count = 0
        if decision.relation is not None:
            repeat_count = (cases_table.get(decision.case_id) or {"repeat_count": 0})["repeat_count"] + 1
            cases_table[decision.case_id] = {"repeat_count": repeat_count}
            metrics.REPEATS.labels(relation=decision.relation).inc()
        entries_table[appeal.order_id] = {
            "entry": index.entry(appeal.order_id).to_json(),
            "partition": partition,
            "repeat_count": repeat_count,
        }
    await cases_topic.send(key=decision.order_id.encode(), value=codec.encode(decision.to_event(repeat_count)))
    metrics.MESSAGES_PRODUCED.labels(topic=topics.CASES.name).inc()
    if appeal.occurred_at_seconds > partitions.watermarks.get(partition, float("-inf")):
        partitions.watermarks[partition] = appeal.occurred_at_seconds
        for order_id in index.purge(appeal.occurred_at_seconds):
            forgotten = entries_table.pop(order_id)
            # A case no remembered appeal belongs to can never be linked again.
            if forgotten is not None and not index.has_case(forgotten["entry"]["case_id"]):
                cases_table.pop(forgotten["entry"]["case_id"])


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
        metrics.DEDUPE_INDEX_ENTRIES.set(sum(index.size for index in partitions.indexes.values()))
        metrics.MESSAGES_PROCESSED.labels(stage=STAGE).inc()


@app.on_partitions_assigned.connect
async def rebuild_indexes_after_rebalance(sender, assigned, **kwargs) -> None:
    partitions.stale = True
    merges.stale = True
