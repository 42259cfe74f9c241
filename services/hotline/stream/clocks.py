"""Clocks one stage promises the next, and the ordered merges that use them.

A stage whose output is re-keyed (screen → callers → dedupe, orders → escalate) stamps each item
with a merge time and promises, per upstream partition, a clock: nothing it sends later
is stamped earlier. The promises travel on the same topic as the items, to every
downstream partition, so a promise never overtakes the items it covers. Downstream, an
`OrderedMerge` per partition (hotline.core.ordering) releases the items in event-time
order, whatever the interleaving — the same at full replay speed as live.

Promises are sent by a timer (twice a second) rather than per event: how often they go
out changes only how long items wait, never their order.

Wire format on the internal topics (JSON): an item is `MergeItem.to_dict()`
({"at_seconds", "key", "payload"}); a promise is {"clock_of": "<stage>/<partition>",
"at_seconds"}.
"""

from __future__ import annotations

from typing import Any, Mapping

import faust

from hotline.contract import codec
from hotline.core.ordering import MergeItem, OrderedMerge
from hotline.stream import metrics, stage_io
from hotline.stream.app import app

PROMISE_INTERVAL_SECONDS = 0.5


def upstream_sources(stage: str) -> list[str]:
    """The clock sources of a stage: one per partition it reads."""
    return [f"{stage}/{partition}" for partition in range(app.conf.topic_partitions)]


def is_promise(value: Mapping[str, Any]) -> bool:
    return "clock_of" in value


class ClockPromises:
    """The clocks this worker promises for the upstream partitions it owns."""

    def __init__(self, stage: str, *downstream: faust.TopicT):
        self.stage = stage
        self.downstream = downstream
        self.promised: dict[int, float] = {}
        self.sent: dict[int, float] = {}

    def promise(self, partition: int, at_seconds: float | None) -> None:
        if at_seconds is not None:
            self.promised[partition] = at_seconds

    def forget(self) -> None:
        """After a rebalance: promise again only for the partitions still owned."""
        self.promised.clear()
        self.sent.clear()

    async def publish(self) -> None:
        for partition, at_seconds in sorted(self.promised.items()):
            if self.sent.get(partition) == at_seconds:
                continue
            value = codec.encode({"clock_of": f"{self.stage}/{partition}", "at_seconds": at_seconds})
            for topic in self.downstream:
                for downstream_partition in range(app.conf.topic_partitions):
                    # The items' path: a promise must not overtake the items it covers.
                    await stage_io.send(topic, b"clock", value, partition=downstream_partition)
            self.sent[partition] = at_seconds


def merge_flush_rank(key: str, value: Any) -> int:
    """Where a write goes in the flush of a table shared with a merge
    (hotline.stream.write_behind): items still held, then the stage's state, then the
    items handled (deleted), then the merge's clocks.

    A restarted worker must find every item behind a stored clock either held or handled
    with its state stored, so the clocks go last and a handled item leaves only after
    the state it led to; state that already counts an item still held is recognised when
    that item is released again."""
    if not MergeTables.owns(key):
        return 1
    if key.endswith("|clocks"):
        return 3
    return 2 if value is None else 0


class MergeTables:
    """One `OrderedMerge` per partition of a stage's input, kept in the stage's own table.

    Keys: "merge|<partition>|clocks" → the sources' clocks; "merge|<partition>|<item
    storage key>" → a held item. They share the table with the stage's state, so what one
    input message changes reaches a single changelog partition, in the order it was
    written: the stage writes its state for the items it handled, then `handled()` drops
    them, and after a crash an item is either still held (released again; the stage
    recognises what it did already) or gone together with the state it led to. Values
    carry their partition, as every table here does, so the merges are rebuilt after a
    restart or rebalance without knowing the key layout.
    """

    PREFIX = "merge|"

    def __init__(self, stage: str, upstream_stages: tuple[str, ...], table):
        self.stage = stage
        self.sources = [source for upstream in upstream_stages for source in upstream_sources(upstream)]
        self.table = table
        self.merges: dict[int, OrderedMerge] = {}
        self.stale = True
        # Counted when /metrics is read (on the event loop, as the merges change), not
        # on every message.
        metrics.merge_pending(stage=stage).set_function(self.pending_items)

    @classmethod
    def owns(cls, key: str) -> bool:
        """Whether a key of the shared table is the merge's (the stage skips those)."""
        return key.startswith(cls.PREFIX)

    def rebuild(self) -> None:
        clocks: dict[int, dict[str, float]] = {}
        items: dict[int, list[MergeItem]] = {}
        for key, value in self.table.items():
            if not self.owns(key):
                continue
            if key.endswith("|clocks"):
                clocks[value["partition"]] = value["clocks"]
            else:
                items.setdefault(value["partition"], []).append(MergeItem.from_dict(value["item"]))
        partitions = set(clocks) | set(items)
        self.merges = {p: OrderedMerge(self.sources, clocks.get(p), items.get(p, ())) for p in partitions}
        self.stale = False

    def merge(self, partition: int) -> OrderedMerge:
        if self.stale:
            self.rebuild()
        if partition not in self.merges:
            self.merges[partition] = OrderedMerge(self.sources)
        return self.merges[partition]

    def accept(self, partition: int, value: Mapping[str, Any]) -> list[MergeItem]:
        """One message of the internal topic (item or promise) → the items now released,
        which stay in the table until `handled()`."""
        merge = self.merge(partition)
        if is_promise(value):
            if merge.advance(value["clock_of"], float(value["at_seconds"])):
                self.table[f"{self.PREFIX}{partition}|clocks"] = {"clocks": dict(merge.clocks), "partition": partition}
        else:
            item = MergeItem.from_dict(value)
            if merge.offer(item):
                self.table[f"{self.PREFIX}{partition}|{item.storage_key}"] = {"item": item.to_dict(), "partition": partition}
        return merge.release()

    def handled(self, partition: int, released: list[MergeItem]) -> None:
        """The stage has sent and stored what the released items led to."""
        for item in released:
            self.table.pop(f"{self.PREFIX}{partition}|{item.storage_key}", None)

    def frontier_seconds(self, partition: int) -> float | None:
        return self.merge(partition).frontier_seconds

    def pending_items(self) -> int:
        return sum(len(merge) for merge in self.merges.values())


def merge_item(at_seconds: float, key: str, payload: Mapping[str, Any]) -> bytes:
    return codec.encode(MergeItem(at_seconds, key, dict(payload)).to_dict())


_promisers: list[ClockPromises] = []


def register(promises: ClockPromises) -> ClockPromises:
    _promisers.append(promises)
    return promises


@app.timer(interval=PROMISE_INTERVAL_SECONDS)
async def publish_clock_promises() -> None:
    for promises in _promisers:
        await promises.publish()


@app.on_partitions_assigned.connect
async def forget_promises_after_rebalance(sender, assigned, **kwargs) -> None:
    for promises in _promisers:
        promises.forget()
