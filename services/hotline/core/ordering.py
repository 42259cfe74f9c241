"""Event-time ordered merge of what several upstream partitions send to one partition.

A stage that re-keys its output (screen → callers by caller → dedupe by place, orders →
escalate by office) makes each downstream partition read from every upstream partition
at once, and how those streams interleave depends on timing: a full-speed replay and a
live day mix them differently. Where the downstream result depends on order (a caller's
earlier appeals, the first appeal of a case, the first escalations within a daily
budget), the downstream stage feeds its input through an `OrderedMerge` and handles
items in the order it releases them.

Consumes items, each stamped upstream with a merge time (`at_seconds`) and a tie-break
key, and clocks: an upstream partition's promise that everything it sends from now on is
stamped at or after the clock. Produces the items in (at_seconds, key) order, each once
every upstream partition has promised to send nothing earlier. The order therefore
depends only on the stamps, never on arrival, so any interleaving gives the same
sequence. An upstream partition that goes quiet holds everything back until its clock
moves (live mode ticks it with the wall clock; a replay ends with `hotline clock
advance`).

The state (clocks and pending items) is plain JSON so an agent can keep it in a table.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Any, Iterable, Mapping


@dataclass(frozen=True, order=True)
class MergeItem:
    at_seconds: float
    key: str
    payload: Any = None

    @property
    def storage_key(self) -> str:
        """Unique per (time, key): a redelivered item overwrites its own copy."""
        return f"{self.at_seconds:020.6f}|{self.key}"

    def to_dict(self) -> dict[str, Any]:
        return {"at_seconds": self.at_seconds, "key": self.key, "payload": self.payload}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "MergeItem":
        return cls(float(raw["at_seconds"]), str(raw["key"]), raw.get("payload"))


class OrderedMerge:
    """The merge for one downstream partition, fed by a fixed set of upstream sources."""

    def __init__(self, sources: Iterable[str], clocks: Mapping[str, float] | None = None, items: Iterable[MergeItem] = ()):
        self.sources = tuple(sorted(set(sources)))
        if not self.sources:
            raise ValueError("an ordered merge needs at least one source")
        self.clocks: dict[str, float] = {}
        for source, at_seconds in (clocks or {}).items():
            self.advance(source, at_seconds)
        self._heap: list[tuple[float, str, int, MergeItem]] = []
        self._pending: dict[str, MergeItem] = {}
        self._sequence = 0
        for item in items:
            self.offer(item)

    def __len__(self) -> int:
        return len(self._pending)

    @property
    def frontier_seconds(self) -> float | None:
        """Everything stamped before this instant has been released (None: a source has not spoken yet)."""
        if len(self.clocks) < len(self.sources):
            return None
        return min(self.clocks.values())

    def offer(self, item: MergeItem) -> bool:
        """Hold an item until it may be released; False if an identical item is held already."""
        if item.storage_key in self._pending:
            return False
        self._pending[item.storage_key] = item
        self._sequence += 1
        heapq.heappush(self._heap, (item.at_seconds, item.key, self._sequence, item))
        return True

    def advance(self, source: str, at_seconds: float) -> bool:
        """A source's clock: it sends nothing stamped earlier from now on. True if it moved."""
        if source not in self.sources:
            raise ValueError(f"unknown merge source {source!r}; expected one of {', '.join(self.sources)}")
        current = self.clocks.get(source)
        if current is not None and at_seconds <= current:
            return False
        self.clocks[source] = at_seconds
        return True

    def release(self) -> list[MergeItem]:
        """Items no source can precede any more, in (at_seconds, key) order."""
        frontier = self.frontier_seconds
        released: list[MergeItem] = []
        while frontier is not None and self._heap and self._heap[0][0] < frontier:
            item = heapq.heappop(self._heap)[3]
            del self._pending[item.storage_key]
            released.append(item)
        return released

    def pending(self) -> list[MergeItem]:
        return sorted(self._pending.values(), key=lambda item: (item.at_seconds, item.key))


class StampClock:
    """Merge-time stamps for the items one upstream partition sends, and its clock.

    An item's stamp is the highest event time of the partition's input up to and including
    it, so stamps never go back and the clock (the highest stamp) is a promise the stage can
    keep. The clock is stored with `covered_offset`, the input offset it covers, because
    after a crash the input after the last committed offset is read again while the stored
    clock may already cover some of it: stamped with that clock, an appeal whose first
    copy was lost would be merged later than the first time, behind appeals of other
    partitions. Input at or before `covered_offset` is therefore stamped from what is read
    again since the restart (for input in time order, its own event time — the stamp it got
    the first time), and only newer input moves the clock.
    """

    def __init__(self, clock_seconds: float | None = None, covered_offset: int = -1):
        self.clock_seconds = clock_seconds
        self.covered_offset = covered_offset
        self._reread_seconds: float | None = None

    def stamp(self, offset: int, at_seconds: float) -> float:
        """The stamp for the input message at `offset` with event time `at_seconds`."""
        if offset <= self.covered_offset:
            self._reread_seconds = at_seconds if self._reread_seconds is None else max(self._reread_seconds, at_seconds)
            return self._reread_seconds
        self.covered_offset = offset
        return self.advance(at_seconds)

    def advance(self, at_seconds: float) -> float:
        """Event time moves on without input (a clock tick); returns the clock."""
        self.clock_seconds = at_seconds if self.clock_seconds is None else max(self.clock_seconds, at_seconds)
        return self.clock_seconds
