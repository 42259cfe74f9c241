"""`hotline evaluate alerts`: the pressure alerts of a replayed run, against the truth.

  hotline evaluate alerts --scenario overload --days 7 --seed 7 [--appeals-per-day N]
  hotline evaluate alerts --events events.jsonl --truth truth.jsonl --offices offices.jsonl
      [--memory] [--json]

Simulates the scenario (or reads the files), runs screen → orders → escalate → pressure
→ alerts with one partition per stage (hotline.evaluation.alerts) and prints every
firing interval per alert and office (fired at / resolved at), each truth overload
interval against the OfficeOverloaded firings of its office (fired inside it, resolved
after it), and per office alert the offices the truth points at, those it fired for and
those it fired for elsewhere. `--memory` adds the pressure tables' size after every
simulated day (codec-encoded states, buckets held, the oldest bucket's age) and how
flat that curve is once the seven-day retention is full.

`register(evaluate_group)` adds the command to the `evaluate` group.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import click
import orjson
from rich.console import Console
from rich.table import Table

from hotline.contract import codec
from hotline.core import order_flow
from hotline.core.config_tables import ConfigFileError
from hotline.core.deadlines import DeadlineTracker
from hotline.core.pressure import RETENTION_HOURS
from hotline.evaluation.alerts import AlertsRun, MemorySample, alert_verdicts, evaluate_alerts, expected_targets, overload_verdicts
from hotline.rules import load_alert_settings, load_deadline_policy, load_escalation_policy, load_pressure_settings
from hotline.sim import DEFAULT_APPEALS_PER_DAY, SCENARIO_NAMES, SimulationSpec, simulate
from hotline.cli.jsonlines import read_json_lines

TABLE_WIDTH = 120
RETENTION_DAYS = RETENTION_HOURS // 24



def memory_flatness(samples: list[MemorySample]) -> dict[str, Any] | None:
    """Spread of the encoded size over the days after the retention filled: the largest
    and smallest day against their median (None before there are such days)."""
    settled = [sample.encoded_bytes for sample in samples[RETENTION_DAYS:]]
    if not settled:
        return None
    median = statistics.median(settled)
    return {
        "days_after_retention": len(settled),
        "median_bytes": median,
        "min_ratio": round(min(settled) / median, 4),
        "max_ratio": round(max(settled) / median, 4),
        "max_oldest_bucket_age_hours": max(sample.oldest_bucket_age_hours or 0.0 for sample in samples),
    }


def _document(run: AlertsRun, events: list[dict], truth: list[dict], elapsed_seconds: float) -> dict[str, Any]:
    targets = expected_targets(events, truth)
    return {
        "events_read": run.facts_run.orders.events_read,
        "office_facts": len(run.facts_run.facts),
        "snapshots": run.replay.snapshots,
        "alert_changes": len(run.changes),
        "fired": dict(sorted(run.fired_counts().items())),
        "intervals": [interval.to_json() for interval in run.intervals],
        "overload": [verdict.to_json() for verdict in overload_verdicts(run.intervals, targets.overloads)],
        "alerts": [verdict.to_json() for verdict in alert_verdicts(run.intervals, targets)],
        "memory": [sample.to_json() for sample in run.memory],
        "memory_flatness": memory_flatness(run.memory),
        "elapsed_seconds": round(elapsed_seconds, 3),
    }


def _names(offices: list[str]) -> str:
    return ", ".join(offices) or "—"


def _print_tables(document: dict[str, Any]) -> None:
    out = Console()
    out.width = max(out.width, TABLE_WIDTH)
    intervals = Table(title=f"Alerts fired ({document['alert_changes']} changes from {document['snapshots']} snapshots)")
    for column in ("alert", "office", "labels", "fired at", "resolved at"):
        intervals.add_column(column)
    for interval in document["intervals"]:
        labels = ", ".join(f"{name}={value}" for name, value in interval["labels"].items())
        intervals.add_row(interval["alert"], interval["office_id"], labels, interval["fired_at"], interval["resolved_at"] or "still firing")
    out.print(intervals)
    overload = Table(title="Truth overload intervals against OfficeOverloaded")
    for column in ("office", "truth start", "truth end", "fired at", "resolved at", "fired inside", "resolved after"):
        overload.add_column(column)
    for verdict in document["overload"]:
        overload.add_row(
            verdict["office_id"],
            verdict["truth_start"],
            verdict["truth_end"],
            verdict["fired_at"] or "—",
            verdict["resolved_at"] or "—",
            "yes" if verdict["fired_within"] else "NO",
            "yes" if verdict["resolved_after"] else "NO",
        )
    out.print(overload)
    verdicts = Table(title="Where each alert fired, against the offices the truth points at")
    for column in ("alert", "expected", "fired for expected", "fired elsewhere"):
        verdicts.add_column(column)
    for verdict in document["alerts"]:
        verdicts.add_row(verdict["alert"], _names(verdict["expected_offices"]), _names(verdict["hits"]), _names(verdict["elsewhere"]))
    out.print(verdicts)
    fired = ", ".join(f"{alert} {count}" for alert, count in document["fired"].items()) or "none"
    out.print(f"firings: {fired}; events read {document['events_read']}, office facts {document['office_facts']} ({document['elapsed_seconds']:.1f} s)")
    if document["memory"]:
        memory = Table(title="Pressure tables at the end of each simulated day")
        for column in ("day", "offices", "buckets", "encoded bytes", "oldest bucket age (h)"):
            memory.add_column(column, justify="right")
        for sample in document["memory"]:
            memory.add_row(sample["day"], str(sample["offices"]), str(sample["buckets"]), f"{sample['encoded_bytes']:,}", f"{sample['oldest_bucket_age_hours']:.0f}")
        out.print(memory)
        flatness = document["memory_flatness"]
        if flatness is None:
            out.print(f"memory: fewer than {RETENTION_DAYS + 1} days, the retention never filled")
        else:
            out.print(
                f"memory after day {RETENTION_DAYS} ({flatness['days_after_retention']} days): median {flatness['median_bytes']:,.0f} bytes, "
                f"days between {flatness['min_ratio']:.3f} and {flatness['max_ratio']:.3f} of it; "
                f"oldest bucket {flatness['max_oldest_bucket_age_hours']:.0f} h before the newest event (retention {RETENTION_HOURS} h)"
            )


@click.command("alerts")
@click.option("--scenario", type=click.Choice(SCENARIO_NAMES), default=None, help="simulate this scenario (instead of --events/--truth/--offices)")
@click.option("--days", type=click.IntRange(min=1), default=7, show_default=True, help="simulated days")
@click.option("--seed", type=int, default=7, show_default=True, help="simulator seed")
@click.option("--appeals-per-day", type=click.IntRange(min=1), default=DEFAULT_APPEALS_PER_DAY, show_default=True, help="fresh appeals on a working day")
@click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="hotline.events.v1 events, JSON lines")
@click.option("--truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="simulator truth, JSON lines")
@click.option("--offices", "offices_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="office registry (hotline.offices.v1), JSON lines")
@click.option("--memory", "track_memory", is_flag=True, help="also print the pressure tables' size after every simulated day")
@click.option("--deadlines-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/deadlines.toml")
@click.option("--escalation-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/escalation.toml")
@click.option("--pressure-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/pressure.toml")
@click.option("--alerts-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/alerts.toml")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON document instead of tables")
def evaluate_alerts_command(
    scenario: str | None,
    days: int,
    seed: int,
    appeals_per_day: int,
    events_path: Path | None,
    truth_path: Path | None,
    offices_path: Path | None,
    track_memory: bool,
    deadlines_config: Path | None,
    escalation_config: Path | None,
    pressure_config: Path | None,
    alerts_config: Path | None,
    as_json: bool,
) -> None:
    """Alerts fired / resolved per office, against the truth; optionally the memory curve."""
    files = (events_path, truth_path, offices_path)
    if scenario is not None and any(path is not None for path in files):
        raise click.UsageError("give either --scenario or --events/--truth/--offices, not both")
    if scenario is None and any(path is None for path in files):
        raise click.UsageError("give --scenario, or all of --events, --truth and --offices")
    try:
        tracker = DeadlineTracker(load_deadline_policy(deadlines_config))
        policy = load_escalation_policy(escalation_config)
        pressure_settings = load_pressure_settings(pressure_config)
        alert_settings = load_alert_settings(alerts_config)
    except ConfigFileError as error:
        raise click.UsageError(str(error)) from None
    if scenario is not None:
        simulation = simulate(SimulationSpec(days=days, seed=seed, scenario=scenario, appeals_per_day=appeals_per_day))
        events, truth, offices = list(simulation.events), list(simulation.truth), list(simulation.offices)
    else:
        events, truth, offices = list(read_json_lines(events_path)), list(read_json_lines(truth_path)), list(read_json_lines(offices_path))
    rules = order_flow.OrderRules(tracker, policy, {office["office_id"]: office for office in offices})
    started = time.perf_counter()
    run = evaluate_alerts([codec.encode(event) for event in events], rules, pressure_settings, alert_settings, track_memory)
    document = _document(run, events, truth, time.perf_counter() - started)
    if as_json:
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    _print_tables(document)


def register(evaluate_group: click.Group) -> None:
    evaluate_group.add_command(evaluate_alerts_command)
