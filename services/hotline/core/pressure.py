"""Office pressure: rolling per-office tables in event time, and the snapshots read from them.

Consumes `OfficeFact`s: small normalised facts the pressure agent derives from the
screened, cases and deadlines topics (an appeal arrived at an office, it was a repeat,
the office returned it, a deadline was breached, ...). Produces an `OfficePressureState`
per office (a fold over its facts, JSON-able so a plain Faust table can hold it) and
`snapshot(...)`, the hotline.pressure.v1 event that reports the office's inflow, load,
backlog, overdue orders, the shares that reveal wasted work (repeats, flagged appeals,
ping-pong, rush closures that fail) and its category x district hotspots.

Counts live in hourly buckets keyed by the event time of the fact; the 1 h, 24 h and
7 d windows are read from them. Buckets older than seven days before the office's newest
event time are purged on every fact, so memory is bounded however long a worker runs.
The formulas are documented in docs/indicators.md.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, fields
from functools import cached_property
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from hotline.core.config_tables import check, reject_unknown_keys, require
from hotline.core.ids import derived_event_id
from hotline.core.records import evolved
from hotline.core.timeutil import format_utc

HOUR_SECONDS = 3600
RETENTION_HOURS = 7 * 24
WINDOW_HOURS: Mapping[str, int] = {"1h": 1, "24h": 24, "7d": RETENTION_HOURS}

SNAPSHOT_KIND = "pressure.snapshot"
SNAPSHOT_TYPE = "pressure.measured"

# Facts counted per hourly bucket. The agent gives received / repeat / flagged the
# appeal's own event time, so an appeal and its discounts fall in the same bucket.
COUNTED_KINDS: tuple[str, ...] = (
    "received",
    "repeat",
    "flagged",
    "returned",
    "transferred",
    "resolved",
    "reopened",
    "dissatisfied",
    "breached",
    "escalated",
    "rush_closure",
    "rush_then_reopened",
    "rush_then_dissatisfied",
)
# Facts that move a level (how many orders are open / overdue now) rather than a count.
LEVEL_DELTAS: Mapping[str, tuple[str, int]] = {
    "opened": ("backlog_orders", 1),
    "closed": ("backlog_orders", -1),
    "overdue_started": ("overdue_orders", 1),
    "overdue_ended": ("overdue_orders", -1),
}
FACT_KINDS = frozenset(COUNTED_KINDS) | frozenset(LEVEL_DELTAS)



@dataclass(frozen=True)
class OfficeFact:
    """One thing that happened at an office, at an event time (Unix seconds).

    `category` and `district` are given on `received` facts that should count towards
    the office's category x district hotspots.
    """

    office_id: str
    kind: str
    occurred_at_seconds: float
    category: str | None = None
    district: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FACT_KINDS:
            raise ValueError(f"unknown office fact kind {self.kind!r}; known kinds: {', '.join(sorted(FACT_KINDS))}")


@dataclass(frozen=True)
class OfficeInfo:
    """What the registry (hotline.offices.v1) says about an office."""

    office_id: str
    name: str
    level: str
    daily_capacity: int
    district: str | None = None
    parent_id: str | None = None

    @classmethod
    def from_registry(cls, record: Mapping[str, Any]) -> "OfficeInfo":
        return cls(
            office_id=record["office_id"],
            name=record["name"],
            level=record["level"],
            daily_capacity=record["daily_capacity"],
            district=record.get("district") or None,
            parent_id=record.get("parent_id"),
        )


@dataclass(frozen=True)
class HotspotSettings:
    factor: float
    min_inflow_1h: int
    baseline_hours: int
    min_baseline_per_hour: float
    max_listed: int


@dataclass(frozen=True)
class PressureSettings:
    hotspots: HotspotSettings


def parse_pressure_settings(document: Mapping[str, Any], path: Path | str) -> PressureSettings:
    """Validate a parsed pressure.toml; every problem names the file (`path`) and the field."""
    reject_unknown_keys(document, ("hotspots",), path)
    table = require(document, "hotspots", dict, path)
    reject_unknown_keys(table, tuple(setting.name for setting in fields(HotspotSettings)), path, "hotspots")
    factor = float(require(table, "factor", (int, float), path, "hotspots"))
    check(factor > 1.0, path, "hotspots.factor", f"must be above 1 (a hotspot is inflow above its baseline), got {factor}")
    min_inflow = require(table, "min_inflow_1h", int, path, "hotspots")
    check(min_inflow >= 1, path, "hotspots.min_inflow_1h", f"must be at least 1, got {min_inflow}")
    baseline_hours = require(table, "baseline_hours", int, path, "hotspots")
    check(
        1 <= baseline_hours < RETENTION_HOURS,
        path,
        "hotspots.baseline_hours",
        f"must be between 1 and {RETENTION_HOURS - 1} (the baseline must fit in the kept buckets), got {baseline_hours}",
    )
    min_baseline = float(require(table, "min_baseline_per_hour", (int, float), path, "hotspots"))
    check(min_baseline > 0, path, "hotspots.min_baseline_per_hour", f"must be above 0 (it is a divisor), got {min_baseline}")
    max_listed = require(table, "max_listed", int, path, "hotspots")
    check(max_listed >= 1, path, "hotspots.max_listed", f"must be at least 1, got {max_listed}")
    return PressureSettings(HotspotSettings(factor, min_inflow, baseline_hours, min_baseline, max_listed))


HotspotKey = tuple[str, str]  # (category, district)


@dataclass(frozen=True)
class HourBucket:
    """Counts of the facts whose event time falls in one hour; treated as immutable."""

    started_at_seconds: int
    counts: Mapping[str, int] = field(default_factory=dict)
    hotspot_inflow: Mapping[HotspotKey, int] = field(default_factory=dict)

    def adding(self, fact: OfficeFact) -> "HourBucket":
        counts = dict(self.counts)
        counts[fact.kind] = counts.get(fact.kind, 0) + 1
        hotspot_inflow = self.hotspot_inflow
        if fact.kind == "received" and fact.category and fact.district:
            key = (fact.category, fact.district)
            hotspot_inflow = dict(hotspot_inflow)
            hotspot_inflow[key] = hotspot_inflow.get(key, 0) + 1
        return HourBucket(self.started_at_seconds, counts, hotspot_inflow)

    def to_dict(self) -> dict[str, Any]:
        return self._stored_form

    @cached_property
    def _stored_form(self) -> dict[str, Any]:
        # Built once per bucket: an office's stored state lists up to a week of buckets
        # and is written on every fact, while a fact changes only its own hour's bucket
        # (`adding` makes a new one). Callers do not modify the dict.
        return {
            "started_at_seconds": self.started_at_seconds,
            "counts": dict(sorted(self.counts.items())),
            "hotspot_inflow": [[category, district, count] for (category, district), count in sorted(self.hotspot_inflow.items())],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "HourBucket":
        return cls(
            started_at_seconds=int(data["started_at_seconds"]),
            counts=dict(data["counts"]),
            hotspot_inflow={(category, district): count for category, district, count in data["hotspot_inflow"]},
        )


@dataclass(frozen=True)
class OfficePressureState:
    """The rolling tables of one office: hourly buckets (ascending) and two levels.

    Levels are not windowed: backlog and overdue can go below zero for a while when a
    `closed` fact overtakes its `opened` on the way here; the snapshot reports them
    floored at zero so that the level is right again once the other fact arrives.
    """

    office_id: str
    buckets: tuple[HourBucket, ...] = ()
    backlog_orders: int = 0
    overdue_orders: int = 0
    newest_event_at_seconds: float | None = None
    late_facts_dropped: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "office_id": self.office_id,
            "buckets": [bucket.to_dict() for bucket in self.buckets],
            "backlog_orders": self.backlog_orders,
            "overdue_orders": self.overdue_orders,
            "newest_event_at_seconds": self.newest_event_at_seconds,
            "late_facts_dropped": self.late_facts_dropped,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "OfficePressureState":
        return cls(
            office_id=data["office_id"],
            buckets=tuple(HourBucket.from_dict(bucket) for bucket in data["buckets"]),
            backlog_orders=data["backlog_orders"],
            overdue_orders=data["overdue_orders"],
            newest_event_at_seconds=data["newest_event_at_seconds"],
            late_facts_dropped=data["late_facts_dropped"],
        )


def hour_started_at(at_seconds: float) -> int:
    return int(at_seconds // HOUR_SECONDS) * HOUR_SECONDS


def _oldest_kept_hour(newest_event_at_seconds: float) -> int:
    return hour_started_at(newest_event_at_seconds) - (RETENTION_HOURS - 1) * HOUR_SECONDS


def record(state: OfficePressureState, fact: OfficeFact) -> OfficePressureState:
    """Fold one fact into the office's tables.

    A counted fact older than the kept seven days is dropped (and counted in
    `late_facts_dropped`): its windows have already been reported. A level fact always
    applies, however late, because a lost `closed` would leave the backlog too high forever.
    """
    if fact.office_id != state.office_id:
        raise ValueError(f"fact for office {fact.office_id!r} folded into the state of {state.office_id!r}")
    newest = fact.occurred_at_seconds
    if state.newest_event_at_seconds is not None:
        newest = max(newest, state.newest_event_at_seconds)
    if fact.kind in LEVEL_DELTAS:
        level, delta = LEVEL_DELTAS[fact.kind]
        changed = evolved(state, **{level: getattr(state, level) + delta}, newest_event_at_seconds=newest)
        return _purged(changed)
    hour = hour_started_at(fact.occurred_at_seconds)
    if hour < _oldest_kept_hour(newest):
        return evolved(state, late_facts_dropped=state.late_facts_dropped + 1)
    starts = [bucket.started_at_seconds for bucket in state.buckets]
    index = bisect.bisect_left(starts, hour)
    buckets = list(state.buckets)
    if index < len(buckets) and buckets[index].started_at_seconds == hour:
        buckets[index] = buckets[index].adding(fact)
    else:
        buckets.insert(index, HourBucket(hour).adding(fact))
    return _purged(evolved(state, buckets=tuple(buckets), newest_event_at_seconds=newest))


def _purged(state: OfficePressureState) -> OfficePressureState:
    if state.newest_event_at_seconds is None or not state.buckets:
        return state
    oldest_kept = _oldest_kept_hour(state.newest_event_at_seconds)
    if state.buckets[0].started_at_seconds >= oldest_kept:
        return state
    return evolved(state, buckets=tuple(bucket for bucket in state.buckets if bucket.started_at_seconds >= oldest_kept))


def _buckets_in(state: OfficePressureState, now_seconds: float, hours: int) -> list[HourBucket]:
    """Buckets of the `hours` hours ending with the (partial) hour that contains `now`."""
    current = hour_started_at(now_seconds)
    first = current - (hours - 1) * HOUR_SECONDS
    return [bucket for bucket in state.buckets if first <= bucket.started_at_seconds <= current]


def window_counts(state: OfficePressureState, now_seconds: float, hours: int) -> dict[str, int]:
    """Every counted kind (zero included) summed over the window, plus effective_inflow."""
    totals = dict.fromkeys(COUNTED_KINDS, 0)
    for bucket in _buckets_in(state, now_seconds, hours):
        for kind, count in bucket.counts.items():
            totals[kind] += count
    totals["effective_inflow"] = max(0, totals["received"] - totals["repeat"] - totals["flagged"])
    return totals


def _share(part: int, whole: int) -> float | None:
    # Capped at 1: a part can belong to an order whose arrival fell before the window.
    if whole <= 0:
        return None
    return min(1.0, part / whole)


def _hotspots(state: OfficePressureState, now_seconds: float, settings: HotspotSettings) -> list[dict[str, Any]]:
    current = hour_started_at(now_seconds)
    baseline_from = current - settings.baseline_hours * HOUR_SECONDS
    inflow_1h: dict[HotspotKey, int] = {}
    baseline_total: dict[HotspotKey, int] = {}
    for bucket in state.buckets:
        if bucket.started_at_seconds == current:
            inflow_1h = dict(bucket.hotspot_inflow)
        elif baseline_from <= bucket.started_at_seconds < current:
            for key, count in bucket.hotspot_inflow.items():
                baseline_total[key] = baseline_total.get(key, 0) + count
    listed = []
    for (category, district), count in inflow_1h.items():
        if count < settings.min_inflow_1h:
            continue
        baseline_per_hour = baseline_total.get((category, district), 0) / settings.baseline_hours
        ratio = count / max(baseline_per_hour, settings.min_baseline_per_hour)
        listed.append(
            {
                "category": category,
                "district": district,
                "inflow_1h": count,
                "baseline_per_hour": round(baseline_per_hour, 6),
                "ratio": round(ratio, 6),
                "emerging": ratio >= settings.factor,
            }
        )
    listed.sort(key=lambda hotspot: (-hotspot["ratio"], -hotspot["inflow_1h"], hotspot["category"], hotspot["district"]))
    return listed[: settings.max_listed]


def _rounded(value: float | None) -> float | None:
    # Six decimals keep snapshots byte-stable across platforms and readable.
    return None if value is None else round(value, 6)


def snapshot(
    state: OfficePressureState,
    office_info: OfficeInfo | None,
    now_seconds: float,
    settings: PressureSettings,
) -> dict[str, Any]:
    """The hotline.pressure.v1 event of an office as of event time `now_seconds`.

    `now_seconds` is the event-time watermark; the id depends only on the office and the
    hour that contains `now`, so the latest snapshot of an hour replaces earlier ones
    downstream and a replay reproduces the same ids.
    """
    bucket_started_at = format_utc(datetime.fromtimestamp(hour_started_at(now_seconds), tz=timezone.utc))
    cause = f"{state.office_id}:{bucket_started_at}"
    windows = {name: window_counts(state, now_seconds, hours) for name, hours in WINDOW_HOURS.items()}
    day = windows["24h"]
    week = windows["7d"]
    capacity = office_info.daily_capacity if office_info is not None else 0
    pressure_ratio = day["effective_inflow"] / capacity if capacity > 0 else None
    newest = state.newest_event_at_seconds
    return {
        "event_id": derived_event_id(cause, SNAPSHOT_KIND),
        "caused_by": cause,
        "type": SNAPSHOT_TYPE,
        "occurred_at": format_utc(datetime.fromtimestamp(now_seconds, tz=timezone.utc)),
        "schema": 1,
        "office_id": state.office_id,
        "office": _office_fields(office_info),
        "bucket_started_at": bucket_started_at,
        "newest_event_at": format_utc(datetime.fromtimestamp(newest, tz=timezone.utc)) if newest is not None else None,
        "windows": windows,
        "backlog_orders": max(0, state.backlog_orders),
        "overdue_orders": max(0, state.overdue_orders),
        "pressure_ratio": _rounded(pressure_ratio),
        "repeat_ratio": _rounded(_share(day["repeat"], day["received"])),
        "flagged_ratio": _rounded(_share(day["flagged"], day["received"])),
        "ping_pong_ratio": _rounded(_share(day["returned"] + day["transferred"], day["received"])),
        "rush_closure_ratio": _rounded(_share(week["rush_closure"], week["resolved"])),
        "reopened_ratio": _rounded(_share(week["reopened"], week["resolved"])),
        "reopened_after_rush_ratio": _rounded(_share(week["rush_then_reopened"], week["rush_closure"])),
        "dissatisfied_after_rush_ratio": _rounded(_share(week["rush_then_dissatisfied"], week["rush_closure"])),
        # The larger of the two outcomes is a lower bound of "reopened or dissatisfied"
        # that never counts an order twice.
        "failed_rush_closure_ratio": _rounded(
            _share(max(week["rush_then_reopened"], week["rush_then_dissatisfied"]), week["resolved"])
        ),
        "hotspots": _hotspots(state, now_seconds, settings.hotspots),
        "late_facts_dropped": state.late_facts_dropped,
    }


def _office_fields(office_info: OfficeInfo | None) -> dict[str, Any] | None:
    if office_info is None:
        return None
    return {
        "name": office_info.name,
        "level": office_info.level,
        "district": office_info.district,
        "daily_capacity": office_info.daily_capacity,
    }
