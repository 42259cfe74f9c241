"""`hotline report`: offices' official assessment rates against the adjusted view.

  hotline report --events E.jsonl --offices O.jsonl --period 2026-03 \\
      [--office-level street] [--format md|csv|html] [--out FILE]

Replays the events file through the offline chains the evaluation commands use:
screen → verdict rules → dedupe (hotline.evaluation.pipeline) for each appeal's final
verdict and case, and screen → orders → escalate (hotline.evaluation.orders_pipeline)
for the folded orders; then hotline.core.assessment computes, per office with work in
the period, the official rates, composite, rank, the adjusted rates, adjusted rank and
the rank shift. One table per office level, best official rank first.

html (or an --out file named *.html): the briefing page (hotline.reporting). The events
go once more through screen → orders → escalate, now with each appeal's final verdict
and case record, and on through pressure → alerts (hotline.evaluation.alerts), so the
pressure tables count repeats and flagged appeals as the live agents do; the page draws
the ranks, the pressure of the busiest offices, repeat and passed-on shares, hotspots
and the alerts of the period (hotline.reporting.tables).

`register(cli)` adds the command.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping

import click

from hotline.cli.jsonlines import read_json_lines
from hotline.core import order_flow
from hotline.core.alerts import OFFICE_ALERTS
from hotline.core.assessment import Assessment, AssessmentSettings, OfficeAssessment, Period, assess, parse_period
from hotline.core.config_tables import ConfigFileError
from hotline.core.deadlines import DeadlinePolicy, DeadlineTracker
from hotline.core.orders import OrderState
from hotline.core.screen_rules import Verdict
from hotline.evaluation.alerts import PressureReplay, firing_intervals, replay_pressure, replay_with_facts
from hotline.evaluation.orders_pipeline import replay_orders
from hotline.evaluation.pipeline import OfflineRun, case_records, run_offline
from hotline.reporting.tables import Briefing, briefing_of
from hotline.rules import (
    load_alert_settings,
    load_assessment_settings,
    load_deadline_policy,
    load_dedupe_settings,
    load_escalation_policy,
    load_pressure_settings,
    load_screening_rules,
)

FORMATS = ("md", "csv", "html")
SUFFIX_FORMATS = {"md": "md", "csv": "csv", "html": "html", "htm": "html"}
COLUMNS = (
    "office_id",
    "level",
    "dispatched",
    "response",
    "rated",
    "resolution",
    "satisfaction",
    "score",
    "rank",
    "adj_dispatched",
    "adj_response",
    "adj_rated",
    "adj_resolution",
    "adj_satisfaction",
    "adj_score",
    "adj_rank",
    "shift",
)


def _figure(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _whole(value: int | None) -> str:
    return "" if value is None else str(value)


def _signed(value: int | None) -> str:
    return "" if value is None else f"{value:+d}"


def format_of(out_path: Path | None) -> str:
    """The format an output file's suffix names (.html, .htm, .csv, .md), else md."""
    suffix = "" if out_path is None else out_path.suffix.lower().lstrip(".")
    return SUFFIX_FORMATS.get(suffix, "md")


def office_row(row: OfficeAssessment) -> list[str]:
    official, adjusted = row.official, row.adjusted
    return [
        row.office_id,
        row.level or "",
        str(official.dispatched),
        _figure(official.response_ratio),
        str(official.rated),
        _figure(official.resolution_ratio),
        _figure(official.satisfaction_ratio),
        _figure(row.official_score),
        _whole(row.official_rank),
        str(adjusted.dispatched),
        _figure(adjusted.response_ratio),
        str(adjusted.rated),
        _figure(adjusted.resolution_ratio),
        _figure(adjusted.satisfaction_ratio),
        _figure(row.adjusted_score),
        _whole(row.adjusted_rank),
        _signed(row.rank_shift),
    ]


def render_csv(rows: list[OfficeAssessment]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(office_row(row) for row in rows)
    return buffer.getvalue()


def render_markdown(assessment: Assessment, rows: list[OfficeAssessment]) -> str:
    lines = [f"# Office assessment {assessment.period.label}", ""]
    levels = sorted({row.level or "" for row in rows})
    for level in levels:
        lines += [f"## {level or 'not in the registry'}", ""]
        lines.append("| " + " | ".join(COLUMNS) + " |")
        lines.append("|" + "|".join("---" if index < 2 else "---:" for index in range(len(COLUMNS))) + "|")
        lines += ["| " + " | ".join(office_row(row)) + " |" for row in rows if (row.level or "") == level]
        lines.append("")
    lines.append(
        "shift = adjusted rank - official rank: positive when the official rank flatters the office. "
        "adj_*: repeats counted once with their case, flagged appeals left out, failed rush closures unresolved."
    )
    return "\n".join(lines) + "\n"


@dataclass
class ReplayInputs:
    """What every replay of the report starts from: settings, registry, the events, and
    each appeal's final verdict and case from the screen → verdict rules → dedupe chain."""

    period: Period
    policy: DeadlinePolicy
    settings: AssessmentSettings
    offices: dict[str, dict[str, Any]]
    lines: list[bytes]
    cases: OfflineRun
    rules: order_flow.OrderRules


def _replay_inputs(events_path: Path, offices_path: Path, period_text: str) -> ReplayInputs:
    try:
        period = parse_period(period_text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--period") from None
    try:
        policy = load_deadline_policy()
        settings = load_assessment_settings()
        screening = load_screening_rules()
        dedupe = load_dedupe_settings()
        escalation_policy = load_escalation_policy()
    except ConfigFileError as error:
        raise click.UsageError(str(error)) from None
    offices = {office["office_id"]: office for office in read_json_lines(offices_path)}
    lines = events_path.read_bytes().splitlines()
    cases = run_offline(lines, screening, dedupe)
    rules = order_flow.OrderRules(DeadlineTracker(policy), escalation_policy, offices)
    return ReplayInputs(period, policy, settings, offices, lines, cases, rules)


def _assessment(inputs: ReplayInputs, orders: Iterable[OrderState]) -> Assessment:
    return assess(
        with_final_verdicts(orders, inputs.cases.verdicts),
        inputs.policy,
        {office_id: office.get("level") for office_id, office in inputs.offices.items()},
        {order_id: decision.case_id for order_id, decision in inputs.cases.decisions.items()},
        inputs.period,
        inputs.settings,
    )


def replayed_assessment(events_path: Path, offices_path: Path, period_text: str) -> Assessment:
    """The whole chain: replay the file, fold the orders, assess the period."""
    inputs = _replay_inputs(events_path, offices_path, period_text)
    run = replay_orders(inputs.lines, inputs.rules)
    return _assessment(inputs, (record.order for record in run.records.values()))


def replayed_briefing(events_path: Path, offices_path: Path, period_text: str, office_level: str | None) -> Briefing:
    """One replay for every table: screen → orders (with the final verdicts and case
    records) → escalate, then pressure → alerts. The orders fold the same events as in
    `replayed_assessment` and carry the same final verdicts (the case records add
    escalations, not order changes), so the assessment is the same."""
    inputs = _replay_inputs(events_path, offices_path, period_text)
    try:
        pressure_settings = load_pressure_settings()
        alert_settings = load_alert_settings()
    except ConfigFileError as error:
        raise click.UsageError(str(error)) from None
    verdicts = {order_id: verdict.to_json() for order_id, verdict in inputs.cases.verdicts.items()}
    facts_run = replay_with_facts(inputs.lines, inputs.rules, verdicts, case_records(inputs.cases))
    orders = [record.order for record in facts_run.orders.records.values()]
    # Only what the pressure chart draws: a month holds a snapshot per office and hour.
    snapshots: list[dict[str, Any]] = []

    def keep(snapshot: Mapping[str, Any]) -> None:
        snapshots.append({name: snapshot[name] for name in ("office_id", "occurred_at", "pressure_ratio")})

    pressure_run = replay_pressure(facts_run.facts, PressureReplay(inputs.offices, pressure_settings, alert_settings, keep))
    return briefing_of(
        _assessment(inputs, orders),
        inputs.offices,
        office_level,
        snapshots,
        facts_run.facts,
        orders,
        firing_intervals(pressure_run.changes),
        {name: rule.summary for name, rule in alert_settings.rules.items() if name in OFFICE_ALERTS},
    )


def with_final_verdicts(orders: Iterable[OrderState], verdicts: Mapping[str, Verdict]) -> list[OrderState]:
    """The orders chain keeps the screen stage's verdict; the live orders table gets the
    final one with the case link, so put it back."""
    return [
        replace(order, verdict_status=verdicts[order.order_id].status) if order.order_id in verdicts else order
        for order in orders
    ]


@click.command("report")
@click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="hotline.events.v1 events, JSON lines")
@click.option("--offices", "offices_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="office registry (hotline.offices.v1), JSON lines")
@click.option("--period", "period_text", required=True, help="YYYY-MM (month), YYYY-Www (ISO week) or YYYY-MM-DD (day), city time")
@click.option("--office-level", default=None, help="only offices of this level (street, department, ...)")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default=None, help="md (default), csv, or html: the briefing page with charts; default from the --out suffix")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write here instead of stdout")
def report(events_path: Path, offices_path: Path, period_text: str, office_level: str | None, output_format: str | None, out_path: Path | None) -> None:
    """Official rates, composite and rank per office against the adjusted view; with
    html, the briefing: ranks, pressure, repeats, hotspots and alerts of the period."""
    output_format = output_format or format_of(out_path)
    if output_format == "html":
        # Here, not at the top: every hotline command loads this module, a worker too,
        # and only the briefing needs matplotlib.
        from hotline.reporting.briefing import briefing_html

        text = briefing_html(replayed_briefing(events_path, offices_path, period_text, office_level))
    else:
        assessment = replayed_assessment(events_path, offices_path, period_text)
        rows = [row for row in assessment.offices if office_level is None or row.level == office_level]
        text = render_csv(rows) if output_format == "csv" else render_markdown(assessment, rows)
    if out_path is None:
        click.echo(text, nl=False)
    else:
        out_path.write_text(text, encoding="utf-8")


def register(cli: click.Group) -> None:
    cli.add_command(report)
