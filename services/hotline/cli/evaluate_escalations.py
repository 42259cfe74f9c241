"""`hotline evaluate escalations`: deadlines and escalations replayed offline, scored.

  hotline evaluate escalations --events events.jsonl --truth truth.jsonl \\
      [--offices offices.jsonl] [--partitions N] [--json]

Runs screen → orders (deadlines, escalation proposals) → escalate (daily budgets) over
the events in file order (hotline.evaluation.orders_pipeline) and prints, per
escalation reason, what the truth expects against what was found (raised or held
back), damped and unscored, with precision and recall; then the damping figures
(raised, held back, summarised, damped by code, the largest count per order and level
and per office and day) and the deadline events by type. Without `--offices` no office
has a level or a parent, so every escalation is damped as `unknown_office`.

`register(evaluate_group)` adds the command to the `evaluate` group.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from hotline.core import order_flow
from hotline.core.config_tables import ConfigFileError
from hotline.core.deadlines import DeadlineTracker
from hotline.core.escalation import REASONS
from hotline.evaluation.escalations import DampingFigures, EscalationScores, damping_figures, read_expected_escalations, score_escalations
from hotline.evaluation.orders_pipeline import OrdersRun, replay_orders
from hotline.cli.jsonlines import figure, read_json_lines
from hotline.rules import load_deadline_policy, load_escalation_policy

# The reason codes are long; a narrow or piped console (80 columns) would cut every figure.
TABLE_WIDTH = 120




def _print_tables(run: OrdersRun, scores: EscalationScores, figures: DampingFigures, elapsed_seconds: float) -> None:
    out = Console()
    out.width = max(out.width, TABLE_WIDTH)
    reasons = Table(caption="found = raised + held back (by a daily budget); unscored = found on orders without a truth record", title=f"Escalations per reason ({scores.orders_scored} truth orders, {scores.orders_matching} matching)")
    reasons.add_column("reason", min_width=max(len(reason) for reason in REASONS))
    for column in ("expected", "found", "correct", "raised", "held back", "damped", "unscored", "precision", "recall"):
        reasons.add_column(column, justify="right")
    for row in (*scores.reasons, scores.overall):
        reasons.add_row(
            row.reason,
            str(row.expected),
            str(row.found),
            str(row.correct),
            str(row.raised),
            str(row.held_back),
            str(row.damped),
            str(row.unscored),
            figure(row.precision),
            figure(row.recall),
        )
    out.print(reasons)
    damped = ", ".join(f"{code} {count}" for code, count in figures.damped) or "none"
    out.print(
        f"raised {figures.raised}, held back {figures.held_back} (summarised {figures.summarised_count} "
        f"in {figures.summaries} summaries), damped: {damped}"
    )
    budget = "no limit" if figures.daily_budget_per_office is None else str(figures.daily_budget_per_office)
    out.print(
        f"largest per order and level {figures.max_raised_per_order_level} (limit 1), per office and day "
        f"{figures.max_raised_per_office_day} (budget {budget}): {'within limits' if figures.within_limits else 'LIMITS EXCEEDED'}"
    )
    deadline_types = Counter(event["type"] for event in run.deadline_events)
    out.print("deadline events: " + ", ".join(f"{kind} {count}" for kind, count in sorted(deadline_types.items())))
    dead = ", ".join(f"{reason} {count}" for reason, count in sorted(run.dead_letters.items())) or "none"
    rate = run.events_read / elapsed_seconds if elapsed_seconds > 0 else 0.0
    out.print(f"events read {run.events_read}, duplicates {run.duplicates}, dead letters: {dead}; {rate:,.0f} events/s ({elapsed_seconds:.2f} s)")
    if scores.missing:
        shown = ", ".join(f"{order_id} {reason}" for order_id, reason in scores.missing[:10])
        out.print(f"missing ({len(scores.missing)}): {shown}")


@click.command("escalations")
@click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="hotline.events.v1 events, JSON lines")
@click.option("--truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="simulator truth, JSON lines")
@click.option("--offices", "offices_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="office registry (hotline.offices.v1), JSON lines")
@click.option("--partitions", type=click.IntRange(min=1), default=1, show_default=True, help="input partitions, each with its own watermark")
@click.option("--deadlines-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/deadlines.toml")
@click.option("--escalation-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/escalation.toml")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON document instead of tables")
def evaluate_escalations(
    events_path: Path,
    truth_path: Path,
    offices_path: Path | None,
    partitions: int,
    deadlines_config: Path | None,
    escalation_config: Path | None,
    as_json: bool,
) -> None:
    """Expected vs found escalations per reason, precision / recall, damping figures."""
    try:
        tracker = DeadlineTracker(load_deadline_policy(deadlines_config))
        policy = load_escalation_policy(escalation_config)
    except ConfigFileError as error:
        raise click.UsageError(str(error)) from None
    offices = {} if offices_path is None else {office["office_id"]: office for office in read_json_lines(offices_path)}
    expected = read_expected_escalations(read_json_lines(truth_path))
    started = time.perf_counter()
    with events_path.open("rb") as handle:
        run = replay_orders(handle, order_flow.OrderRules(tracker, policy, offices), partitions=partitions)
    elapsed_seconds = time.perf_counter() - started
    scores = score_escalations(run, expected)
    figures = damping_figures(run, policy.daily_budget_per_office)
    if as_json:
        document = {
            **scores.to_json(),
            "damping": figures.to_json(),
            "deadline_events": dict(sorted(Counter(event["type"] for event in run.deadline_events).items())),
            "events_read": run.events_read,
            "duplicates": run.duplicates,
            "dead_letters": dict(sorted(run.dead_letters.items())),
            "elapsed_seconds": round(elapsed_seconds, 3),
        }
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    _print_tables(run, scores, figures, elapsed_seconds)


def register(evaluate_group: click.Group) -> None:
    evaluate_group.add_command(evaluate_escalations)
