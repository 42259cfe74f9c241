"""`hotline import nyc311 | boston311 | csv`: output, reports on stderr, exit status."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from importer_samples import BOSTON_DUPES_SAMPLE, NYC_SAMPLE

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


def test_rejected_rows_are_reported_and_do_not_fail_the_command(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping)])
    assert result.exit_code == 0
    assert len(result.stdout_bytes.splitlines()) == 2
    assert result.stderr == (
        f"{export}: row 3: bad created time in column 'created': 'soon' does not match '%Y-%m-%d %H:%M'\n"
        "converted 1 rows, rejected 1\n"
    )


def test_strict_run_with_a_rejected_row_writes_nothing_and_exits_1(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", str(export), "--mapping", str(mapping), "--strict"])
    assert result.exit_code == 1
    assert result.stdout_bytes == b""
    assert result.stderr.endswith("converted 1 rows, rejected 1\n")


def test_csv_read_from_stdin(hotline, tiny_files):
    mapping, export = tiny_files
    result = CliRunner().invoke(hotline, ["import", "csv", "-", "--mapping", str(mapping)], input=export.read_bytes())
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
