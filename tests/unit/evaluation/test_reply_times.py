"""Reply times in civil-code working days: the figures and the `hotline evaluate reply-times` command.

The rows are invented for these tests (times only, no texts)."""

from __future__ import annotations

from pathlib import Path

import click
import orjson
import pytest
from click.testing import CliRunner

from hotline.cli.evaluate_reply_times import register
from hotline.evaluation.reply_times import read_local, reply_time_figures
from hotline.core.workcalendar import SHANGHAI

# Monday 2025-03-03 10:25 received; replies around the boundaries of the count.
ROWS = [
    ("2025/3/3 10:25:00", "2025/3/3 16:00:00"),  # same day: 0
    ("2025/3/3 10:25:00", "2025/3/4 23:59:59"),  # last second of the first working day: 1
    ("2025/3/3 10:25:00", "2025/3/5 0:00:01"),  # one second into the second: 2
    ("2025/3/3 10:25:00", "2025/3/10 23:59:59"),  # fifth working day: 5
    ("2025/3/8 10:00:00", "2025/3/14 18:00:00"),  # received Saturday, replied Friday: 5
    ("2025/9/29 10:00:00", "2025/10/14 9:00:00"),  # across National Day: Sep 30, Oct 9, 10, 11, 13, 14 = 6
    ("2025/3/3 10:25:00", "2025/3/24 10:00:00"),  # 15
    ("2025/3/3 10:25:00", "2025/3/3 10:00:00"),  # replied before the message
    ("2025/3/3 10:25:00", ""),  # no reply time
    ("2025/3/3 10:25:00", "2025/3/4"),  # a date only: the whole of Tuesday: 1
    ("2030/3/3 10:25:00", "2030/3/4 10:00:00"),  # beyond the calendar's years
]


def test_the_figures_count_working_days_the_civil_code_way_and_set_data_errors_apart():
    # given invented rows around the boundaries of the count
    figures = reply_time_figures(ROWS)
    # then the measured counts are 0, 1, 1, 2, 5, 5, 6, 15 (sorted)
    assert figures.distribution == {0: 1, 1: 2, 2: 1, 5: 2, 6: 1, 15: 1}
    assert (figures.rows, figures.measured, figures.same_day) == (11, 8, 1)
    assert figures.within == {1: 3, 3: 4, 5: 6, 10: 7, 15: 8, 20: 8}
    # nearest rank: the 4th of 8 for the median, the 8th for p90
    assert (figures.median_working_days, figures.p90_working_days, figures.max_working_days) == (2, 15, 15)
    assert (figures.replied_before_received, figures.unreadable, figures.outside_calendar) == (1, 1, 1)
    assert figures.date_only_cells == 1


def test_no_measurable_row_gives_no_median():
    figures = reply_time_figures([("2025/3/3 10:25:00", "2025/3/2 10:00:00")])
    assert (figures.measured, figures.median_working_days, figures.share_within(5)) == (0, None, None)


def test_a_date_only_cell_names_the_start_of_a_receipt_day_and_the_end_of_a_reply_day():
    assert read_local("2025/3/4", ("%Y/%m/%d",), end_of_day=False) == (read_local("2025/3/4 0:00:00", ("%Y/%m/%d %H:%M:%S",), False)[0], True)
    end, date_only = read_local("2025/3/4", ("%Y/%m/%d",), end_of_day=True)
    assert date_only and end.tzinfo is SHANGHAI and (end.hour, end.minute, end.second) == (23, 59, 59)


def _write(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "replies.csv"
    lines = ["id,received,replied", *(f"{number},{received},{replied}" for number, (received, replied) in enumerate(rows))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _command() -> click.Group:
    group = click.Group("evaluate")
    register(group)
    return group


def test_the_command_prints_the_figures_as_json(tmp_path: Path):
    path = _write(tmp_path, ROWS)
    result = CliRunner().invoke(_command(), ["reply-times", str(path), "--received-column", "received", "--replied-column", "replied", "--json"])
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.output)
    assert document["within_working_days"] == {"1": 3, "3": 4, "5": 6, "10": 7, "15": 8, "20": 8}
    assert document["share_within_working_days"]["5"] == 0.75
    assert (document["median_working_days"], document["p90_working_days"], document["max_working_days"]) == (2, 15, 15)
    assert document["replied_before_received"] == 1


def test_the_command_prints_tables(tmp_path: Path):
    path = _write(tmp_path, ROWS[:4])
    result = CliRunner().invoke(_command(), ["reply-times", str(path), "--received-column", "received", "--replied-column", "replied"])
    assert result.exit_code == 0, result.output
    assert "median 1, p90 5, max 5" in result.output
    assert "replied before the message 0" in result.output


@pytest.mark.parametrize("option", ["--received-column", "--replied-column"])
def test_an_unknown_column_is_named_with_the_header(tmp_path: Path, option: str):
    path = _write(tmp_path, ROWS[:1])
    arguments = {"--received-column": "received", "--replied-column": "replied", option: "答复时间"}
    result = CliRunner().invoke(_command(), ["reply-times", str(path), *[item for pair in arguments.items() for item in pair]])
    assert result.exit_code == 2
    assert f"{option} '答复时间' is not a column (header: id, received, replied)" in result.output
