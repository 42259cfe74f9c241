"""`hotline import`: CSV exports -> hotline.events.v1 JSON lines (ready for `hotline replay`).

  hotline import nyc311 FILE [--out FILE|-] [--strict]
  hotline import boston311 FILE [--out FILE|-] [--strict]
  hotline import csv FILE --mapping MAPPING.toml [--out FILE|-] [--strict]

Events go to --out (stdout by default), one JSON object a line, sorted by event time.
A row whose id appeared earlier in the same file is a resubmission and becomes a new
order "<id>~2", "<id>~3", ... for the dedupe stage to link. Every rejected row is
reported on stderr with its row number and reason, followed by the summary line
"converted N rows, rejected M". Rejections do not fail the command unless --strict is
given; then nothing is written and the exit status is 1.

The whole file is held in memory to sort it (about 5 kB per row): split exports of more
than a few hundred thousand rows by date.
"""

from __future__ import annotations

import io
import sys

import click

from hotline.configfiles import ConfigFileError
from hotline.contract import codec
from hotline.importers import BOSTON311, NYC311, ColumnMapping, Conversion, CsvFileError, convert_csv, load_mapping

_FILE = click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
_OUT = click.option(
    "--out",
    default="-",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True, allow_dash=True),
    help="where to write the events (JSON lines); - is stdout",
)
_STRICT = click.option("--strict", is_flag=True, help="write nothing and exit with status 1 if any row is rejected")


@click.group("import")
def import_group() -> None:
    """Convert 311 exports and other CSV files into hotline.events.v1 events.

    Writes JSON lines for `hotline replay`. A row whose id appeared earlier in the file
    becomes a new order "<id>~2", "<id>~3", ...; rejected rows are listed on stderr.
    """


@import_group.command("nyc311")
@_FILE
@_OUT
@_STRICT
def import_nyc311(file: str, out: str, strict: bool) -> None:
    """Convert an NYC Open Data "311 Service Requests" CSV export."""
    _import(file, NYC311, out, strict)


@import_group.command("boston311")
@_FILE
@_OUT
@_STRICT
def import_boston311(file: str, out: str, strict: bool) -> None:
    """Convert an Analyze Boston "311 Service Requests" CSV export."""
    _import(file, BOSTON311, out, strict)


@import_group.command("csv")
@_FILE
@click.option("--mapping", "mapping_path", required=True, type=click.Path(dir_okay=False), help="TOML file naming the columns (see examples/mappings/)")
@_OUT
@_STRICT
def import_csv(file: str, mapping_path: str, out: str, strict: bool) -> None:
    """Convert any CSV export described by a mapping file."""
    try:
        mapping = load_mapping(mapping_path)
    except ConfigFileError as error:
        raise click.ClickException(str(error)) from None
    _import(file, mapping, out, strict)


def _import(file: str, mapping: ColumnMapping, out: str, strict: bool) -> None:
    conversion = _convert(file, mapping)
    for problem in conversion.problems:
        click.echo(f"{file}: {problem}", err=True)
    rejected = len(conversion.problems)
    if not (strict and rejected):
        _write(conversion, out)
    click.echo(f"converted {conversion.rows_converted} rows, rejected {rejected}", err=True)
    if strict and rejected:
        sys.exit(1)


def _convert(file: str, mapping: ColumnMapping) -> Conversion:
    try:
        if file == "-":
            # newline="" as for open(): quoted cells may contain line breaks
            return convert_csv(io.TextIOWrapper(click.get_binary_stream("stdin"), encoding=mapping.encoding, newline=""), mapping)
        with open(file, encoding=mapping.encoding, newline="") as stream:
            return convert_csv(stream, mapping)
    except FileNotFoundError:
        raise click.BadParameter(f"{file} does not exist", param_hint="FILE") from None
    except UnicodeDecodeError as error:
        raise click.ClickException(f"{file}: not {mapping.encoding} text ({error}); a mapping file can name the encoding") from None
    except CsvFileError as error:
        raise click.ClickException(f"{file}: {error}") from None


def _write(conversion: Conversion, out: str) -> None:
    with click.open_file(out, "wb") as stream:
        for event in conversion.events:
            stream.write(codec.encode(event) + b"\n")


def register(cli: click.Group) -> None:
    cli.add_command(import_group)
