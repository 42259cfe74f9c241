"""The tables of a period's briefing, from what an offline replay computed.

Consumes the period's assessment (hotline.core.assessment), the office registry, the
pressure snapshots (hotline.pressure.v1 events) and office facts of the replay, the
folded orders and the alert firing intervals. Produces a `Briefing`: plain values, ready
for `hotline.reporting.briefing` to draw and print.

- pressure: per office, its snapshots' `pressure_ratio` (the last 24 hours' effective
  inflow over the daily capacity) at the snapshots taken in the period; the offices with
  the highest peak are kept.
- repeat and ping-pong shares: the office facts of the period, per office: appeals
  received, of which repeats of an earlier case, and orders let go (returned or
  transferred on), each as a share of the appeals received (capped at 1, as the pressure
  snapshot does: an order received before the period can be let go in it).
- hotspots: appeals received in the period per category x district, most first.
- alerts: every firing interval that overlaps the period.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from hotline.core.assessment import Assessment, OfficeAssessment, Period
from hotline.core.orders import OrderState
from hotline.core.pressure import OfficeFact
from hotline.core.timeutil import parse_rfc3339
from hotline.core.workcalendar import SHANGHAI
from hotline.evaluation.alerts import FiringInterval

PRESSURE_OFFICES = 5
SHARE_OFFICES = 15
HOTSPOTS = 15
UNKNOWN_PLACE = "(not given)"


@dataclass(frozen=True)
class PressurePoint:
    at: datetime
    pressure_ratio: float


@dataclass(frozen=True)
class OfficePressure:
    """One office's pressure ratio through the period."""

    office_id: str
    daily_capacity: int
    points: tuple[PressurePoint, ...]

    @property
    def peak_ratio(self) -> float:
        return max(point.pressure_ratio for point in self.points)

    @property
    def mean_ratio(self) -> float:
        return sum(point.pressure_ratio for point in self.points) / len(self.points)

    @property
    def hours_over_capacity(self) -> int:
        return sum(point.pressure_ratio > 1.0 for point in self.points)


@dataclass(frozen=True)
class OfficeShares:
    office_id: str
    received: int
    repeats: int
    flagged: int
    let_go: int  # returned or transferred on

    @property
    def repeat_ratio(self) -> float | None:
        return min(1.0, self.repeats / self.received) if self.received else None

    @property
    def ping_pong_ratio(self) -> float | None:
        return min(1.0, self.let_go / self.received) if self.received else None


@dataclass(frozen=True)
class Hotspot:
    category: str
    district: str
    appeals: int


@dataclass(frozen=True)
class AlertSpan:
    alert: str
    office_id: str | None
    labels: tuple[tuple[str, str], ...]
    fired_at: datetime
    resolved_at: datetime | None  # None: still firing at the end of the replayed log


@dataclass(frozen=True)
class Briefing:
    period: Period
    as_of: datetime
    office_level: str | None
    office_names: Mapping[str, str]
    offices: tuple[OfficeAssessment, ...]
    pressure: tuple[OfficePressure, ...]
    shares: tuple[OfficeShares, ...]
    hotspots: tuple[Hotspot, ...]
    appeals: int  # appeals received in the period
    alerts: tuple[AlertSpan, ...]
    alert_summaries: Mapping[str, str]  # alert name -> what it means (config/alerts.toml)


def _local(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).astimezone(SHANGHAI)


def pressure_series(
    snapshots: Iterable[Mapping[str, Any]],
    period: Period,
    capacities: Mapping[str, int],
    keep: Iterable[str] | None = None,
    top: int = PRESSURE_OFFICES,
) -> tuple[OfficePressure, ...]:
    """The `top` offices by peak pressure ratio in the period (then mean, then id);
    `keep`: only these offices (None: all)."""
    kept = None if keep is None else set(keep)
    points: dict[str, list[PressurePoint]] = {}
    for snapshot in snapshots:
        ratio = snapshot["pressure_ratio"]
        office_id = snapshot["office_id"]
        if ratio is None or (kept is not None and office_id not in kept):
            continue
        at = parse_rfc3339(snapshot["occurred_at"]).astimezone(SHANGHAI)
        if period.contains(at):
            points.setdefault(office_id, []).append(PressurePoint(at, ratio))
    series = [
        OfficePressure(office_id, capacities.get(office_id, 0), tuple(sorted(office_points, key=lambda point: point.at)))
        for office_id, office_points in points.items()
    ]
    series.sort(key=lambda office: (-office.peak_ratio, -office.mean_ratio, office.office_id))
    return tuple(series[:top])


def office_shares(
    facts: Iterable[OfficeFact], period: Period, keep: Iterable[str] | None = None, top: int = SHARE_OFFICES
) -> tuple[OfficeShares, ...]:
    """The `top` offices by appeals received in the period (then id), with their shares."""
    kept = None if keep is None else set(keep)
    counts: dict[str, Counter[str]] = {}
    for fact in facts:
        if (kept is not None and fact.office_id not in kept) or not period.contains(_local(fact.occurred_at_seconds)):
            continue
        counts.setdefault(fact.office_id, Counter())[fact.kind] += 1
    shares = [
        OfficeShares(office_id, kinds["received"], kinds["repeat"], kinds["flagged"], kinds["returned"] + kinds["transferred"])
        for office_id, kinds in counts.items()
        if kinds["received"] > 0
    ]
    shares.sort(key=lambda office: (-office.received, office.office_id))
    return tuple(shares[:top])


def appeals_in(orders: Iterable[OrderState], period: Period) -> list[OrderState]:
    return [order for order in orders if order.received_at is not None and period.contains(order.received_at)]


def hotspots(appeals: Iterable[OrderState], top: int = HOTSPOTS) -> tuple[Hotspot, ...]:
    """Appeals per category x district, most first (then category, district)."""
    counts = Counter((order.category or UNKNOWN_PLACE, order.district or UNKNOWN_PLACE) for order in appeals)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(Hotspot(category, district, count) for (category, district), count in ranked[:top])


def alert_spans(intervals: Iterable[FiringInterval], period: Period, keep: Iterable[str] | None = None) -> tuple[AlertSpan, ...]:
    """The firing intervals that overlap the period, by fired instant, alert and office."""
    kept = None if keep is None else set(keep)
    spans = []
    for interval in intervals:
        if kept is not None and interval.office_id not in kept:
            continue
        fired_at = _local(interval.fired_at_seconds)
        resolved_at = None if interval.resolved_at_seconds is None else _local(interval.resolved_at_seconds)
        if fired_at < period.ends_at and (resolved_at is None or resolved_at > period.starts_at):
            spans.append(AlertSpan(interval.alert, interval.office_id, tuple(interval.labels), fired_at, resolved_at))
    spans.sort(key=lambda span: (span.fired_at, span.alert, span.office_id or ""))
    return tuple(spans)


def briefing_of(
    assessment: Assessment,
    registry: Mapping[str, Mapping[str, Any]],
    office_level: str | None,
    snapshots: Iterable[Mapping[str, Any]],
    facts: Iterable[OfficeFact],
    orders: Iterable[OrderState],
    intervals: Iterable[FiringInterval],
    alert_summaries: Mapping[str, str],
) -> Briefing:
    """Every table of the briefing; with `office_level`, office tables keep that level only."""
    period = assessment.period
    keep = None if office_level is None else {office_id for office_id, office in registry.items() if office.get("level") == office_level}
    period_appeals = appeals_in(orders, period)
    return Briefing(
        period=period,
        as_of=assessment.as_of,
        office_level=office_level,
        office_names={office_id: office.get("name") or office_id for office_id, office in registry.items()},
        offices=tuple(row for row in assessment.offices if office_level is None or row.level == office_level),
        pressure=pressure_series(snapshots, period, {office_id: office.get("daily_capacity", 0) for office_id, office in registry.items()}, keep),
        shares=office_shares(facts, period, keep),
        hotspots=hotspots(period_appeals),
        appeals=len(period_appeals),
        alerts=alert_spans(intervals, period, keep),
        alert_summaries=dict(alert_summaries),
    )
