"""Pressure gauges follow snapshots and alert books, with bounded, pre-initialised series."""

from __future__ import annotations

import math

from prometheus_client import REGISTRY

from hotline.core.alerts import AlertBook, AlertKey, AlertState, empty_book, evaluate_processor_lag
from hotline.core.pressure import OfficeFact, OfficeInfo, OfficePressureState, record, snapshot
from hotline.rules import load_alert_settings, load_pressure_settings
from hotline.stream import pressure_metrics

MONDAY = 1717372800  # 2024-06-03T00:00:00Z
PRESSURE = load_pressure_settings()


def sample(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def office_snapshot(office: str, *, hotspot: str | None = None, received: int = 10, at: float = MONDAY + 600):
    state = OfficePressureState(office)
    for _ in range(received):
        state = record(state, OfficeFact(office, "received", at))
    for _ in range(6 if hotspot else 0):
        state = record(state, OfficeFact(office, "received", at, hotspot, "haidian"))
    state = record(state, OfficeFact(office, "opened", at))
    return snapshot(state, OfficeInfo(office, office, "street", 20), at, PRESSURE)


def test_known_offices_start_with_every_series_at_zero():
    pressure_metrics.initialise_offices([OfficeInfo("metrics-quiet", "Quiet office", "community", 15, "chaoyang")])
    assert sample("hotline_office_info", office="metrics-quiet", level="community", district="chaoyang") == 1
    assert sample("hotline_office_capacity_appeals_per_day", office="metrics-quiet") == 15
    assert sample("hotline_office_backlog_orders", office="metrics-quiet") == 0
    assert sample("hotline_office_inflow_appeals", office="metrics-quiet", window="7d", load="effective") == 0
    assert sample("hotline_alert_active", alert="TargetSubstitutionSuspected", office="metrics-quiet") == 0


def test_a_snapshot_sets_the_office_gauges():
    pressure_metrics.observe_snapshot(office_snapshot("metrics-busy", received=30))
    assert sample("hotline_office_pressure_ratio", office="metrics-busy") == 1.5
    assert sample("hotline_office_inflow_appeals", office="metrics-busy", window="24h", load="raw") == 30
    assert sample("hotline_office_backlog_orders", office="metrics-busy") == 1
    assert sample("hotline_office_newest_event_time_seconds", office="metrics-busy") == MONDAY + 600
    # nothing resolved yet: the share is undefined, not zero
    assert math.isnan(sample("hotline_office_rush_closure_ratio", office="metrics-busy"))


def test_each_later_snapshot_of_an_office_moves_the_same_series():
    for received, ratio in ((30, 1.5), (10, 0.5), (40, 2.0)):
        pressure_metrics.observe_snapshot(office_snapshot("metrics-again", received=received))
        assert sample("hotline_office_inflow_appeals", office="metrics-again", window="24h", load="raw") == received
        assert sample("hotline_office_pressure_ratio", office="metrics-again") == ratio


def test_hotspot_series_exist_only_while_the_snapshot_lists_them():
    pressure_metrics.observe_snapshot(office_snapshot("metrics-hot", hotspot="water"))
    assert sample("hotline_hotspot_inflow_appeals", office="metrics-hot", category="water", district="haidian") == 6
    pressure_metrics.observe_snapshot(office_snapshot("metrics-hot", at=MONDAY + 3 * 3600))
    assert sample("hotline_hotspot_inflow_appeals", office="metrics-hot", category="water", district="haidian") is None
    assert sample("hotline_hotspot_inflow_ratio", office="metrics-hot", category="water", district="haidian") is None


def test_alert_gauges_follow_the_book_and_a_released_office_goes_quiet():
    hotspot = AlertKey("HotspotEmerging", (("category", "water"), ("district", "haidian")))
    book = AlertBook("metrics-alerting", {hotspot: AlertState("resolving", MONDAY, MONDAY), AlertKey("RepeatSurge"): AlertState("pending", MONDAY)})
    pressure_metrics.observe_alerts(book)
    assert sample("hotline_alert_active", alert="HotspotEmerging", office="metrics-alerting") == 1
    assert sample("hotline_alert_active", alert="RepeatSurge", office="metrics-alerting") == 0
    pressure_metrics.release_office("metrics-alerting")
    assert sample("hotline_alert_active", alert="HotspotEmerging", office="metrics-alerting") == 0


def test_processor_stalled_is_exported_without_an_office():
    pressure_metrics.initialise_processor_alerts()
    assert sample("hotline_alert_active", alert="ProcessorStalled", office="") == 0
    settings = load_alert_settings()
    book, _ = evaluate_processor_lag(empty_book(None), "screen", MONDAY, MONDAY + 3600, settings)
    book, _ = evaluate_processor_lag(book, "screen", MONDAY, MONDAY + 4200, settings)
    pressure_metrics.observe_alerts(book)
    assert sample("hotline_alert_active", alert="ProcessorStalled", office="") == 1
