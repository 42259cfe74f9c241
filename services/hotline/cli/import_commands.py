"""`hotline import`: CSV exports -> hotline.events.v1 JSON lines (ready for `hotline replay`).

  hotline import nyc311|boston311|sf311|chicago311 FILE [--out FILE|-] [--labels-out FILE]
                 [--max-failed-ratio R] [--strict]
  hotline import csv FILE --mapping MAPPING.toml [--out FILE|-] [--max-failed-ratio R] [--strict]

Events go to --out (stdout by default), one JSON object a line, sorted by event time.
A row whose id appeared earlier in the same file is a resubmission and becomes a new
order "<id>~2", "<id>~3", ... for the dedupe stage to link.

Rejected rows: stderr shows the first few (row number and reason, never the row's text),
the count of rejected rows by kind of reason, and the summary line "converted N rows,
rejected M" (", skipped K by the filter" when a mapping filter skipped rows). The events
of the good rows are written either way; the exit status is 1 when the share of rejected
rows is above --max-failed-ratio (0 by default: any rejected row fails the command;
--max-failed-ratio 1 accepts any). --strict stops at the first rejected row, writes
nothing and exits 1.

--labels-out (Boston, San Francisco, Chicago) writes the duplicate labels the source's
own marks give, in the label format of data/labels (order_id, earlier_order_id, label),
and prints their counts.

On a terminal, stderr counts the lines read while a long export is read.

The whole file is held in memory to sort it (about 5 kB per row): split exports of more
than a few hundred thousand rows by date.
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections import Counter
from typing import Iterable, Iterator

import click

from hotline.contract import codec
from hotline.core.config_tables import ConfigFileError
from hotline.importers import BUILT_IN_MAPPINGS, ColumnMapping, Conversion, CsvFileError, Label, convert_csv, load_mapping
from hotline.importers.labels import DUPLICATE

# Enough rows to see what went wrong without flooding the terminal on a broken file.
PROBLEMS_SHOWN = 5
# Lines between progress updates on a terminal: a few a second on a large export.
PROGRESS_EVERY_LINES = 50_000

_DESCRIPTIONS = {
    "nyc311": 'an NYC Open Data "311 Service Requests" CSV export',
    "boston311": 'an Analyze Boston "311 Service Requests" CSV export (current lower-case or older upper-case header)',
    "sf311": 'a San Francisco "311 Cases" CSV export with " UTC" times',
    "chicago311": 'a City of Chicago "311 Service Requests" CSV export',
}

_FILE = click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
_OUT = click.option(
    "--out",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="where to write the events (JSON lines); - is stdout",
)
_STRICT = click.option("--strict", is_flag=True, help="stop at the first rejected row, write nothing and exit with status 1")
_MAX_FAILED_RATIO = click.option(
    "--max-failed-ratio",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0.0, 1.0),
    help="exit with status 0 while rejected rows are at most this share of the rows read (1 accepts any)",
)
_LABELS_OUT = click.option(
    "--labels-out",
    default=None,
    type=click.Path(dir_okay=False, writable=True),
    help="write duplicate labels from the source's own marks (order_id,earlier_order_id,label)",
)


@click.group("import")
def import_group() -> None:
    """Convert 311 exports and other CSV files into hotline.events.v1 events.

    Writes JSON lines for `hotline replay`. A row whose id appeared earlier in the file
    becomes a new order "<id>~2", "<id>~3", ...; rejected rows are counted on stderr and
    fail the command unless --max-failed-ratio allows them.
    """


def _preset_command(name: str, mapping: ColumnMapping) -> click.Command:
    def run(file: str, out: str, strict: bool, max_failed_ratio: float, labels_out: str | None = None) -> None:
        _import(file, mapping, out, strict, max_failed_ratio, labels_out)

    run.__doc__ = f"Convert {_DESCRIPTIONS[name]}."
    command = _MAX_FAILED_RATIO(_STRICT(_OUT(_FILE(run))))
    if mapping.labeller is not None:
        command = _LABELS_OUT(command)
    return click.command(name)(command)


for _name, _mapping in BUILT_IN_MAPPINGS.items():
    import_group.add_command(_preset_command(_name, _mapping))


@import_group.command("csv")
@_FILE
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False), help="TOML file naming the columns (see examples/mappings/)")
@_OUT
@_STRICT
@_MAX_FAILED_RATIO
def import_csv(file: str, mapping_path: str, out: str, strict: bool, max_failed_ratio: float) -> None:
    """Convert any CSV export described by a mapping file."""
    try:
        mapping = load_mapping(mapping_path)
    except ConfigFileError as error:
        raise click.ClickException(str(error)) from None
    _import(file, mapping, out, strict, max_failed_ratio, None)


def _import(file: str, mapping: ColumnMapping, out: str, strict: bool, max_failed_ratio: float, labels_out: str | None) -> None:
    conversion = _convert(file, mapping, strict)
    rejected = len(conversion.problems)
    _report_problems(file, conversion)
    if strict and rejected:
        click.echo("converted no rows: stopped at the first rejected row (--strict)", err=True)
        sys.exit(1)
    _write(conversion, out)
    if labels_out is not None:
        _write_labels(conversion.labels, labels_out, file, mapping.source)
    skipped = f", skipped {conversion.rows_skipped} by the filter" if conversion.rows_skipped else ""
    click.echo(f"converted {conversion.rows_converted} rows, rejected {rejected}{skipped}", err=True)
    rows_read = conversion.rows_converted + rejected
    if rejected and rejected / rows_read > max_failed_ratio:
        click.echo(f"failed: {rejected} of {rows_read} rows rejected, more than --max-failed-ratio {max_failed_ratio:g} allows", err=True)
        sys.exit(1)


def _report_problems(file: str, conversion: Conversion) -> None:
    problems = conversion.problems
    for problem in problems[:PROBLEMS_SHOWN]:
        click.echo(f"{file}: {problem}", err=True)
    if len(problems) > PROBLEMS_SHOWN:
        click.echo(f"{file}: ... and {len(problems) - PROBLEMS_SHOWN} more rejected rows", err=True)
    if problems:
        by_kind = Counter(problem.kind for problem in problems)
        counts = ", ".join(f"{kind} {count}" for kind, count in sorted(by_kind.items(), key=lambda item: (-item[1], item[0])))
        click.echo(f"rejected by reason: {counts}", err=True)


def _convert(file: str, mapping: ColumnMapping, strict: bool) -> Conversion:
    try:
        if file == "-":
            # newline="" as for open(): quoted cells may contain line breaks
            return convert_csv(_with_progress(io.TextIOWrapper(click.get_binary_stream("stdin"), encoding=mapping.encoding, newline="")), mapping, strict)
        with open(file, encoding=mapping.encoding, newline="") as stream:
            return convert_csv(_with_progress(stream), mapping, strict)
    except FileNotFoundError:
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE") from None
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not {mapping.encoding} text ({error}); a mapping file can name the encoding") from None
    except CsvFileError as error:
        raise click.ClickException(f"{file}: {error}") from None


def _with_progress(lines: Iterable[str]) -> Iterable[str]:
    """The lines, counted on stderr while they are read when stderr is a terminal."""
    if not sys.stderr.isatty():
        return lines

    def counted() -> Iterator[str]:
        count = 0
        for count, line in enumerate(lines, start=1):
            if count % PROGRESS_EVERY_LINES == 0:
                click.echo(f"\rread {count} lines", err=True, nl=False)
            yield line
        if count >= PROGRESS_EVERY_LINES:
            click.echo(f"\rread {count} lines", err=True)

    return counted()


def _write(conversion: Conversion, out: str) -> None:
    with click.open_file(out, "wb") as stream:
        for event in conversion.events:
            stream.write(codec.encode(event) + b"\n")


def _write_labels(labels: list[Label], labels_out: str, file: str, source: str) -> None:
    with open(labels_out, "w", encoding="utf-8", newline="") as stream:
        stream.write(f"# duplicate labels from the {source} export {os.path.basename(file)}: the source's own duplicate marks\n")
        stream.write(f"# made by: hotline import {source} {os.path.basename(file)} --labels-out {os.path.basename(labels_out)}\n")
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(("order_id", "earlier_order_id", "label"))
        writer.writerows(labels)
    click.echo(_label_counts(labels), err=True)


def _label_counts(labels: list[Label]) -> str:
    labelled_ids = {label.order_id for label in labels}
    duplicates = [label for label in labels if label.label == DUPLICATE]
    named = [label for label in duplicates if label.earlier_order_id]
    in_file = sum(1 for label in named if label.earlier_order_id in labelled_ids)
    return (
        f"labels: {len(labels)} ({len(duplicates)} duplicate, {len(labels) - len(duplicates)} not_duplicate); "
        f"{len(named)} duplicates name the earlier order, {in_file} of those orders are in the file"
    )


def register(cli: click.Group) -> None:
    cli.add_command(import_group)
