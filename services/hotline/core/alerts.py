"""Alert state machines with hysteresis, driven by pressure snapshots in event time.

Consumes hotline.pressure.v1 snapshots (see hotline.core.pressure) for the office
alerts, and an event-time watermark with the wall clock for ProcessorStalled. Produces
an `AlertBook` per office (JSON-able, for a plain Faust table keyed by office_id) and
hotline.alerts.v1 events, one per state change: `alert.firing` or `alert.resolved`, with
the value that caused it and the threshold it crossed.

Each (alert, office[, labels]) is a small state machine:

  inactive --value >= fire_above--> pending --held for_seconds--> firing
  firing --value <= resolve_below--> resolving --held resolve_for_seconds--> inactive

A pending alert whose value drops below fire_above goes back to inactive; a resolving
alert whose value rises above resolve_below is firing again, without a new event.
Thresholds come from config/alerts.toml.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from hotline.core.config_tables import check, reject_unknown_keys, require
from hotline.core.ids import derived_event_id
from hotline.core.timeutil import format_utc, parse_rfc3339

OFFICE_ALERTS: tuple[str, ...] = (
    "OfficeOverloaded",
    "DeadlineBreachesRising",
    "RepeatSurge",
    "PingPongOrders",
    "TargetSubstitutionSuspected",
    "HotspotEmerging",
)
PROCESSOR_STALLED = "ProcessorStalled"
ALERT_NAMES: tuple[str, ...] = (*OFFICE_ALERTS, PROCESSOR_STALLED)
SEVERITIES = ("info", "warning", "critical")

FIRING_TYPE = "alert.firing"
RESOLVED_TYPE = "alert.resolved"

INACTIVE = "inactive"
PENDING = "pending"
FIRING = "firing"
RESOLVING = "resolving"



@dataclass(frozen=True)
class AlertRule:
    name: str
    severity: str
    fire_above: float
    resolve_below: float
    for_seconds: float
    resolve_for_seconds: float
    # Fewer observations than this (appeals, resolutions, ...) make the value unknown:
    # one repeat out of two appeals is not a surge.
    min_sample: int
    summary: str


# The fields an alert's table sets (its name is the table's name).
_RULE_KEYS = tuple(setting.name for setting in fields(AlertRule) if setting.name != "name")


@dataclass(frozen=True)
class AlertSettings:
    rules: Mapping[str, AlertRule]


def parse_alert_settings(document: Mapping[str, Any], path: Path | str) -> AlertSettings:
    """Validate a parsed alerts.toml; every problem names the file (`path`) and the field."""
    reject_unknown_keys(document, ALERT_NAMES, path)
    rules = {}
    for name in ALERT_NAMES:
        table = require(document, name, dict, path)
        reject_unknown_keys(table, _RULE_KEYS, path, name)
        severity = require(table, "severity", str, path, name)
        check(severity in SEVERITIES, path, f"{name}.severity", f"must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        fire_above = float(require(table, "fire_above", (int, float), path, name))
        resolve_below = float(require(table, "resolve_below", (int, float), path, name))
        check(
            resolve_below < fire_above,
            path,
            f"{name}.resolve_below",
            f"must be below fire_above ({fire_above}) so the alert cannot flap, got {resolve_below}",
        )
        durations = {}
        for key in ("for_seconds", "resolve_for_seconds"):
            durations[key] = float(require(table, key, (int, float), path, name))
            check(durations[key] >= 0, path, f"{name}.{key}", f"must not be negative, got {durations[key]}")
        min_sample = require(table, "min_sample", int, path, name)
        check(min_sample >= 0, path, f"{name}.min_sample", f"must not be negative, got {min_sample}")
        summary = require(table, "summary", str, path, name)
        check(bool(summary.strip()), path, f"{name}.summary", "must not be empty")
        rules[name] = AlertRule(name, severity, fire_above, resolve_below, durations["for_seconds"], durations["resolve_for_seconds"], min_sample, summary)
    return AlertSettings(rules)


@dataclass(frozen=True, order=True)
class AlertKey:
    """Which alert, about what: the office's own alerts have no labels, a hotspot has
    category and district, ProcessorStalled has the stage."""

    alert: str
    labels: tuple[tuple[str, str], ...] = ()

    def identity(self, office_id: str | None) -> str:
        parts = [self.alert, office_id or "-", *(f"{name}={value}" for name, value in self.labels)]
        return "/".join(parts)


@dataclass(frozen=True)
class AlertState:
    status: str = INACTIVE
    # Event time at which the current pending / resolving period began.
    since_seconds: float | None = None
    firing_since_seconds: float | None = None


@dataclass(frozen=True)
class Transition:
    """A state change worth an event: the alert started or stopped firing."""

    event_type: str
    threshold: float
    condition_since_seconds: float
    firing_since_seconds: float


def advance(rule: AlertRule, state: AlertState, value: float | None, now_seconds: float) -> tuple[AlertState, Transition | None]:
    """One evaluation of one alert; an unknown value (None) counts as no evidence of trouble."""
    above = value is not None and value >= rule.fire_above
    below = value is None or value <= rule.resolve_below
    if state.status == INACTIVE:
        if not above:
            return state, None
        state = AlertState(PENDING, since_seconds=now_seconds)
    if state.status == PENDING:
        if not above:
            return AlertState(), None
        if now_seconds - state.since_seconds >= rule.for_seconds:
            transition = Transition(FIRING_TYPE, rule.fire_above, state.since_seconds, now_seconds)
            return AlertState(FIRING, firing_since_seconds=now_seconds), transition
        return state, None
    if state.status == FIRING:
        if not below:
            return state, None
        state = AlertState(RESOLVING, since_seconds=now_seconds, firing_since_seconds=state.firing_since_seconds)
    if not below:
        return AlertState(FIRING, firing_since_seconds=state.firing_since_seconds), None
    if now_seconds - state.since_seconds >= rule.resolve_for_seconds:
        transition = Transition(RESOLVED_TYPE, rule.resolve_below, state.since_seconds, state.firing_since_seconds)
        return AlertState(), transition
    return state, None


@dataclass(frozen=True)
class AlertBook:
    """The alert states of one office (or of the processor, office_id None).

    Inactive alerts are not kept, so a book holds only what is pending or firing.
    """

    office_id: str | None
    states: Mapping[AlertKey, AlertState]

    def firing_alerts(self) -> frozenset[str]:
        """Alert names that are firing (a resolving alert still fires until resolved)."""
        return frozenset(key.alert for key, state in self.states.items() if state.status in (FIRING, RESOLVING))

    def firing_keys(self) -> tuple[AlertKey, ...]:
        return tuple(sorted(key for key, state in self.states.items() if state.status in (FIRING, RESOLVING)))

    def to_dict(self) -> dict[str, Any]:
        return {
            "office_id": self.office_id,
            "states": [
                {
                    "alert": key.alert,
                    "labels": dict(key.labels),
                    "status": state.status,
                    "since_seconds": state.since_seconds,
                    "firing_since_seconds": state.firing_since_seconds,
                }
                for key, state in sorted(self.states.items())
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "AlertBook":
        states = {}
        for entry in data["states"]:
            key = AlertKey(entry["alert"], tuple(sorted(entry["labels"].items())))
            states[key] = AlertState(entry["status"], entry["since_seconds"], entry["firing_since_seconds"])
        return cls(data["office_id"], states)


def empty_book(office_id: str | None) -> AlertBook:
    return AlertBook(office_id, {})


def _utc(seconds: float) -> str:
    return format_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))


def _gated(value: float | None, sample: int, rule: AlertRule) -> float | None:
    return value if sample >= rule.min_sample else None


def _per_capacity(count: int, snapshot: Mapping[str, Any]) -> float | None:
    office = snapshot.get("office") or {}
    capacity = office.get("daily_capacity") or 0
    return count / capacity if capacity > 0 else None


def office_signals(snapshot: Mapping[str, Any], settings: AlertSettings) -> dict[AlertKey, float | None]:
    """The value each office alert watches, read from a hotline.pressure.v1 snapshot."""
    rules = settings.rules
    day = snapshot["windows"]["24h"]
    week = snapshot["windows"]["7d"]
    signals: dict[AlertKey, float | None] = {
        AlertKey("OfficeOverloaded"): _gated(snapshot["pressure_ratio"], day["received"], rules["OfficeOverloaded"]),
        # Breaches against what the office can handle in a day, so a large department's
        # steady trickle of breaches does not page while a small office's pile-up does.
        AlertKey("DeadlineBreachesRising"): _gated(
            _per_capacity(day["breached"], snapshot), day["breached"], rules["DeadlineBreachesRising"]
        ),
        AlertKey("RepeatSurge"): _gated(snapshot["repeat_ratio"], day["received"], rules["RepeatSurge"]),
        AlertKey("PingPongOrders"): _gated(snapshot["ping_pong_ratio"], day["received"], rules["PingPongOrders"]),
        AlertKey("TargetSubstitutionSuspected"): _gated(
            snapshot["failed_rush_closure_ratio"], week["resolved"], rules["TargetSubstitutionSuspected"]
        ),
    }
    for hotspot in snapshot["hotspots"]:
        key = AlertKey("HotspotEmerging", (("category", hotspot["category"]), ("district", hotspot["district"])))
        signals[key] = _gated(hotspot["ratio"], hotspot["inflow_1h"], rules["HotspotEmerging"])
    return signals


def _evaluate(
    book: AlertBook,
    signals: Mapping[AlertKey, float | None],
    settings: AlertSettings,
    now_seconds: float,
    caused_by: str,
) -> tuple[AlertBook, list[dict[str, Any]]]:
    states = dict(book.states)
    events = []
    # A tracked alert whose signal is gone (a hotspot no longer listed) sees no evidence.
    for key in sorted(set(signals) | set(states)):
        rule = settings.rules[key.alert]
        value = signals.get(key)
        state, transition = advance(rule, states.get(key, AlertState()), value, now_seconds)
        if state.status == INACTIVE:
            states.pop(key, None)
        else:
            states[key] = state
        if transition is not None:
            events.append(_alert_event(rule, key, book.office_id, transition, value, now_seconds, caused_by))
    return AlertBook(book.office_id, states), events


def evaluate_office(book: AlertBook, snapshot: Mapping[str, Any], settings: AlertSettings) -> tuple[AlertBook, list[dict[str, Any]]]:
    """Advance every office alert with one snapshot; time is the snapshot's occurred_at."""
    if snapshot["office_id"] != book.office_id:
        raise ValueError(f"snapshot of office {snapshot['office_id']!r} evaluated against the alerts of {book.office_id!r}")
    now_seconds = parse_rfc3339(snapshot["occurred_at"]).timestamp()
    return _evaluate(book, office_signals(snapshot, settings), settings, now_seconds, snapshot["event_id"])


def evaluate_processor_lag(
    book: AlertBook,
    stage: str,
    watermark_seconds: float | None,
    now_seconds: float,
    settings: AlertSettings,
) -> tuple[AlertBook, list[dict[str, Any]]]:
    """Advance ProcessorStalled for one stage: value = now - watermark (seconds).

    This is the one alert timed by the wall clock (`now_seconds`, passed in by the
    agent): a stalled processor is exactly one whose event time stopped moving. With
    no watermark yet (nothing consumed) the lag is unknown, not infinite.
    """
    lag_seconds = now_seconds - watermark_seconds if watermark_seconds is not None else None
    watermark = _utc(watermark_seconds) if watermark_seconds is not None else "none"
    key = AlertKey(PROCESSOR_STALLED, (("stage", stage),))
    return _evaluate(book, {key: lag_seconds}, settings, now_seconds, f"watermark:{stage}:{watermark}")


def _alert_event(
    rule: AlertRule,
    key: AlertKey,
    office_id: str | None,
    transition: Transition,
    value: float | None,
    now_seconds: float,
    caused_by: str,
) -> dict[str, Any]:
    occurred_at = _utc(now_seconds)
    return {
        # Identity of the alert plus the instant of the change: the same history
        # replayed gives the same ids, and firing twice in one hour gives two.
        "event_id": derived_event_id(f"{key.identity(office_id)}@{occurred_at}", transition.event_type),
        "caused_by": caused_by,
        "type": transition.event_type,
        "occurred_at": occurred_at,
        "schema": 1,
        "alert": rule.name,
        "severity": rule.severity,
        "office_id": office_id,
        "labels": dict(key.labels),
        "value": None if value is None else round(value, 6),
        "threshold": transition.threshold,
        "condition_since": _utc(transition.condition_since_seconds),
        "firing_since": _utc(transition.firing_since_seconds),
        "summary": rule.summary,
    }
