"""Pure arithmetic of the benchmark: percentiles, rates, ratios, lag trends, memory per
unit, cores used.

Consumes plain numbers (seconds, counts, bytes) measured by the I/O phases; produces the
figures the report prints. Nothing here reads a clock or talks to a broker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0..1) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be within 0..1, got {fraction}")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = math.ceil(position)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class LatencySummary:
    count: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float

    def to_dict(self) -> dict[str, float]:
        return {"count": self.count, "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "p99_ms": self.p99_ms, "max_ms": self.max_ms}


def latency_summary(latencies_ms: Sequence[float]) -> LatencySummary | None:
    """p50/p95/p99/max of the latencies, or None when nothing was matched."""
    if not latencies_ms:
        return None
    return LatencySummary(
        count=len(latencies_ms),
        p50_ms=round(percentile(latencies_ms, 0.50), 1),
        p95_ms=round(percentile(latencies_ms, 0.95), 1),
        p99_ms=round(percentile(latencies_ms, 0.99), 1),
        max_ms=round(max(latencies_ms), 1),
    )


def matched_latencies_ms(produced_at_ms: dict[str, int], derived: Sequence[tuple[str, int]]) -> list[float]:
    """Latency of the first derived message per input event: derived (caused_by, created
    at ms) pairs are matched to the input's produce time by event id; derived messages of
    other inputs (earlier runs, clock ids) are ignored."""
    first_ms = first_created_ms(produced_at_ms, derived)
    return [float(created_ms - produced_at_ms[caused_by]) for caused_by, created_ms in first_ms.items()]


def rate_per_second(count: int, elapsed_seconds: float) -> float | None:
    return count / elapsed_seconds if elapsed_seconds > 0 else None


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either side is missing or the base is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def slope_per_second(samples: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, value) samples: how fast a lag grows (+) or shrinks (-)."""
    if len(samples) < 2:
        return None
    mean_t = sum(t for t, _ in samples) / len(samples)
    mean_v = sum(v for _, v in samples) / len(samples)
    spread = sum((t - mean_t) ** 2 for t, _ in samples)
    if spread == 0:
        return None
    return sum((t - mean_t) * (v - mean_v) for t, v in samples) / spread


def first_created_ms(produced_at_ms: dict[str, int], derived: Sequence[tuple[str, int]]) -> dict[str, int]:
    """CreateTime (ms) of the first derived message per input event id that was produced."""
    first_ms: dict[str, int] = {}
    for caused_by, created_ms in derived:
        if caused_by in produced_at_ms and (caused_by not in first_ms or created_ms < first_ms[caused_by]):
            first_ms[caused_by] = created_ms
    return first_ms


def count_rate_per_second(instants_ms: Sequence[int], from_ms: int, to_ms: int) -> float | None:
    """How many instants fall within [from_ms, to_ms], per second of that interval."""
    if to_ms <= from_ms:
        return None
    return sum(1 for instant in instants_ms if from_ms <= instant <= to_ms) / ((to_ms - from_ms) / 1000)


# An offered rate is kept up with when, in the second half of the sending window (after
# the fresh worker's warm-up), outputs come out nearly as fast as inputs go in, and
# nearly every input has its output once the grace period after the last send is over.
KEPT_UP_MIN_RATE_RATIO = 0.95
KEPT_UP_MIN_DONE_RATIO = 0.99


def kept_up(sent_count: int, done_after_grace: int, sent_per_second: float, output_per_second: float | None) -> bool:
    if sent_count == 0 or output_per_second is None:
        return False
    return output_per_second >= KEPT_UP_MIN_RATE_RATIO * sent_per_second and done_after_grace / sent_count >= KEPT_UP_MIN_DONE_RATIO


def per_unit_bytes(grown_bytes: int, units: int, per_units: int) -> float | None:
    """Bytes per `per_units` units, extrapolated linearly from `grown_bytes` over `units`."""
    if units <= 0:
        return None
    return grown_bytes / units * per_units


def mebibytes(amount_bytes: float | None) -> float | None:
    return None if amount_bytes is None else round(amount_bytes / (1024 * 1024), 1)


def cpu_seconds_between(before: float | None, after: float | None) -> float | None:
    """CPU seconds a process used between two readings; None when either reading failed
    (the process was gone or never known)."""
    if before is None or after is None:
        return None
    return after - before


def cores(cpu_seconds: float | None, wall_seconds: float | None) -> float | None:
    """How many cores a process kept busy on average: CPU seconds per wall-clock second."""
    if cpu_seconds is None or wall_seconds is None or wall_seconds <= 0:
        return None
    return cpu_seconds / wall_seconds



# --- messages per input event ------------------------------------------------------------

# What a message on a topic is to one pipeline (one Faust app id) draining its input.
INPUT = "input"
DERIVED = "derived"  # public hotline.*.v1 topics the processor writes
STAGE_TO_STAGE = "stage_to_stage"  # the app's own "<app id>-..." topics
CHANGELOG = "changelog"  # the app's "<app id>-...-changelog" topics: table writes
MESSAGE_KINDS = (DERIVED, STAGE_TO_STAGE, CHANGELOG)


def topic_kind(name: str, app_id: str, input_topics: Sequence[str]) -> str | None:
    """INPUT, DERIVED, STAGE_TO_STAGE or CHANGELOG; None for a topic the app does not
    write (another app's, the benchmark's own sinks, the broker's internal ones)."""
    if name in input_topics:
        return INPUT
    if name.startswith(app_id + "-"):
        return CHANGELOG if name.endswith("-changelog") else STAGE_TO_STAGE
    if name.startswith("hotline.") and name.endswith(".v1"):
        return DERIVED
    return None


def message_accounting(
    before: dict[str, int],
    after: dict[str, int],
    app_id: str,
    input_topics: Sequence[str],
    input_events: int,
    read_topics: Sequence[str] = (),
) -> dict:
    """Messages each kind of topic gained between two readings of every topic's end
    offsets (summed over partitions), per input event; and how many of them the app's
    workers read (the growth of `read_topics`, the topics they consume: each is a hop).
    A topic missing from `before` was created in between and counts from 0."""
    by_topic: dict[str, dict] = {}
    messages = {kind: 0 for kind in (INPUT, *MESSAGE_KINDS)}
    for name in sorted(after):
        kind = topic_kind(name, app_id, input_topics)
        gained = after[name] - before.get(name, 0)
        if kind is None or gained == 0:
            continue
        by_topic[name] = {"kind": kind, "messages": gained}
        messages[kind] += gained
    written = sum(messages[kind] for kind in MESSAGE_KINDS)
    per_event = {kind: _per(messages[kind], input_events) for kind in MESSAGE_KINDS}
    read = sum(after.get(name, 0) - before.get(name, 0) for name in set(read_topics))
    return {
        "app_id": app_id,
        "input_events": input_events,
        "input_topic_messages": messages[INPUT],
        "messages": {kind: messages[kind] for kind in MESSAGE_KINDS} | {"total": written},
        "per_input_event": per_event | {"total": _per(written, input_events)},
        "read": {"messages": read, "per_input_event": _per(read, input_events)} if read_topics else None,
        "by_topic": by_topic,
    }


def _per(count: int, events: int) -> float | None:
    return None if events <= 0 else round(count / events, 3)
