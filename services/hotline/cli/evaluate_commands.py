"""`hotline evaluate`: score the pure stages offline against a truth file.

  hotline evaluate dedupe --events events.jsonl --truth truth.jsonl [--json]

Runs screen → verdict rules → dedupe over the events (in file order) and prints the
precision and recall of repeat links per true relation and overall, of unreasonable
flags per reason, and the throughput of the chain. `register(cli)` adds the group.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import click
import orjson
from rich.console import Console
from rich.table import Table

from hotline.configfiles import ConfigFileError
from hotline.core.dedupe import load_dedupe_settings
from hotline.core.screen_rules import load_screening_rules
from hotline.evaluation.pipeline import OfflineRun, run_offline
from hotline.evaluation.scoring import Scores, read_truth, score
from hotline.cli.jsonlines import figure, read_json_lines

out = Console()


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle




def _print_tables(run: OfflineRun, scores: Scores) -> None:
    links = Table(title="Repeat links (rows: true relation of the appeal)")
    links.add_column("relation", no_wrap=True)
    for column in ("repeats", "recalled", "recall", "links", "correct", "precision"):
        links.add_column(column, justify="right")
    for row in (*scores.links, scores.overall_links):
        links.add_row(
            row.relation,
            str(row.truth_repeats),
            str(row.recalled),
            figure(row.recall),
            str(row.predicted_links),
            str(row.correct_links),
            figure(row.precision),
        )
    flags = Table(title="Unreasonable-appeal flags")
    flags.add_column("reason", no_wrap=True)
    for column in ("truth", "predicted", "correct", "precision", "recall"):
        flags.add_column(column, justify="right")
    for flag in scores.flags:
        flags.add_row(flag.reason, str(flag.truth_count), str(flag.predicted), str(flag.correct), figure(flag.precision), figure(flag.recall))
    out.print(links)
    out.print(flags)
    out.print(
        f"appeals {run.appeals} (scored {scores.appeals_scored}), events read {run.events_read}, "
        f"re-sent skipped {run.resent_events}, dead letters {run.dead_letters}; "
        f"dedupe index peak {run.peak_index_size}, final {run.final_index_size}"
    )
    out.print(f"throughput screen+rules+dedupe: {run.appeals_per_second:,.0f} appeals/s ({run.elapsed_seconds:.2f} s)")


@click.group("evaluate")
def evaluate_group() -> None:
    """Score the pure stages offline against a truth file."""


@evaluate_group.command("dedupe")
@click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="hotline.events.v1 events, JSON lines")
@click.option("--truth", "truth_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="truth records, JSON lines")
@click.option("--screening-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/screening.toml")
@click.option("--dedupe-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/dedupe.toml")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON document instead of tables")
def evaluate_dedupe(events_path: Path, truth_path: Path, screening_config: Path | None, dedupe_config: Path | None, as_json: bool) -> None:
    """Precision / recall of repeat links and unreasonable flags, and throughput."""
    try:
        rules = load_screening_rules(screening_config)
        settings = load_dedupe_settings(dedupe_config)
    except ConfigFileError as error:
        raise click.UsageError(str(error)) from None
    truth = read_truth(read_json_lines(truth_path))
    run = run_offline(_lines(events_path), rules, settings)
    scores = score(run, truth)
    if as_json:
        document = {
            **scores.to_json(),
            "appeals": run.appeals,
            "events_read": run.events_read,
            "resent_events": run.resent_events,
            "dead_letters": run.dead_letters,
            "peak_index_size": run.peak_index_size,
            "final_index_size": run.final_index_size,
            "elapsed_seconds": round(run.elapsed_seconds, 3),
            "appeals_per_second": round(run.appeals_per_second, 1),
        }
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    _print_tables(run, scores)


def register(cli: click.Group) -> None:
    from hotline.cli import evaluate_alerts, evaluate_escalations, evaluate_reply_times

    evaluate_escalations.register(evaluate_group)
    evaluate_alerts.register(evaluate_group)
    evaluate_reply_times.register(evaluate_group)
    cli.add_command(evaluate_group)
