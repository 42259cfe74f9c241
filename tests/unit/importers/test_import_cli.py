"""`hotline import nyc311 | boston311 | csv`: output, reports on stderr, exit status."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from importer_samples import BOSTON_DUPES_SAMPLE, CHICAGO_HEADER, CHICAGO_ROWS, NYC_SAMPLE

from hotline.cli.import_commands import register

EXAMPLE_NYC_MAPPING = Path(__file__).resolve().parents[3] / "examples" / "mappings" / "nyc311.toml"

TINY_MAPPING = """
time_zone = "America/New_York"
date_format = "%Y-%m-%d %H:%M"
[columns]
order_id = "id"
created_at = "created"
title = "type"
text = "details"
category = "type"
office = "office"
"""


@pytest.fixture
def hotline() -> click.Group:
    @click.group()
    def cli() -> None:
        """A stand-in for hotline.cli.main.cli."""

    register(cli)
    return cli


@pytest.fixture
def tiny_files(tmp_path: Path) -> tuple[Path, Path]:
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(TINY_MAPPING, encoding="utf-8")
    export = tmp_path / "tiny.csv"
    export.write_text("id,created,office,type,details\n1,2020-01-01 10:00,DOT,Pothole,deep\n2,soon,DOT,Pothole,deep\n", encoding="utf-8")
    return mapping, export


def test_nyc311_writes_json_lines_to_stdout_and_the_summary_to_stderr(hotline):
    result = CliRunner().invoke(hotline, ["import", "nyc311", str(NYC_SAMPLE)])
    assert result.exit_code == 0
    lines = result.stdout_bytes.splitlines()
    assert len(lines) == 396
    assert lines[1] == (
        b'{"data":{"office_id":"hpd"},"event_id":"nyc311:15751112:order.dispatched",'
        b'"occurred_at":"2010-01-17T00:00:00-05:00","order_id":"15751112","schema":1,"type":"order.dispatched"}'
    )
    assert result.stderr == "converted 100 rows, rejected 0\n"


def test_csv_with_the_example_mapping_prints_the_same_bytes_as_nyc311(hotline):
    runner = CliRunner()
    built_in = runner.invoke(hotline, ["import", "nyc311", str(NYC_SAMPLE)])
    through_mapping = runner.invoke(hotline, ["import", "csv", str(NYC_SAMPLE), "--mapping", str(EXAMPLE_NYC_MAPPING)])
    assert through_mapping.exit_code == 0
    assert through_mapping.stdout_bytes == built_in.stdout_bytes


def test_out_option_writes_the_events_to_a_file(hotline, tmp_path):
    out = tmp_path / "events.jsonl"
    result = CliRunner().invoke(hotline, ["import", "boston311", str(BOSTON_DUPES_SAMPLE), "--out", str(out)])
    assert result.exit_code == 0
    assert result.stdout_bytes == b""
    assert len(out.read_bytes().splitlines()) == 368
    assert result.stderr == "converted 100 rows, rejected 0\n"


def test_rejected_row_is_reported_counted_by_reason_and_fails_the_command(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping)])
    # then the good row's events are still written, and the exit status says rows were lost
    assert result.exit_code == 1
    assert len(result.stdout_bytes.splitlines()) == 2
    assert result.stderr == (
        f"{export}: row 3: bad created time in column 'created': 'soon' does not match '%Y-%m-%d %H:%M'\n"
        "rejected by reason: bad_time 1\n"
        "converted 1 rows, rejected 1\n"
        "failed: 1 of 2 rows rejected, more than --max-failed-ratio 0 allows\n"
    )


@pytest.mark.parametrize(("ratio", "exit_code"), [("0.5", 0), ("1", 0), ("0.49", 1)])
def test_max_failed_ratio_accepts_rejected_rows_up_to_its_share(hotline, tiny_files, ratio, exit_code):
    # given 1 of 2 rows rejected (a share of 0.5)
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping), "--max-failed-ratio", ratio])
    assert result.exit_code == exit_code
    assert len(result.stdout_bytes.splitlines()) == 2


def test_only_the_first_five_rejected_rows_are_listed_and_all_are_counted(hotline, tmp_path):
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(TINY_MAPPING, encoding="utf-8")
    export = tmp_path / "tiny.csv"
    bad_rows = [f"{n},later,DOT,Pothole,x" for n in range(1, 8)] + ["8,2020-01-01 10:00,,Pothole,x", ",2020-01-01 10:00,DOT,Pothole,x"]
    export.write_text("id,created,office,type,details\n" + "\n".join(bad_rows) + "\n", encoding="utf-8")
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in lines[:5]] == ["row 2", "row 3", "row 4", "row 5", "row 6"]
    assert lines[5:] == [
        f"{export}: ... and 4 more rejected rows",
        "rejected by reason: bad_time 7, no_office 1, no_order_id 1",
        "converted 0 rows, rejected 9",
        "failed: 9 of 9 rows rejected, more than --max-failed-ratio 0 allows",
    ]


def test_strict_run_stops_at_the_first_rejected_row_writes_nothing_and_exits_1(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping), "--strict"])
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert result.stderr.endswith("rejected by reason: bad_time 1\nconverted no rows: stopped at the first rejected row (--strict)\n")


def test_rows_skipped_by_the_filter_are_counted_and_do_not_fail(hotline, tmp_path):
    mapping = tmp_path / "tiny.toml"
    mapping.write_text(TINY_MAPPING + '[filter]\nskip = { details = ["test"] }\n', encoding="utf-8")
    export = tmp_path / "tiny.csv"
    export.write_text("id,created,office,type,details\n1,2020-01-01 10:00,DOT,Pothole,deep\n2,never,DOT,Pothole,TEST\n", encoding="utf-8")
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping)])
    assert result.exit_code == 0
    assert result.stderr == "converted 1 rows, rejected 0, skipped 1 by the filter\n"


def test_labels_out_writes_the_sources_duplicate_marks_with_their_counts(hotline, tmp_path):
    # given a Chicago export: one duplicate of a request in the file, one of a request
    # outside it, one flagged without a parent, one completed request, one still open
    export = tmp_path / "chicago.csv"
    export.write_text(CHICAGO_HEADER + "\n" + "\n".join(CHICAGO_ROWS) + "\n", encoding="utf-8")
    labels = tmp_path / "labels.csv"
    result = CliRunner().invoke(hotline, ["import", "chicago311", str(export), "--labels-out", str(labels), "--out", str(tmp_path / "events.jsonl")])
    assert result.exit_code == 0
    assert labels.read_text(encoding="utf-8") == (
        "# duplicate labels from the chicago311 export chicago.csv: the source's own duplicate marks\n"
        "# made by: hotline import chicago311 chicago.csv --labels-out labels.csv\n"
        "order_id,earlier_order_id,label\n"
        "SR23-00000001,,not_duplicate\n"
        "SR23-00000002,SR23-00000001,duplicate\n"
        "SR23-00000003,SR22-09999999,duplicate\n"
        "SR23-00000004,,duplicate\n"
    )
    assert result.stderr == (
        "labels: 4 (3 duplicate, 1 not_duplicate); 2 duplicates name the earlier order, 1 of those orders are in the file\n"
        "converted 5 rows, rejected 0\n"
    )


def test_every_preset_is_a_command_and_labels_out_only_where_the_source_marks_duplicates(hotline):
    runner = CliRunner()
    for preset, has_labels in (("nyc311", False), ("boston311", True), ("sf311", True), ("chicago311", True)):
        help_text = runner.invoke(hotline, ["import", preset, "--help"]).output
        assert ("--labels-out" in help_text) is has_labels, preset
        assert "--max-failed-ratio" in help_text


def test_csv_read_from_stdin(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", "-", "--mapping", str(mapping), "--max-failed-ratio", "1"], input=export.read_bytes())
    assert result.exit_code == 0
    assert result.stdout_bytes.splitlines()[0].startswith(b'{"data":{"category":"pothole","channel":"other"')


def test_file_of_another_export_is_refused_with_the_missing_columns(hotline):
    result = CliRunner().invoke(hotline, ["import", "boston311", str(NYC_SAMPLE)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {NYC_SAMPLE}: the header has no column 'case_enquiry_id' (mapping field columns.order_id), ")


def test_bad_mapping_file_is_refused_with_file_and_field(hotline, tiny_files, tmp_path):
    _, export = tiny_files
    mapping = tmp_path / "bad.toml"
    mapping.write_text(TINY_MAPPING.replace("America/New_York", "Mars/Olympus"), encoding="utf-8")
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {mapping}: time_zone: unknown time zone 'Mars/Olympus'")


def test_missing_input_file_is_a_usage_error(hotline, tmp_path):
    result = CliRunner().invoke(hotline, ["import", "nyc311", str(tmp_path / "absent.csv")])
    assert result.exit_code == 2
    assert "absent.csv does not exist" in result.stderr


def test_progress_counts_the_lines_read_only_on_a_terminal(monkeypatch, capsys):
    import sys

    from hotline.cli import import_commands

    monkeypatch.setattr(import_commands, "PROGRESS_EVERY_LINES", 2)
    lines = ["a\n", "b\n", "c\n", "d\n", "e\n"]
    # given stderr is not a terminal, then the lines pass untouched and nothing is printed
    assert list(import_commands._with_progress(lines)) == lines
    assert capsys.readouterr().err == ""
    # given a terminal, then every 2nd line updates one status line, ended after the last
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert list(import_commands._with_progress(lines)) == lines
    assert capsys.readouterr().err == "\rread 2 lines\rread 4 lines\rread 5 lines\n"
