"""`hotline report`: offices' official assessment rates against the adjusted view.

  hotline report --events E.jsonl --offices O.jsonl --period 2026-03 \\
      [--office-level street] [--format md|csv] [--out FILE]

Replays the events file through the offline chains the evaluation commands use:
screen → verdict rules → dedupe (hotline.evaluation.pipeline) for each appeal's final
verdict and case, and screen → orders → escalate (hotline.evaluation.orders_pipeline)
for the folded orders; then hotline.core.assessment computes, per office with work in
the period, the official rates, composite, rank, the adjusted rates, adjusted rank and
the rank shift. One table per office level, best official rank first.

`register(cli)` adds the command.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Mapping

import click

from hotline.cli.jsonlines import read_json_lines
from hotline.core import order_flow
from hotline.core.config_tables import ConfigFileError
from hotline.core.assessment import Assessment, OfficeAssessment, assess, parse_period
from hotline.core.deadlines import DeadlineTracker
from hotline.core.orders import OrderState
from hotline.core.screen_rules import Verdict
from hotline.evaluation.orders_pipeline import replay_orders
from hotline.evaluation.pipeline import run_offline
from hotline.rules import load_assessment_settings, load_deadline_policy, load_dedupe_settings, load_escalation_policy, load_screening_rules

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


def replayed_assessment(events_path: Path, offices_path: Path, period_text: str) -> Assessment:
    """The whole chain: replay the file, fold the orders, assess the period."""
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
    run = replay_orders(lines, order_flow.OrderRules(DeadlineTracker(policy), escalation_policy, offices))
    return assess(
        with_final_verdicts((record.order for record in run.records.values()), cases.verdicts),
        policy,
        {office_id: office.get("level") for office_id, office in offices.items()},
        {order_id: decision.case_id for order_id, decision in cases.decisions.items()},
        period,
        settings,
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
@click.option("--format", "output_format", type=click.Choice(["md", "csv"]), default="md", show_default=True)
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="write here instead of stdout")
def report(events_path: Path, offices_path: Path, period_text: str, office_level: str | None, output_format: str, out_path: Path | None) -> None:
    """Official rates, composite and rank per office against the adjusted view."""
    assessment = replayed_assessment(events_path, offices_path, period_text)
    rows = [row for row in assessment.offices if office_level is None or row.level == office_level]
    text = render_csv(rows) if output_format == "csv" else render_markdown(assessment, rows)
    if out_path is None:
        click.echo(text, nl=False)
    else:
        out_path.write_text(text, encoding="utf-8")


def register(cli: click.Group) -> None:
    cli.add_command(report)
