"""`hotline evaluate reply-times`: how many working days an export's replies took.

  hotline evaluate reply-times FILE --received-column 留言时间 --replied-column 答复时间 [--json]

Reads a CSV export (UTF-8, a header row), takes the received and replied wall-clock
cells of every row (Asia/Shanghai local time) and prints the count, the replies within
1 / 3 / 5 / 10 / 15 / 20 working days counted the civil-code way (by 24:00 of the n-th
working day after the day of receipt), the median, 90th percentile and maximum, and the
rows that could not be measured (replies before their message, unreadable cells, dates
outside the calendar's years) apart. Figures only: no row or text is printed.
`register(evaluate_group)` adds the command to the `evaluate` group.
"""

from __future__ import annotations

import csv
from pathlib import Path

import click
import orjson
from rich.console import Console
from rich.table import Table

from hotline.cli.jsonlines import figure
from hotline.evaluation.reply_times import DEFAULT_DATE_FORMATS, ReplyTimeFigures, reply_time_figures

out = Console()


def _print_tables(figures: ReplyTimeFigures) -> None:
    within = Table(title=f"Replies within n working days (civil-code count), of {figures.measured} measured")
    within.add_column("working days", justify="right")
    within.add_column("replies", justify="right")
    within.add_column("share", justify="right")
    within.add_row("0 (day of receipt)", str(figures.same_day), figure(figures.same_day / figures.measured if figures.measured else None))
    for days, count in figures.within.items():
        within.add_row(str(days), str(count), figure(figures.share_within(days)))
    out.print(within)
    out.print(
        f"rows {figures.rows}, measured {figures.measured}; working days: median {figures.median_working_days}, "
        f"p90 {figures.p90_working_days}, max {figures.max_working_days}"
    )
    out.print(
        f"not measured: replied before the message {figures.replied_before_received}, "
        f"unreadable time {figures.unreadable}, outside the calendar's years {figures.outside_calendar}; "
        f"cells with a date only {figures.date_only_cells}"
    )


@click.command("reply-times")
@click.argument("file_path", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--received-column", required=True, help="header of the column with the time a message was received")
@click.option("--replied-column", required=True, help="header of the column with the time it was replied to")
@click.option(
    "--date-format",
    "date_formats",
    multiple=True,
    help="strptime format of the time cells, tried in the order given (repeatable); default: "
    + ", ".join(DEFAULT_DATE_FORMATS),
)
@click.option("--json", "as_json", is_flag=True, help="print the figures as one JSON document instead of tables")
def evaluate_reply_times(file_path: Path, received_column: str, replied_column: str, date_formats: tuple[str, ...], as_json: bool) -> None:
    """Replies within n working days (civil-code count), median, p90 and max."""
    with file_path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        for option, column in (("--received-column", received_column), ("--replied-column", replied_column)):
            if column not in header:
                raise click.UsageError(f"{file_path}: {option} {column!r} is not a column (header: {', '.join(header)})")
        figures = reply_time_figures(
            ((row[received_column], row[replied_column]) for row in reader), date_formats or DEFAULT_DATE_FORMATS
        )
    if as_json:
        click.echo(orjson.dumps(figures.to_json(), option=orjson.OPT_INDENT_2).decode())
        return
    _print_tables(figures)


def register(evaluate_group: click.Group) -> None:
    evaluate_group.add_command(evaluate_reply_times)
