"""The Grafana dashboard of the processor, as code on the Grafana Foundation SDK.

Produces deploy/grafana/dashboards/hotline.json (`python -m hotline.dashboards`, or
`python -m hotline.dashboards --check` to fail when the committed file is stale). Panels,
queries and the variable are built with the SDK's typed builders
(`grafana_foundation_sdk.builders.*`) and serialised with its JSON encoder. The queries
read the recording rules of deploy/prometheus/rules/hotline-recording.yml and the metrics
of hotline.stream.metrics and hotline.stream.pressure_metrics; a unit test checks that
every metric a panel names exists.

Five rows: office pressure overview, one office in detail (template variable `office`),
the assessment rates and ranks, official and adjusted (template variable `period`: the
current day, week or month), alerts, and pipeline health. The SDK lays panels out left to right and starts a new line
once the widths reach the 24 grid columns, so the widths of a line add up to 24 (the last
line of a row may be shorter).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import bargauge, common, dashboard, prometheus, stat, statetimeline, table, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models
from grafana_foundation_sdk.models import prometheus as prometheus_models

DASHBOARD_UID = "hotline-pressure"
DASHBOARD_TITLE = "Hotline pressure"
DATASOURCE = dashboard_models.DataSourceRef(type_val="prometheus", uid="hotline-prometheus")
OFFICE_VARIABLE_QUERY = "label_values(hotline_office_info, office)"
PERIOD_KINDS = ("month", "week", "day")
OUTPUT = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "dashboards" / "hotline.json"

GREEN_ONLY = [dashboard_models.Threshold(color="green", value=None)]
RED_FROM_ONE = [dashboard_models.Threshold(color="green", value=None), dashboard_models.Threshold(color="red", value=1)]
RATIO_THRESHOLDS = [
    dashboard_models.Threshold(color="green", value=None),
    dashboard_models.Threshold(color="orange", value=1.0),
    dashboard_models.Threshold(color="red", value=1.2),
]


def _target(expr: str, legend: str = "", *, instant: bool = False, ref: str = "A") -> prometheus.Dataquery:
    target = prometheus.Dataquery().datasource(DATASOURCE).expr(expr).legend_format(legend).ref_id(ref)
    if instant:
        target.instant().format(prometheus_models.PromQueryFormat.TABLE)
    return target


def _thresholds(steps: list[dashboard_models.Threshold]) -> dashboard.ThresholdsConfig:
    return dashboard.ThresholdsConfig().mode(dashboard_models.ThresholdsMode.ABSOLUTE).steps(steps)


def _last_value() -> common.ReduceDataOptions:
    return common.ReduceDataOptions().calcs(["lastNotNull"]).fields("").values(False)


def _shown_legend(mode: common_models.LegendDisplayMode, calcs: list[str]) -> common.VizLegendOptions:
    # The SDK's legend defaults to hidden, Grafana's timeseries and state-timeline
    # panels to shown: say it.
    return common.VizLegendOptions().show_legend(True).display_mode(mode).placement(common_models.LegendPlacement.BOTTOM).calcs(calcs)


def _timeseries(title: str, targets: list[prometheus.Dataquery], unit: str, description: str, width: int) -> timeseries.Panel:
    return (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets)
        .unit(unit)
        .line_width(1)
        .fill_opacity(10)
        .legend(_shown_legend(common_models.LegendDisplayMode.TABLE, ["lastNotNull", "max"]))
        .tooltip(common.VizTooltipOptions().mode(common_models.TooltipDisplayMode.MULTI).sort(common_models.SortOrder.DESCENDING))
        .span(width)
        .height(8)
    )


def _stat(title: str, expr: str, description: str, thresholds: list[dashboard_models.Threshold] = GREEN_ONLY) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(_target(expr))
        .unit("none")
        .thresholds(_thresholds(thresholds))
        .reduce_options(_last_value())
        .color_mode(common_models.BigValueColorMode.VALUE)
        .graph_mode(common_models.BigValueGraphMode.AREA)
        .span(6)
        .height(4)
    )


def _table(title: str, targets: list[prometheus.Dataquery], description: str, columns: dict[str, str], width: int, height: int) -> table.Panel:
    """An instant table merging one query per column; `columns` renames Value #<ref>."""
    return (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .targets(targets)
        .transformations(
            [
                dashboard_models.DataTransformerConfig(id_val="merge", options={}),
                dashboard_models.DataTransformerConfig(
                    id_val="organize", options={"excludeByName": {"Time": True}, "renameByName": columns}
                ),
            ]
        )
        .align(common_models.FieldTextAlignment.AUTO)
        .show_header(True)
        .span(width)
        .height(height)
    )


def _overview(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Office pressure overview"))
    board.with_panel(
        _stat(
            "Offices over capacity",
            "count(hotline:office_pressure_ratio:max >= 1) or vector(0)",
            "Offices whose effective inflow of the last 24 h reached their daily capacity.",
            RED_FROM_ONE,
        )
    )
    board.with_panel(_stat("Open orders", "sum(hotline:office_backlog_orders:max)", "Orders open at all offices."))
    board.with_panel(_stat("Overdue orders", "sum(hotline:office_overdue_orders:max)", "Open orders past a deadline.", RED_FROM_ONE))
    board.with_panel(_stat("Alerts firing", "sum(hotline:alert_active:max)", "Alert and office pairs firing now.", RED_FROM_ONE))
    board.with_panel(
        bargauge.Panel()
        .title("Pressure ratio, top 15 offices")
        .description("Effective inflow of the last 24 h over daily capacity; 100 % = capacity fully used.")
        .datasource(DATASOURCE)
        .with_target(_target("topk(15, hotline:office_pressure_ratio:max)", "{{office}}", instant=True))
        .unit("percentunit")
        .min(0)
        .thresholds(_thresholds(RATIO_THRESHOLDS))
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(_last_value())
        .span(10)
        .height(10)
    )
    board.with_panel(
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
            14,
            10,
        )
    )


def _drill_down(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Office $office"))
    office = '{office="$office"}'
    board.with_panel(
        _timeseries(
            "Pressure ratio",
            [_target(f"hotline:office_pressure_ratio:max{office}", "pressure ratio")],
            "percentunit",
            "Effective inflow of the last 24 h over daily capacity.",
            8,
        )
    )
    board.with_panel(
        _timeseries(
            "Inflow of the last 24 h, raw and effective",
            [_target(f"hotline:office_inflow_24h_appeals:max{office}", "{{load}}")],
            "none",
            "Raw: every appeal that reached the office. Effective: without repeats of existing cases and flagged appeals.",
            8,
        )
    )
    board.with_panel(
        _timeseries(
            "Backlog and overdue orders",
            [
                _target(f"hotline:office_backlog_orders:max{office}", "open", ref="A"),
                _target(f"hotline:office_overdue_orders:max{office}", "overdue", ref="B"),
            ],
            "none",
            "Orders open at the office now, and those past a deadline.",
            8,
        )
    )
    board.with_panel(
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
            12,
        )
    )
    board.with_panel(
        _timeseries(
            "Deadline breaches and escalations",
            [
                _target(f"hotline:office_deadline_breaches_24h:max{office}", "breaches (24 h)", ref="A"),
                _target('max(hotline_office_escalations{office="$office", window="24h"})', "escalations (24 h)", ref="B"),
            ],
            "none",
            "Deadline breaches and escalations of the office's orders over the last 24 h.",
            12,
        )
    )
    board.with_panel(
        _table(
            "Hotspots (current hour)",
            [
                _target(f"hotline:hotspot_inflow_ratio:max{office}", instant=True, ref="A"),
                _target(f"max by (office, category, district) (hotline_hotspot_inflow_appeals{office})", instant=True, ref="B"),
            ],
            "Category x district combinations with the most appeals this hour against their own baseline.",
            {"Value #A": "ratio to baseline", "Value #B": "appeals this hour"},
            24,
            8,
        )
    )


def _assessment(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Assessment: official and adjusted ($period)"))
    period = '{period="$period"}'
    board.with_panel(
        _table(
            "Ranks, official and adjusted",
            [
                _target('hotline:office_assessment_rank:max{period="$period", view="official"}', instant=True, ref="A"),
                _target('hotline:office_assessment_rank:max{period="$period", view="adjusted"}', instant=True, ref="B"),
                _target(f"hotline:office_assessment_rank_shift:max{period}", instant=True, ref="C"),
                _target('hotline:office_assessment_score:max{period="$period", view="official"}', instant=True, ref="D"),
                _target('hotline:office_assessment_score:max{period="$period", view="adjusted"}', instant=True, ref="E"),
            ],
            "Every office's rank among the offices of its level in the current period, on the official rates and in the adjusted "
            "view (repeats counted once with their case, flagged appeals left out, failed rush closures unresolved). "
            "Rank shift = adjusted rank - official rank: positive when the official rank flatters the office.",
            {
                "Value #A": "official rank",
                "Value #B": "adjusted rank",
                "Value #C": "rank shift",
                "Value #D": "official score",
                "Value #E": "adjusted score",
            },
            14,
            10,
        ).sort_by([common.TableSortByFieldState().display_name("rank shift").desc(True)])
    )
    board.with_panel(
        bargauge.Panel()
        .title("Rank shift, top 10 offices")
        .description("Offices the official ranking flatters most in the current period: how many places better they rank officially than adjusted.")
        .datasource(DATASOURCE)
        .with_target(_target(f"topk(10, hotline:office_assessment_rank_shift:max{period} > 0)", "{{office}}", instant=True))
        .unit("none")
        .min(0)
        .thresholds(_thresholds([dashboard_models.Threshold(color="green", value=None), dashboard_models.Threshold(color="orange", value=1), dashboard_models.Threshold(color="red", value=3)]))
        .orientation(common_models.VizOrientation.HORIZONTAL)
        .display_mode(common_models.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(_last_value())
        .span(10)
        .height(10)
    )
    office = '{office="$office", period="$period"}'
    board.with_panel(
        _timeseries(
            "Rates of office $office, official and adjusted",
            [_target(f"hotline:office_assessment_rate_ratio:max{office}", "{{view}} {{rate}}")],
            "percentunit",
            "Response, resolution and satisfaction rates of the current period so far; the adjusted resolution rate falls below "
            "the official one by the office's repeats and failed rush closures.",
            12,
        )
    )
    board.with_panel(
        _timeseries(
            "Rank of office $office, official and adjusted",
            [_target(f"hotline:office_assessment_rank:max{office}", "{{view}} rank")],
            "none",
            "The office's rank among the offices of its level in the current period (1 = best).",
            12,
        )
    )
    board.with_panel(
        _table(
            "Official rank flatters (HotlineOfficialRankFlatters)",
            [_target('ALERTS{alertname="HotlineOfficialRankFlatters", alertstate="firing"}', instant=True)],
            "Offices Prometheus alerts on: this month's official rank at least 3 places better than adjusted, with a high official "
            "score, failed rush closures and passed-on orders (runbook, HotlineOfficialRankFlatters).",
            {"Value": "firing"},
            24,
            6,
        )
    )


def _alerts(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Alerts"))
    board.with_panel(
        _table(
            "Firing now",
            [_target("hotline:alert_active:max == 1", instant=True)],
            "Alerts the processor reports firing (event time, with the hysteresis of config/alerts.toml).",
            {"Value": "firing"},
            10,
            8,
        )
    )
    board.with_panel(
        statetimeline.Panel()
        .title("Offices firing, per alert")
        .description("How many offices each alert fires for, over time.")
        .datasource(DATASOURCE)
        .with_target(_target("sum by (alert) (hotline:alert_active:max)", "{{alert}}"))
        .unit("none")
        .thresholds(_thresholds(RED_FROM_ONE))
        .show_value(common_models.VisibilityMode.AUTO)
        .merge_values(True)
        .legend(_shown_legend(common_models.LegendDisplayMode.LIST, []))
        .tooltip(common.VizTooltipOptions().mode(common_models.TooltipDisplayMode.SINGLE).sort(common_models.SortOrder.NONE))
        .span(14)
        .height(8)
    )


def _pipeline(board: dashboard.Dashboard) -> None:
    board.with_row(dashboard.Row("Pipeline health"))
    board.with_panel(
        _timeseries("Consumed", [_target("hotline:messages_consumed:rate5m", "{{topic}}")], "reqps", "Messages consumed per second, per topic.", 8)
    )
    board.with_panel(
        _timeseries("Processed", [_target("hotline:messages_processed:rate5m", "{{stage}}")], "reqps", "Messages processed per second, per stage.", 8)
    )
    board.with_panel(
        _timeseries(
            "Dead-lettered",
            [_target("hotline:messages_deadlettered:rate5m > 0", "{{stage}} {{reason}}")],
            "reqps",
            "Messages sent to hotline.deadletter.v1 per second, per stage and reason.",
            8,
        )
    )
    board.with_panel(
        _timeseries("Produced", [_target("hotline:messages_produced:rate5m", "{{topic}}")], "reqps", "Messages produced per second, per derived topic.", 8)
    )
    board.with_panel(
        _timeseries("Event-time lag", [_target("hotline:event_time_lag_seconds", "{{stage}}")], "s", "Wall clock minus the newest event time a stage has seen.", 8)
    )
    board.with_panel(_timeseries("Workers up", [_target('sum(up{job="hotline"})', "workers")], "none", "Workers Prometheus can scrape.", 8))
    board.with_panel(
        _timeseries(
            "Held for event-time order",
            [
                _target("sum by (stage) (hotline_merge_pending_items)", "{{stage}} items"),
                _target("sum(hotline_orders_waiting_for_case_link)", "orders waiting for their case link", ref="B"),
            ],
            "none",
            "Items the dedupe, escalate and pressure stages hold until every upstream partition's "
            "clock has passed them. Growing: a partition's clock does not move (runbook, HotlineProcessorStalled).",
            8,
        )
    )
    board.with_panel(
        _timeseries(
            "Time mode and idle ticks held back",
            [
                _target("count by (time_mode, idle_advance_seconds) (hotline_worker_info)", "{{time_mode}} workers (idle advance {{idle_advance_seconds}} s)"),
                _target("sum by (reason) (rate(hotline_idle_ticks_withheld_total[5m]))", "ticks held back/s: {{reason}}", ref="B"),
            ],
            "none",
            "Workers per time mode. Live workers move idle partitions to the wall clock; they hold the ticks back "
            "while their input is historic (more than a day behind the wall clock) or before any input is read.",
            8,
        )
    )


def _office_variable() -> dashboard.QueryVariable:
    return (
        dashboard.QueryVariable("office")
        .label("Office")
        .datasource(DATASOURCE)
        .query({"query": OFFICE_VARIABLE_QUERY, "refId": "office"})
        .refresh(dashboard_models.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(False)
        .include_all(False)
    )


def _period_variable() -> dashboard.CustomVariable:
    return (
        dashboard.CustomVariable("period")
        .label("Assessment period")
        .values(",".join(PERIOD_KINDS))
        .current(dashboard_models.VariableOption(selected=True, text=PERIOD_KINDS[0], value=PERIOD_KINDS[0]))
        .options([dashboard_models.VariableOption(selected=kind == PERIOD_KINDS[0], text=kind, value=kind) for kind in PERIOD_KINDS])
        .multi(False)
        .include_all(False)
    )


def build_dashboard() -> dashboard_models.Dashboard:
    board = (
        dashboard.Dashboard(DASHBOARD_TITLE)
        .uid(DASHBOARD_UID)
        .description("Office pressure, alerts and pipeline health of the hotline stream processor.")
        .tags(["hotline"])
        .timezone("browser")
        .readonly()
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .refresh("30s")
        .version(1)
        .time("now-24h", "now")
        .with_variable(_office_variable())
        .with_variable(_period_variable())
    )
    _overview(board)
    _drill_down(board)
    _assessment(board)
    _alerts(board)
    _pipeline(board)
    model = board.build()
    # The SDK leaves panel ids to Grafana; numbering them here keeps links to one panel
    # (viewPanel=<id>) stable from one generated file to the next.
    for panel_id, panel in enumerate(model.panels or [], start=1):
        panel.id_val = panel_id
    return model


def render() -> str:
    return json.dumps(build_dashboard(), cls=JSONEncoder, indent=2, ensure_ascii=False) + "\n"


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
