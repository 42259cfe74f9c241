"""Recognising re-sent source events: a bounded, event-time-windowed set of seen event ids.

Consumes source `event_id`s with their event time. Produces, for each, whether it is the
first time it is seen, so that a source system that sends the same event twice (same
event_id) is not counted twice. Remembers ids for `window_seconds` of event time behind
the newest event seen and at most `max_entries` of them; its state is JSON-able so an
agent can keep it in a table.

An event older than the window behind the newest event cannot be told apart from a
re-send the set has forgotten; it is reported as first seen (and not remembered), since
dropping a real late event would lose data while a re-send that late is rare.
"""

from __future__ import annotations

import heapq
from typing import Any, Mapping


class SeenEventIds:
    """Mutable for O(1) checks on a hot path; `to_json` / `from_json` give its state."""

    def __init__(self, window_seconds: float, max_entries: int):
        if window_seconds <= 0:
            raise ValueError(f"window_seconds must be positive, got {window_seconds}")
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self.newest_at_seconds: float | None = None
        self._seen_at: dict[str, float] = {}
        self._by_age: list[tuple[float, str]] = []

    @property
    def size(self) -> int:
        return len(self._seen_at)

    def __contains__(self, event_id: str) -> bool:
        return event_id in self._seen_at

    def record(self, event_id: str, occurred_at_seconds: float) -> bool:
        """True the first time an event id is recorded, False for a re-send."""
        if event_id in self._seen_at:
            return False
        if self.newest_at_seconds is not None and occurred_at_seconds < self.newest_at_seconds - self.window_seconds:
            return True
        self._seen_at[event_id] = occurred_at_seconds
        heapq.heappush(self._by_age, (occurred_at_seconds, event_id))
        if self.newest_at_seconds is None or occurred_at_seconds > self.newest_at_seconds:
            self.newest_at_seconds = occurred_at_seconds
        self._forget_old()
        return True

    def _forget_old(self) -> None:
        horizon = (self.newest_at_seconds or 0.0) - self.window_seconds
        while self._by_age and (self._by_age[0][0] < horizon or len(self._seen_at) > self.max_entries):
            _, event_id = heapq.heappop(self._by_age)
            del self._seen_at[event_id]

    def to_json(self) -> dict[str, Any]:
        return {
            "window_seconds": self.window_seconds,
            "max_entries": self.max_entries,
            "newest_at_seconds": self.newest_at_seconds,
            "seen": sorted(([event_id, at] for event_id, at in self._seen_at.items()), key=lambda pair: (pair[1], pair[0])),
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "SeenEventIds":
        seen = cls(float(value["window_seconds"]), int(value["max_entries"]))
        seen.newest_at_seconds = value["newest_at_seconds"]
        for event_id, occurred_at_seconds in value["seen"]:
            seen._seen_at[event_id] = float(occurred_at_seconds)
            heapq.heappush(seen._by_age, (float(occurred_at_seconds), event_id))
        seen._forget_old()
        return seen
