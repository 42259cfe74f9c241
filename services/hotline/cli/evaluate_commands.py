"""`hotline evaluate`: score the pure stages offline against a truth file or labels.

  hotline evaluate dedupe --events events.jsonl --truth truth.jsonl [--json]
  hotline evaluate real --events events.jsonl [--labels L.csv ...] [--flag-labels F.csv ...]
                        [--examples N] [--show-text] [--json]

Both run screen → verdict rules → dedupe over the events (in file order).

`dedupe` scores a simulated run against the simulator's truth: the precision and recall
of repeat links per true relation and overall, of unreasonable flags per reason, and the
throughput of the chain.

`real` takes any imported events file (`hotline import ...`) and, optionally, label files
of real links (data/labels/*.csv: order_id,earlier_order_id,label). It prints the
verdicts by status and by reason, the links per relation, and with labels: the
precision of the links a label can judge (per relation and overall; unjudged links
counted apart), the recall of labelled duplicate pairs, how many duplicates without a
named original (or whose original is not in the file) were linked at all, the verdicts of labelled appeals, N examples of each kind of error (false
links, missed duplicates, rejected or flagged labelled appeals; ids and figures only,
`--show-text` adds the titles for a local reader), and the throughput of the chain.
The rules are hotline.evaluation.labels. With flag labels (order_id,reason,agree) it also
prints, per verdict reason, how many of the appeals given it a reader agrees with
(hotline.evaluation.flag_labels).

`register(cli)` adds the group.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import click
import orjson
from rich.console import Console
from rich.table import Table

from hotline.core.config_tables import ConfigFileError
from hotline.evaluation.flag_labels import ReasonPrecision, read_flag_label_file, score_reasons
from hotline.evaluation.labels import LabelFileError, LabelScores, Labels, label_counts, read_label_file, score_with_labels
from hotline.evaluation.pipeline import OfflineRun, run_offline
from hotline.evaluation.scoring import Scores, read_truth, score
from hotline.cli.jsonlines import figure, read_json_lines
from hotline.rules import load_dedupe_settings, load_screening_rules

# Piped output (a report, a log) gets room for the widest table instead of 80 columns.
out = Console(width=None if sys.stdout.isatty() else 120)


def _lines(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        yield from handle




def _run_figures(run: OfflineRun) -> dict[str, float]:
    """What every --json document says of the run itself."""
    return {
        "events_read": run.events_read,
        "resent_events": run.resent_events,
        "dead_letters": run.dead_letters,
        "peak_index_size": run.peak_index_size,
        "final_index_size": run.final_index_size,
        "elapsed_seconds": round(run.elapsed_seconds, 3),
        "appeals_per_second": round(run.appeals_per_second, 1),
    }


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
            **_run_figures(run),
        }
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    _print_tables(run, scores)


def _titles(path: Path, order_ids: set[str]) -> dict[str, str]:
    """The titles of some appeals, read again from the events file (only for --show-text:
    texts never enter the figures)."""
    titles: dict[str, str] = {}
    for event in read_json_lines(path):
        if event.get("type") == "appeal.received" and event.get("order_id") in order_ids:
            data = event.get("data") or {}
            titles.setdefault(event["order_id"], str(data.get("title") or data.get("text") or "")[:60])
    return titles


def _count_table(title: str, counts: dict[str, int], total: int) -> Table:
    table = Table(title=title)
    table.add_column("", no_wrap=True)
    table.add_column("appeals", justify="right")
    table.add_column("share", justify="right")
    for name, count in counts.items():
        table.add_row(name, str(count), figure(count / total if total else None))
    return table


def _print_real(run: OfflineRun, scores: LabelScores, labels: Labels | None, titles: dict[str, str]) -> None:
    def named(order_id: str | None) -> str:
        if order_id is None:
            return "—"
        return f"{order_id} «{titles[order_id]}»" if order_id in titles else order_id

    out.print(_count_table("Verdicts by status", scores.statuses, scores.appeals))
    out.print(_count_table("Verdicts by reason (an appeal may have several)", scores.reasons, scores.appeals))
    out.print(_count_table("Links by relation", scores.link_counts, scores.appeals))
    if labels is not None and scores.overall_precision is not None:
        kinds = ", ".join(f"{name} {count}" for name, count in label_counts(labels).items())
        out.print(f"labels {scores.labels} ({kinds}); about orders not in the events: {scores.labels_about_orders_not_in_events}", soft_wrap=True)
        precision = Table(title="Precision of links a label can judge")
        precision.add_column("relation", no_wrap=True)
        for column in ("links", "judged", "correct", "wrong", "own case¹", "unjudged", "elsewhere²", "precision"):
            precision.add_column(column, justify="right")
        for row in (*scores.precision, scores.overall_precision):
            precision.add_row(row.relation, str(row.links), str(row.judged), str(row.correct), str(row.wrong), str(row.wrong_own_case), str(row.unjudged), str(row.other_original), figure(row.precision))
        out.print(precision)
        out.print("  ¹ wrong links judged by a label saying the source handled the appeal as a case of its own")
        out.print("  ² unjudged links of appeals labelled duplicate of an order outside the linked case")
        recall = Table(title="Recall of labelled duplicates")
        recall.add_column("duplicates", no_wrap=True)
        for column in ("labelled", "in events", "linked³", "recall"):
            recall.add_column(column, justify="right")
        for row in scores.recall:
            recall.add_row(row.group, str(row.labelled), str(row.in_events), str(row.recalled), figure(row.recall))
        out.print(recall)
        out.print("  ³ named original(s): linked to the case of (one of) the original(s); the other rows: linked at all")
        verdicts = Table(title="Verdicts of labelled appeals")
        verdicts.add_column("label", no_wrap=True)
        for column in ("accepted", "flagged", "rejected"):
            verdicts.add_column(column, justify="right")
        for row in scores.labelled_verdicts:
            verdicts.add_row(row.group, str(row.accepted), str(row.flagged), str(row.rejected))
        out.print(verdicts)
        out.print("[bold]False links[/bold]" if scores.false_links else "False links: none")
        for link in scores.false_links:
            similarity = "—" if link.similarity is None else f"{link.similarity:.3f}"
            out.print(f"  {named(link.order_id)} -> {named(link.earlier_order_id)}  {link.relation}  similarity {similarity}  ({link.why})", markup=False, soft_wrap=True)
        out.print("[bold]Missed duplicates[/bold]" if scores.missed_duplicates else "Missed duplicates: none")
        for miss in scores.missed_duplicates:
            out.print(f"  {named(miss.order_id)} duplicate of {named(miss.earlier_order_id)}: {miss.outcome}", markup=False, soft_wrap=True)
        out.print("[bold]Labelled appeals rejected or flagged[/bold]" if scores.wrong_verdicts else "Labelled appeals rejected or flagged: none")
        for wrong in scores.wrong_verdicts:
            out.print(f"  {named(wrong.order_id)} (labelled {wrong.group}): {wrong.status} {', '.join(wrong.reasons)}", markup=False, soft_wrap=True)
    out.print(
        f"appeals {run.appeals}, events read {run.events_read}, re-sent skipped {run.resent_events}, "
        f"dead letters {run.dead_letters}; dedupe index peak {run.peak_index_size}, final {run.final_index_size}"
    )
    out.print(f"throughput screen+rules+dedupe: {run.appeals_per_second:,.0f} appeals/s ({run.elapsed_seconds:.2f} s)")


def _print_reason_precision(rows: list[ReasonPrecision]) -> None:
    table = Table(title="Verdict reasons a reader agrees with (flag labels)")
    table.add_column("reason", no_wrap=True)
    for column in ("given", "judged", "agreed", "precision"):
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(row.reason, str(row.given), str(row.judged), str(row.agreed), figure(row.precision))
    out.print(table)


@evaluate_group.command("real")
@click.option("--events", "events_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True, help="hotline.events.v1 events, JSON lines (from `hotline import`)")
@click.option("--labels", "label_paths", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True, help="label file order_id,earlier_order_id,label (repeatable)")
@click.option("--flag-labels", "flag_label_paths", type=click.Path(exists=True, dir_okay=False, path_type=Path), multiple=True, help="label file order_id,reason,agree: whether a reader agrees with a verdict reason (repeatable)")
@click.option("--examples", type=click.IntRange(0, 1000), default=5, show_default=True, help="examples of each kind of error")
@click.option("--show-text", is_flag=True, help="print the titles of the examples (for a local reader only)")
@click.option("--screening-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/screening.toml")
@click.option("--dedupe-config", type=click.Path(dir_okay=False, path_type=Path), default=None, help="default: config/dedupe.toml")
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON document instead of tables")
def evaluate_real(
    events_path: Path,
    label_paths: tuple[Path, ...],
    flag_label_paths: tuple[Path, ...],
    examples: int,
    show_text: bool,
    screening_config: Path | None,
    dedupe_config: Path | None,
    as_json: bool,
) -> None:
    """Verdicts and links of any imported events file, scored against label files."""
    try:
        rules = load_screening_rules(screening_config)
        settings = load_dedupe_settings(dedupe_config)
        labels = Labels.of(label for path in label_paths for label in read_label_file(path)) if label_paths else None
        flag_labels = {key: agree for path in flag_label_paths for key, agree in read_flag_label_file(path).items()}
    except (ConfigFileError, LabelFileError) as error:
        raise click.UsageError(str(error)) from None
    run = run_offline(_lines(events_path), rules, settings)
    scores = score_with_labels(run, labels, examples)
    reasons = score_reasons(run.verdicts, flag_labels) if flag_label_paths else None
    if as_json:
        document = {
            **scores.to_json(),
            **({"reason_precision": [row.to_json() for row in reasons]} if reasons is not None else {}),
            **({"label_kinds": dict(label_counts(labels))} if labels is not None else {}),
            **_run_figures(run),
        }
        click.echo(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode())
        return
    titles: dict[str, str] = {}
    if show_text:
        shown = {e.order_id for e in scores.false_links} | {e.earlier_order_id for e in scores.false_links}
        shown |= {e.order_id for e in scores.missed_duplicates} | {e.earlier_order_id for e in scores.missed_duplicates if e.earlier_order_id}
        shown |= {e.order_id for e in scores.wrong_verdicts}
        titles = _titles(events_path, shown)
    _print_real(run, scores, labels, titles)
    if reasons is not None:
        _print_reason_precision(reasons)


def register(cli: click.Group) -> None:
    from hotline.cli import evaluate_alerts, evaluate_escalations, evaluate_reply_times

    evaluate_escalations.register(evaluate_group)
    evaluate_alerts.register(evaluate_group)
    evaluate_reply_times.register(evaluate_group)
    cli.add_command(evaluate_group)
