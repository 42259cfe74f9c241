"""Prometheus gauges of office pressure and alerts (prefix hotline_, base units).

Consumes what the pure core produces: hotline.pressure.v1 snapshots
(hotline.core.pressure.snapshot), alert books (hotline.core.alerts.AlertBook) and the
office registry. Produces gauges only; the workers' counters live in
hotline.stream.metrics.

Labels are bounded: office (the registry), window (1h / 24h / 7d), load (raw /
effective), alert (a fixed list), and category x district only for the few hotspots a
snapshot lists (at most [hotspots] max_listed per office; series of hotspots that drop
off the list are removed). An office's series can live on the worker that last owned the
office's table partition, so dashboards and rules aggregate with `max by (office)`, and
`release_office` zeroes a revoked office's alerts.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from prometheus_client import Gauge

from hotline.core.alerts import OFFICE_ALERTS, PROCESSOR_STALLED, AlertBook
from hotline.core.pressure import WINDOW_HOURS, OfficeInfo
from hotline.core.timeutil import parse_rfc3339
from hotline.stream.metrics import children_kept

OFFICE_INFO = Gauge(
    "hotline_office_info",
    "Offices of the registry (always 1), with their level and district.",
    ["office", "level", "district"],
)
OFFICE_CAPACITY = Gauge(
    "hotline_office_capacity_appeals_per_day",
    "Daily capacity of an office from the registry: the pressure ratio's denominator.",
    ["office"],
)
OFFICE_BACKLOG = Gauge(
    "hotline_office_backlog_orders",
    "Orders open at an office now.",
    ["office"],
)
OFFICE_OVERDUE = Gauge(
    "hotline_office_overdue_orders",
    "Open orders of an office that are past a deadline now.",
    ["office"],
)
OFFICE_INFLOW = Gauge(
    "hotline_office_inflow_appeals",
    "Appeals that reached an office in the window (event time); effective = raw - repeats - flagged.",
    ["office", "window", "load"],
)
OFFICE_DEADLINE_BREACHES = Gauge(
    "hotline_office_deadline_breaches",
    "Deadline breaches of an office's orders in the window (event time).",
    ["office", "window"],
)
OFFICE_ESCALATIONS = Gauge(
    "hotline_office_escalations",
    "Escalations of an office's orders in the window (event time).",
    ["office", "window"],
)
OFFICE_PRESSURE = Gauge(
    "hotline_office_pressure_ratio",
    "Effective inflow of the last 24 h over the daily capacity (1 = capacity fully used); NaN when the capacity is unknown.",
    ["office"],
)
OFFICE_REPEAT = Gauge(
    "hotline_office_repeat_ratio",
    "Share of the last 24 h's appeals that repeat an existing case.",
    ["office"],
)
OFFICE_FLAGGED = Gauge(
    "hotline_office_flagged_ratio",
    "Share of the last 24 h's appeals that screening flagged (unreasonable, out of scope).",
    ["office"],
)
OFFICE_PING_PONG = Gauge(
    "hotline_office_ping_pong_ratio",
    "Orders returned or transferred away over orders received, last 24 h.",
    ["office"],
)
OFFICE_RUSH_CLOSURE = Gauge(
    "hotline_office_rush_closure_ratio",
    "Share of the last 7 d's resolutions made in the last 10 % of the allowed time.",
    ["office"],
)
OFFICE_FAILED_RUSH_CLOSURE = Gauge(
    "hotline_office_failed_rush_closure_ratio",
    "Share of the last 7 d's resolutions that were rushed and then reopened or rated unsatisfied.",
    ["office"],
)
OFFICE_NEWEST_EVENT_TIME = Gauge(
    "hotline_office_newest_event_time_seconds",
    "Newest event time of any fact about an office, as a Unix timestamp.",
    ["office"],
)
HOTSPOT_INFLOW = Gauge(
    "hotline_hotspot_inflow_appeals",
    "Appeals of a category in a district at an office in the current hour (listed hotspots only).",
    ["office", "category", "district"],
)
HOTSPOT_RATIO = Gauge(
    "hotline_hotspot_inflow_ratio",
    "A listed hotspot's current-hour inflow over its own mean hourly inflow of the baseline hours.",
    ["office", "category", "district"],
)
ALERT_ACTIVE = Gauge(
    "hotline_alert_active",
    "1 while an alert is firing for an office (any hotspot for HotspotEmerging), else 0; office is empty for ProcessorStalled.",
    ["alert", "office"],
)

# Every per-office series (no hotspots), so an office can be initialised and released as one.
_OFFICE_GAUGES = (
    OFFICE_BACKLOG,
    OFFICE_OVERDUE,
    OFFICE_PRESSURE,
    OFFICE_REPEAT,
    OFFICE_FLAGGED,
    OFFICE_PING_PONG,
    OFFICE_RUSH_CLOSURE,
    OFFICE_FAILED_RUSH_CLOSURE,
    OFFICE_NEWEST_EVENT_TIME,
)
# A snapshot sets about twenty series: their children are kept (hotline.stream.metrics),
# as these series are never removed. Hotspot series are, so theirs are looked up.
_backlog = children_kept(OFFICE_BACKLOG)
_overdue = children_kept(OFFICE_OVERDUE)
_pressure = children_kept(OFFICE_PRESSURE)
_inflow = children_kept(OFFICE_INFLOW)
_breaches = children_kept(OFFICE_DEADLINE_BREACHES)
_escalations = children_kept(OFFICE_ESCALATIONS)
_newest_event_time = children_kept(OFFICE_NEWEST_EVENT_TIME)
_alert_active = children_kept(ALERT_ACTIVE)
_SNAPSHOT_RATIOS = {
    children_kept(OFFICE_REPEAT): "repeat_ratio",
    children_kept(OFFICE_FLAGGED): "flagged_ratio",
    children_kept(OFFICE_PING_PONG): "ping_pong_ratio",
    children_kept(OFFICE_RUSH_CLOSURE): "rush_closure_ratio",
    children_kept(OFFICE_FAILED_RUSH_CLOSURE): "failed_rush_closure_ratio",
}
LOADS = ("raw", "effective")

_listed_hotspots: dict[str, set[tuple[str, str]]] = {}


def _number(value: float | None) -> float:
    # An undefined ratio (nothing received, capacity unknown) is NaN, never a fake 0:
    # NaN compares false, so no rule fires on it.
    return float("nan") if value is None else float(value)


def initialise_offices(offices: Iterable[OfficeInfo]) -> None:
    """Create every office's series at 0, so dashboards and rules see offices with no traffic."""
    for office in offices:
        OFFICE_INFO.labels(office=office.office_id, level=office.level, district=office.district or "").set(1)
        OFFICE_CAPACITY.labels(office=office.office_id).set(office.daily_capacity)
        for gauge in _OFFICE_GAUGES:
            gauge.labels(office=office.office_id)
        for window in WINDOW_HOURS:
            for load in LOADS:
                OFFICE_INFLOW.labels(office=office.office_id, window=window, load=load)
            OFFICE_DEADLINE_BREACHES.labels(office=office.office_id, window=window)
            OFFICE_ESCALATIONS.labels(office=office.office_id, window=window)
        for alert in OFFICE_ALERTS:
            ALERT_ACTIVE.labels(alert=alert, office=office.office_id)


def initialise_processor_alerts() -> None:
    ALERT_ACTIVE.labels(alert=PROCESSOR_STALLED, office="")


def observe_snapshot(snapshot: Mapping[str, Any]) -> None:
    """Set an office's gauges from its hotline.pressure.v1 snapshot."""
    office = snapshot["office_id"]
    _backlog(office).set(snapshot["backlog_orders"])
    _overdue(office).set(snapshot["overdue_orders"])
    _pressure(office).set(_number(snapshot["pressure_ratio"]))
    for ratio, field in _SNAPSHOT_RATIOS.items():
        ratio(office).set(_number(snapshot[field]))
    for window, counts in snapshot["windows"].items():
        _inflow(office, window, "raw").set(counts["received"])
        _inflow(office, window, "effective").set(counts["effective_inflow"])
        _breaches(office, window).set(counts["breached"])
        _escalations(office, window).set(counts["escalated"])
    if snapshot["newest_event_at"] is not None:
        _newest_event_time(office).set(parse_rfc3339(snapshot["newest_event_at"]).timestamp())
    listed = set()
    for hotspot in snapshot["hotspots"]:
        key = (hotspot["category"], hotspot["district"])
        listed.add(key)
        HOTSPOT_INFLOW.labels(office, *key).set(hotspot["inflow_1h"])
        HOTSPOT_RATIO.labels(office, *key).set(hotspot["ratio"])
    for key in _listed_hotspots.get(office, set()) - listed:
        HOTSPOT_INFLOW.remove(office, *key)
        HOTSPOT_RATIO.remove(office, *key)
    _listed_hotspots[office] = listed


def observe_alerts(book: AlertBook) -> None:
    """Set hotline_alert_active of every alert of the book's office (or of the processor)."""
    firing = book.firing_alerts()
    alerts = OFFICE_ALERTS if book.office_id is not None else (PROCESSOR_STALLED,)
    for alert in alerts:
        _alert_active(alert, book.office_id or "").set(1 if alert in firing else 0)


def release_office(office_id: str) -> None:
    """Forget an office this worker no longer owns (its table partition moved away).

    Alerts go to 0 rather than away so `max by (alert, office)` follows the new owner;
    hotspot series are removed because another worker now lists them.
    """
    for alert in OFFICE_ALERTS:
        _alert_active(alert, office_id).set(0)
    for key in _listed_hotspots.pop(office_id, set()):
        HOTSPOT_INFLOW.remove(office_id, *key)
        HOTSPOT_RATIO.remove(office_id, *key)
