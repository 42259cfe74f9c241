"""The Grafana dashboard of the processor, as code.

Produces deploy/grafana/dashboards/hotline.json (`python -m hotline.dashboards`, or
`python -m hotline.dashboards --check` to fail when the committed file is stale). The
queries read the recording rules of deploy/prometheus/rules/hotline-recording.yml and
the metrics of hotline.stream.metrics and hotline.stream.pressure_metrics; a unit test
checks that every metric a panel names exists.

Four rows: office pressure overview, one office in detail (template variable `office`),
alerts, and pipeline health.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DASHBOARD_UID = "hotline-pressure"
DATASOURCE = {"type": "prometheus", "uid": "hotline-prometheus"}
GRID_COLUMNS = 24
OUTPUT = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "hotline.json"

RATIO_THRESHOLDS = [
    {"color": "green", "value": None},
    {"color": "orange", "value": 1.0},
    {"color": "red", "value": 1.2},
]


def _target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> dict[str, Any]:
    target = {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": ref}
    if instant:
        target.update({"instant": True, "range": False, "format": "table"})
    return target


class _Layout:
    """Hands out panel ids and grid positions, row after row, left to right."""

    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self._next_id = 1
        self._x = 0
        self._y = 0
        self._row_height = 0

    def row(self, title: str) -> None:
        self._newline()
        self._add({"type": "row", "title": title, "collapsed": False, "panels": []}, GRID_COLUMNS, 1)
        self._newline()

    def panel(self, panel: dict[str, Any], width: int, height: int) -> None:
        if self._x + width > GRID_COLUMNS:
            self._newline()
        panel["datasource"] = DATASOURCE
        self._add(panel, width, height)

    def _add(self, panel: dict[str, Any], width: int, height: int) -> None:
        panel["id"] = self._next_id
        self._next_id += 1
        panel["gridPos"] = {"h": height, "w": width, "x": self._x, "y": self._y}
        self.panels.append(panel)
        self._x += width
        self._row_height = max(self._row_height, height)

    def _newline(self) -> None:
        if self._x:
            self._y += self._row_height
        self._x = 0
        self._row_height = 0


def _timeseries(title: str, targets: list[dict[str, Any]], unit: str, description: str) -> dict[str, Any]:
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "targets": targets,
        "fieldConfig": {"defaults": {"unit": unit, "custom": {"lineWidth": 1, "fillOpacity": 10}}, "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]}, "tooltip": {"mode": "multi", "sort": "desc"}},
    }


def _stat(title: str, expr: str, unit: str, description: str, thresholds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    steps = thresholds or [{"color": "green", "value": None}]
    return {
        "type": "stat",
        "title": title,
        "description": description,
        "targets": [_target(expr)],
        "fieldConfig": {"defaults": {"unit": unit, "thresholds": {"mode": "absolute", "steps": steps}}, "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}, "colorMode": "value", "graphMode": "area"},
    }


def _table(title: str, targets: list[dict[str, Any]], description: str, columns: dict[str, str]) -> dict[str, Any]:
    """An instant table merging one query per column; `columns` renames Value #<ref>."""
    return {
        "type": "table",
        "title": title,
        "description": description,
        "targets": targets,
        "transformations": [
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": True}, "renameByName": columns}},
        ],
        "fieldConfig": {"defaults": {"custom": {"align": "auto"}}, "overrides": []},
        "options": {"showHeader": True},
    }


def _overview(layout: _Layout) -> None:
    layout.row("Office pressure overview")
    over_capacity = [{"color": "green", "value": None}, {"color": "red", "value": 1}]
    layout.panel(
        _stat("Offices over capacity", "count(hotline:office_pressure_ratio:max >= 1) or vector(0)", "none", "Offices whose effective inflow of the last 24 h reached their daily capacity.", over_capacity),
        6, 4,
    )
    layout.panel(_stat("Open orders", "sum(hotline:office_backlog_orders:max)", "none", "Orders open at all offices."), 6, 4)
    layout.panel(_stat("Overdue orders", "sum(hotline:office_overdue_orders:max)", "none", "Open orders past a deadline.", over_capacity), 6, 4)
    layout.panel(_stat("Alerts firing", "sum(hotline:alert_active:max)", "none", "Alert and office pairs firing now.", over_capacity), 6, 4)
    layout.panel(
        {
            "type": "bargauge",
            "title": "Pressure ratio, top 15 offices",
            "description": "Effective inflow of the last 24 h over daily capacity; 100 % = capacity fully used.",
            "targets": [_target("topk(15, hotline:office_pressure_ratio:max)", "{{office}}", instant=True)],
            "fieldConfig": {"defaults": {"unit": "percentunit", "min": 0, "thresholds": {"mode": "absolute", "steps": RATIO_THRESHOLDS}}, "overrides": []},
            "options": {"orientation": "horizontal", "displayMode": "gradient", "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
        },
        10, 10,
    )
    layout.panel(
        _table(
            "Offices",
            [
                _target("hotline:office_pressure_ratio:max", instant=True, ref="A"),
                _target("hotline:office_backlog_orders:max", instant=True, ref="B"),
                _target("hotline:office_overdue_orders:max", instant=True, ref="C"),
                _target("hotline:office_repeat_ratio:max", instant=True, ref="D"),
                _target("hotline:office_ping_pong_ratio:max", instant=True, ref="E"),
                _target("hotline:office_failed_rush_closure_ratio:max", instant=True, ref="F"),
            ],
            "Every office's current indicators; sort by a column to find where pressure builds.",
            {
                "Value #A": "pressure ratio",
                "Value #B": "backlog",
                "Value #C": "overdue",
                "Value #D": "repeat share",
                "Value #E": "ping-pong share",
                "Value #F": "failed rush closures",
            },
        ),
        14, 10,
    )


def _drill_down(layout: _Layout) -> None:
    layout.row("Office $office")
    office = '{office="$office"}'
    layout.panel(
        _timeseries("Pressure ratio", [_target(f"hotline:office_pressure_ratio:max{office}", "pressure ratio")], "percentunit", "Effective inflow of the last 24 h over daily capacity."),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Inflow of the last 24 h, raw and effective",
            [_target(f"hotline:office_inflow_24h_appeals:max{office}", "{{load}}")],
            "none",
            "Raw: every appeal that reached the office. Effective: without repeats of existing cases and flagged appeals.",
        ),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Backlog and overdue orders",
            [
                _target(f"hotline:office_backlog_orders:max{office}", "open", ref="A"),
                _target(f"hotline:office_overdue_orders:max{office}", "overdue", ref="B"),
            ],
            "none",
            "Orders open at the office now, and those past a deadline.",
        ),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Wasted-work shares",
            [
                _target(f"hotline:office_repeat_ratio:max{office}", "repeats (24 h)", ref="A"),
                _target(f"hotline:office_flagged_ratio:max{office}", "flagged (24 h)", ref="B"),
                _target(f"hotline:office_ping_pong_ratio:max{office}", "ping-pong (24 h)", ref="C"),
                _target(f"hotline:office_rush_closure_ratio:max{office}", "rush closures (7 d)", ref="D"),
                _target(f"hotline:office_failed_rush_closure_ratio:max{office}", "failed rush closures (7 d)", ref="E"),
            ],
            "percentunit",
            "Shares of work that help nobody: repeats, flagged appeals, orders bounced away, closures rushed before the deadline.",
        ),
        12, 8,
    )
    layout.panel(
        _timeseries(
            "Deadline breaches and escalations",
            [
                _target(f"hotline:office_deadline_breaches_24h:max{office}", "breaches (24 h)", ref="A"),
                _target(f'max(hotline_office_escalations{{office="$office", window="24h"}})', "escalations (24 h)", ref="B"),
            ],
            "none",
            "Deadline breaches and escalations of the office's orders over the last 24 h.",
        ),
        12, 8,
    )
    layout.panel(
        _table(
            "Hotspots (current hour)",
            [
                _target(f"hotline:hotspot_inflow_ratio:max{office}", instant=True, ref="A"),
                _target(f"max by (office, category, district) (hotline_hotspot_inflow_appeals{office})", instant=True, ref="B"),
            ],
            "Category x district combinations with the most appeals this hour against their own baseline.",
            {"Value #A": "ratio to baseline", "Value #B": "appeals this hour"},
        ),
        24, 8,
    )


def _alerts(layout: _Layout) -> None:
    layout.row("Alerts")
    layout.panel(
        _table(
            "Firing now",
            [_target("hotline:alert_active:max == 1", instant=True)],
            "Alerts the processor reports firing (event time, with the hysteresis of config/alerts.toml).",
            {"Value": "firing"},
        ),
        10, 8,
    )
    layout.panel(
        {
            "type": "state-timeline",
            "title": "Offices firing, per alert",
            "description": "How many offices each alert fires for, over time.",
            "targets": [_target("sum by (alert) (hotline:alert_active:max)", "{{alert}}")],
            "fieldConfig": {
                "defaults": {
                    "unit": "none",
                    "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None}, {"color": "red", "value": 1}]},
                },
                "overrides": [],
            },
            "options": {"showValue": "auto", "mergeValues": True},
        },
        14, 8,
    )


def _pipeline(layout: _Layout) -> None:
    layout.row("Pipeline health")
    layout.panel(
        _timeseries("Consumed", [_target("hotline:messages_consumed:rate5m", "{{topic}}")], "reqps", "Messages consumed per second, per topic."),
        8, 8,
    )
    layout.panel(
        _timeseries("Processed", [_target("hotline:messages_processed:rate5m", "{{stage}}")], "reqps", "Messages processed per second, per stage."),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Dead-lettered",
            [_target("hotline:messages_deadlettered:rate5m > 0", "{{stage}} {{reason}}")],
            "reqps",
            "Messages sent to hotline.deadletter.v1 per second, per stage and reason.",
        ),
        8, 8,
    )
    layout.panel(
        _timeseries("Produced", [_target("hotline:messages_produced:rate5m", "{{topic}}")], "reqps", "Messages produced per second, per derived topic."),
        8, 8,
    )
    layout.panel(
        _timeseries("Event-time lag", [_target("hotline:event_time_lag_seconds", "{{stage}}")], "s", "Wall clock minus the newest event time a stage has seen."),
        8, 8,
    )
    layout.panel(
        _timeseries("Workers up", [_target('sum(up{job="hotline"})', "workers")], "none", "Workers Prometheus can scrape."),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Held for event-time order",
            [
                _target("sum by (stage) (hotline_merge_pending_items)", "{{stage}} items"),
                _target("sum(hotline_orders_waiting_for_case_link)", "orders waiting for their case link", ref="B"),
            ],
            "none",
            "Items the dedupe, escalate and pressure stages hold until every upstream partition's "
            "clock has passed them. Growing: a partition's clock does not move (runbook, HotlineProcessorStalled).",
        ),
        8, 8,
    )
    layout.panel(
        _timeseries(
            "Time mode and idle ticks held back",
            [
                _target("count by (time_mode, idle_advance_seconds) (hotline_worker_info)", "{{time_mode}} workers (idle advance {{idle_advance_seconds}} s)"),
                _target("sum by (reason) (rate(hotline_idle_ticks_withheld_total[5m]))", "ticks held back/s: {{reason}}", ref="B"),
            ],
            "none",
            "Workers per time mode. Live workers move idle partitions to the wall clock; they hold the ticks back "
            "while their input is historic (more than a day behind the wall clock) or before any input is read.",
        ),
        8, 8,
    )


def build_dashboard() -> dict[str, Any]:
    layout = _Layout()
    _overview(layout)
    _drill_down(layout)
    _alerts(layout)
    _pipeline(layout)
    return {
        "uid": DASHBOARD_UID,
        "title": "Hotline pressure",
        "description": "Office pressure, alerts and pipeline health of the hotline stream processor.",
        "tags": ["hotline"],
        "timezone": "browser",
        "editable": False,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-24h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "office",
                    "label": "Office",
                    "type": "query",
                    "datasource": DATASOURCE,
                    "query": {"query": "label_values(hotline_office_info, office)", "refId": "office"},
                    "definition": "label_values(hotline_office_info, office)",
                    "refresh": 2,
                    "sort": 1,
                    "multi": False,
                    "includeAll": False,
                }
            ]
        },
        "annotations": {"list": []},
        "links": [],
        "panels": layout.panels,
    }


def render() -> str:
    return json.dumps(build_dashboard(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hotline.dashboards", description="Write the Grafana dashboard JSON.")
    parser.add_argument("--check", action="store_true", help="fail if the committed dashboard differs from the generated one")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    arguments = parser.parse_args(argv)
    text = render()
    if arguments.check:
        current = arguments.output.read_text(encoding="utf-8") if arguments.output.exists() else ""
        if current != text:
            print(f"{arguments.output} is stale: run python -m hotline.dashboards", file=sys.stderr)
            return 1
        return 0
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
