"""The Grafana dashboard: generated from code, up to date, and every panel queries the
provisioned data source for metrics that exist."""

from __future__ import annotations

import json

import yaml
from observability_names import ROOT, known_names, metric_names

from hotline import dashboards

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "hotline.json"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"


def _panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text())["panels"]


def _query_panels() -> list[dict]:
    return [panel for panel in _panels() if panel["type"] != "row"]


def test_committed_dashboard_is_what_the_generator_produces():
    assert DASHBOARD.read_text(encoding="utf-8") == dashboards.render()


def test_generator_check_reports_a_stale_file(tmp_path):
    stale = tmp_path / "hotline.json"
    stale.write_text("{}\n")
    assert dashboards.main(["--check", "--output", str(stale)]) == 1
    assert dashboards.main(["--output", str(stale)]) == 0
    assert dashboards.main(["--check", "--output", str(stale)]) == 0


def test_panel_ids_are_unique():
    ids = [panel["id"] for panel in _panels()]
    assert len(ids) == len(set(ids))


def test_every_panel_and_query_uses_the_provisioned_data_source():
    [source] = yaml.safe_load((PROVISIONING / "datasources" / "hotline.yml").read_text())["datasources"]
    expected = {"type": source["type"], "uid": source["uid"]}
    for panel in _query_panels():
        assert panel["datasource"] == expected, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == expected, panel["title"]


def test_every_query_reads_metrics_that_are_exported_or_recorded():
    known = known_names()
    for panel in _query_panels():
        for target in panel["targets"]:
            assert metric_names(target["expr"]) - known == set(), (panel["title"], target["expr"])


def test_the_dashboard_has_the_five_sections_an_office_and_a_period_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == ["Office pressure overview", "Office $office", "Assessment: official and adjusted ($period)", "Alerts", "Pipeline health"]
    office, period = dashboard["templating"]["list"]
    assert (office["name"], office["query"]["query"]) == ("office", "label_values(hotline_office_info, office)")
    assert (period["name"], period["query"], period["current"]["value"]) == ("period", "month,week,day", "month")


OFFICE = '{office="$office"}'
EXPECTED_PANELS = [
    ("row", "Office pressure overview", []),
    ("stat", "Offices over capacity", ["count(hotline:office_pressure_ratio:max >= 1) or vector(0)"]),
    ("stat", "Open orders", ["sum(hotline:office_backlog_orders:max)"]),
    ("stat", "Overdue orders", ["sum(hotline:office_overdue_orders:max)"]),
    ("stat", "Alerts firing", ["sum(hotline:alert_active:max)"]),
    ("bargauge", "Pressure ratio, top 15 offices", ["topk(15, hotline:office_pressure_ratio:max)"]),
    (
        "table",
        "Offices",
        [
            "hotline:office_pressure_ratio:max",
            "hotline:office_backlog_orders:max",
            "hotline:office_overdue_orders:max",
            "hotline:office_repeat_ratio:max",
            "hotline:office_ping_pong_ratio:max",
            "hotline:office_failed_rush_closure_ratio:max",
        ],
    ),
    ("row", "Office $office", []),
    ("timeseries", "Pressure ratio", [f"hotline:office_pressure_ratio:max{OFFICE}"]),
    ("timeseries", "Inflow of the last 24 h, raw and effective", [f"hotline:office_inflow_24h_appeals:max{OFFICE}"]),
    ("timeseries", "Backlog and overdue orders", [f"hotline:office_backlog_orders:max{OFFICE}", f"hotline:office_overdue_orders:max{OFFICE}"]),
    (
        "timeseries",
        "Wasted-work shares",
        [
            f"hotline:office_repeat_ratio:max{OFFICE}",
            f"hotline:office_flagged_ratio:max{OFFICE}",
            f"hotline:office_ping_pong_ratio:max{OFFICE}",
            f"hotline:office_rush_closure_ratio:max{OFFICE}",
            f"hotline:office_failed_rush_closure_ratio:max{OFFICE}",
        ],
    ),
    (
        "timeseries",
        "Deadline breaches and escalations",
        [f"hotline:office_deadline_breaches_24h:max{OFFICE}", 'max(hotline_office_escalations{office="$office", window="24h"})'],
    ),
    (
        "table",
        "Hotspots (current hour)",
        [f"hotline:hotspot_inflow_ratio:max{OFFICE}", f"max by (office, category, district) (hotline_hotspot_inflow_appeals{OFFICE})"],
    ),
    ("row", "Assessment: official and adjusted ($period)", []),
    (
        "table",
        "Ranks, official and adjusted",
        [
            'hotline:office_assessment_rank:max{period="$period", view="official"}',
            'hotline:office_assessment_rank:max{period="$period", view="adjusted"}',
            'hotline:office_assessment_rank_shift:max{period="$period"}',
            'hotline:office_assessment_score:max{period="$period", view="official"}',
            'hotline:office_assessment_score:max{period="$period", view="adjusted"}',
        ],
    ),
    ("bargauge", "Rank shift, top 10 offices", ['topk(10, hotline:office_assessment_rank_shift:max{period="$period"} > 0)']),
    ("timeseries", "Rates of office $office, official and adjusted", ['hotline:office_assessment_rate_ratio:max{office="$office", period="$period"}']),
    ("timeseries", "Rank of office $office, official and adjusted", ['hotline:office_assessment_rank:max{office="$office", period="$period"}']),
    ("table", "Official rank flatters (HotlineOfficialRankFlatters)", ['ALERTS{alertname="HotlineOfficialRankFlatters", alertstate="firing"}']),
    ("row", "Alerts", []),
    ("table", "Firing now", ["hotline:alert_active:max == 1"]),
    ("state-timeline", "Offices firing, per alert", ["sum by (alert) (hotline:alert_active:max)"]),
    ("row", "Pipeline health", []),
    ("timeseries", "Consumed", ["hotline:messages_consumed:rate5m"]),
    ("timeseries", "Processed", ["hotline:messages_processed:rate5m"]),
    ("timeseries", "Dead-lettered", ["hotline:messages_deadlettered:rate5m > 0"]),
    ("timeseries", "Produced", ["hotline:messages_produced:rate5m"]),
    ("timeseries", "Event-time lag", ["hotline:event_time_lag_seconds"]),
    ("timeseries", "Workers up", ['sum(up{job="hotline"})']),
    ("timeseries", "Held for event-time order", ["sum by (stage) (hotline_merge_pending_items)", "sum(hotline_orders_waiting_for_case_link)"]),
    ("timeseries", "Time mode and idle ticks held back", ["count by (time_mode, idle_advance_seconds) (hotline_worker_info)", "sum by (reason) (rate(hotline_idle_ticks_withheld_total[5m]))"]),
]


def test_the_dashboard_has_exactly_the_expected_panels_and_queries_in_order():
    panels = [(panel["type"], panel["title"], [target["expr"] for target in panel.get("targets", [])]) for panel in _panels()]
    assert panels == EXPECTED_PANELS


def test_time_series_and_timeline_panels_show_their_legend():
    # Grafana shows these legends unless told otherwise; a generated `showLegend: false` hides them.
    for panel in _query_panels():
        if panel["type"] in {"timeseries", "state-timeline"}:
            assert panel["options"]["legend"]["showLegend"] is True, panel["title"]


def test_panels_fit_the_grid_without_overlapping():
    occupied = set()
    for panel in _panels():
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert occupied.isdisjoint(cells), panel["title"]
        occupied |= cells


def test_the_dashboard_provider_loads_the_folder_compose_mounts():
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "hotline.yml").read_text())["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
