"""`hotline report` on the simulator's target-substitution city.

Given 12 days of a city of 150 appeals a day (seed 15) in which the busiest street
office resolves most of its orders minutes to hours before the deadline, with coaxed
ratings and problems that come back as reopenings and repeat calls, the report
replays the events through the dedupe and orders chains and ranks the street offices
officially and in the adjusted view.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from hotline.cli.main import cli
from hotline.configfiles import SHIPPED_CONFIG_DIR
from hotline.sim import SimulationSpec, encode_lines, simulate

SPEC = SimulationSpec(days=12, seed=15, scenario="target-substitution", appeals_per_day=150)
GAMING_OFFICE = "d04-s02"


@pytest.fixture(scope="module")
def city_files(tmp_path_factory) -> tuple[Path, Path, set[str]]:
    simulation = simulate(SPEC)
    folder = tmp_path_factory.mktemp("target-substitution")
    events, offices = folder / "events.jsonl", folder / "offices.jsonl"
    events.write_bytes(encode_lines(simulation.events))
    offices.write_bytes(encode_lines(simulation.offices))
    rushed = {record["order_id"] for record in simulation.truth if record["kind"] == "order" and record["rush_closure"]}
    gaming = {event["data"]["office_id"] for event in simulation.events if event["type"] == "order.resolved" and event["order_id"] in rushed}
    return events, offices, gaming


def _report(city_files, *options: str) -> CliRunner:
    events, offices, _ = city_files
    runner = CliRunner()
    result = runner.invoke(
        cli,
        ["report", "--events", str(events), "--offices", str(offices), "--period", "2026-03", *options],
        env={"HOTLINE_CONFIG_DIR": f"{SHIPPED_CONFIG_DIR / 'simulator'}:{SHIPPED_CONFIG_DIR}"},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def report_rows(city_files) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_report(city_files, "--format", "csv").output)))


@pytest.fixture(scope="module")
def street_rows(report_rows) -> dict[str, dict[str, str]]:
    return {row["office_id"]: row for row in report_rows if row["level"] == "street"}


def test_the_scenario_names_one_gaming_office(city_files):
    assert city_files[2] == {GAMING_OFFICE}


def test_the_adjusted_view_takes_failed_rush_closures_out_of_the_gaming_office_resolutions(street_rows):
    row = street_rows[GAMING_OFFICE]
    official = [row[name] for name in ("dispatched", "response", "rated", "resolution", "satisfaction", "score", "rank")]
    adjusted = [row[name] for name in ("adj_dispatched", "adj_response", "adj_rated", "adj_resolution", "adj_satisfaction", "adj_score", "adj_rank")]
    # officially flawless (every latest rating satisfied and resolved) and third of 25;
    # adjusted, its repeats count once with their case and the 4 of 20 rated cases with
    # a reopened rush closure count as unresolved: 20th
    assert official == ["62", "1.000", "23", "1.000", "1.000", "1.000", "3"]
    assert adjusted == ["47", "1.000", "20", "0.800", "1.000", "0.910", "20"]
    assert row["shift"] == "+17"
    # and no other street office loses as much of its composite
    losses = {office_id: float(row["score"]) - float(row["adj_score"]) for office_id, row in street_rows.items()}
    assert max(losses, key=losses.get) == GAMING_OFFICE
    assert sorted(losses.values())[-2] < 0.05


def test_offices_are_listed_by_level_then_official_rank(report_rows):
    levels = [row["level"] for row in report_rows]
    assert sorted(set(levels)) == ["community", "department", "street"]
    assert levels == sorted(levels)
    assert [int(row["rank"]) for row in report_rows if row["level"] == "street"] == list(range(1, 26))


def test_the_markdown_report_has_one_table_per_level_and_can_go_to_a_file(tmp_path):
    # given three days of a small steady city
    simulation = simulate(SimulationSpec(days=3, seed=3, scenario="steady", appeals_per_day=30))
    events, offices = tmp_path / "events.jsonl", tmp_path / "offices.jsonl"
    events.write_bytes(encode_lines(simulation.events))
    offices.write_bytes(encode_lines(simulation.offices))
    out = tmp_path / "report.md"
    assert _report((events, offices, set()), "--office-level", "department", "--out", str(out)).output == ""
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if line.startswith("#")] == ["# Office assessment 2026-03", "## department"]
    assert lines[4].startswith("| office_id | level | dispatched | response |")
    assert all(line.split(" | ")[1] == "department" for line in lines[6:] if line.startswith("| dept-"))


def test_a_malformed_period_is_a_usage_error(city_files):
    events, offices, _ = city_files
    result = CliRunner().invoke(cli, ["report", "--events", str(events), "--offices", str(offices), "--period", "2026-3"])
    assert result.exit_code == 2
    assert "period '2026-3': expected YYYY-MM, YYYY-Www or YYYY-MM-DD" in result.output


@pytest.fixture(scope="module")
def briefing_page(city_files, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("briefing") / "briefing.html"
    assert _report(city_files, "--office-level", "street", "--out", str(out)).output == ""
    return out.read_text(encoding="utf-8")


def test_an_html_out_file_gets_the_briefing_with_the_csv_s_ranks(briefing_page, street_rows):
    assert briefing_page.startswith("<!DOCTYPE html>\n")
    assert briefing_page.count('<figure class="chart">') == 5
    for office_id, row in street_rows.items():
        cells = re.search(rf'<tr><td class="id">{office_id}</td>(.*?)</tr>', briefing_page).group(1)
        ranks = re.findall(r'<td class="number[^"]*">([^<]*)</td>', cells)
        assert (ranks[4], ranks[9], ranks[10]) == (row["rank"], row["adj_rank"], row["shift"])


def test_the_briefing_raises_target_substitution_for_the_gaming_office_only(briefing_page):
    alerts = re.findall(r'<tr><td>(\w+)</td><td class="id">([\w-]+)</td>.*?</tr>', briefing_page.split("<h2>Alerts</h2>")[1])
    assert alerts == [("TargetSubstitutionSuspected", GAMING_OFFICE)]
    assert "<td>2026-03-13 10:09</td><td>still firing</td></tr>" in briefing_page


def test_the_briefing_counts_repeats_found_by_the_dedupe_stage(briefing_page):
    # the busiest street office received 62 appeals: 14 repeats (its callers call again),
    # one flagged, 5 passed on
    shares = briefing_page.split("<h2>Repeated appeals and orders passed on</h2>")[1].split("<h2>")[0]
    rows = re.findall(r'<tr><td class="id">([\w-]+)</td><td class="name">[^<]*</td>((?:<td class="number">[^<]*</td>)+)</tr>', shares)
    figures = {office_id: re.findall(r">([^<]*)</td>", cells) for office_id, cells in rows}
    assert len(figures) == 15
    assert figures[GAMING_OFFICE] == ["62", "14", "22.6 %", "1", "5", "8.1 %"]
    assert sum(int(cells[1]) for cells in figures.values()) == 123


def test_an_explicit_format_wins_over_the_out_suffix(tmp_path):
    simulation = simulate(SimulationSpec(days=2, seed=3, scenario="steady", appeals_per_day=20))
    events, offices = tmp_path / "events.jsonl", tmp_path / "offices.jsonl"
    events.write_bytes(encode_lines(simulation.events))
    offices.write_bytes(encode_lines(simulation.offices))
    out = tmp_path / "report.html"
    _report((events, offices, set()), "--format", "md", "--out", str(out))
    assert out.read_text(encoding="utf-8").startswith("# Office assessment 2026-03\n")
