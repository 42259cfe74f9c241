"""The simulator's files: deterministic bytes, valid events, a valid office registry."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from datetime import date

import pytest
from click.testing import CliRunner

from hotline.cli import simulate_commands
from hotline.contract import codec, schemas
from hotline.sim import SimulationSpec, encode_lines, simulate

from simulator_runs import run

SMALL = SimulationSpec(days=2, seed=42, scenario="overload", appeals_per_day=120)


def test_same_seed_and_options_give_byte_identical_events_offices_and_truth():
    # given two runs of the same spec / when both are encoded
    first, second = simulate(SMALL), simulate(SMALL)
    # then every file is byte-identical
    assert encode_lines(first.events) == encode_lines(second.events)
    assert encode_lines(first.offices) == encode_lines(second.offices)
    assert encode_lines(first.truth) == encode_lines(second.truth)


def test_different_seed_gives_different_events():
    other = SimulationSpec(days=2, seed=43, scenario="overload", appeals_per_day=120)
    assert encode_lines(simulate(SMALL).events) != encode_lines(simulate(other).events)


def test_every_emitted_line_validates_against_the_events_schema(any_run):
    # given every line as a consumer reads it (encoded, then decoded)
    validator = schemas.event_validator()
    decoded = [codec.decode(line) for line in encode_lines(any_run.events).splitlines()]
    violations = [(event["event_id"], violation) for event in decoded if (violation := validator.validate(event)) is not None]
    # then none is rejected
    assert violations == []
    assert len(any_run.events) > 1000


def test_events_are_sorted_by_occurred_at_then_event_id_in_local_time(any_run):
    keys = [(event["occurred_at"], event["event_id"]) for event in any_run.events]
    assert keys == sorted(keys)
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00", key[0]) for key in keys)
    assert len({event["event_id"] for event in any_run.events}) == len(keys)


def test_events_stay_within_the_simulated_days():
    simulation = run("steady")
    assert simulation.events[0]["occurred_at"] >= "2026-03-02T00:00:00+08:00"
    assert simulation.events[-1]["occurred_at"] < "2026-03-09T00:00:00+08:00"


def test_office_registry_validates_and_forms_the_city_hierarchy():
    offices = run("steady").offices
    validator = schemas.topic_validator("hotline.offices.v1")
    assert [validator.validate(office) for office in offices] == [None] * len(offices)
    by_id = {office["office_id"]: office for office in offices}
    levels = Counter(office["level"] for office in offices)
    assert levels["city"] == 1 and levels["department"] == 8 and levels["district"] == 5
    assert by_id["city"]["parent_id"] is None
    assert {"dept-housing", "dept-transport", "dept-market", "dept-environment", "dept-water", "dept-hrss", "dept-urban", "dept-education"} <= set(by_id)
    for office in offices:
        if office["level"] == "street":
            assert re.fullmatch(r"d0\d-s0\d", office["office_id"]) and by_id[office["parent_id"]]["level"] == "district"
        if office["level"] == "community":
            assert re.fullmatch(r"d0\d-s0\d-c0\d", office["office_id"]) and by_id[office["parent_id"]]["level"] == "street"
        assert office["daily_capacity"] >= 12
    streets_per_district = Counter(by_id[o["parent_id"]]["office_id"] for o in offices if o["level"] == "street")
    communities_per_street = Counter(o["parent_id"] for o in offices if o["level"] == "community")
    assert set(streets_per_district.values()) <= {3, 4, 5} and set(communities_per_street.values()) <= {2, 3, 4}


def test_every_dispatch_names_an_office_of_the_registry(any_run):
    office_ids = {office["office_id"] for office in any_run.offices}
    named = {event["data"]["office_id"] for event in any_run.events if event["type"] in ("order.dispatched", "order.signed", "order.resolved")}
    assert named <= office_ids


def test_cli_writes_events_to_stdout_and_reports_speed_on_stderr(tmp_path):
    # given the command registered on a group, as `hotline` registers it
    runner = CliRunner()
    offices_path, truth_path = tmp_path / "offices.jsonl", tmp_path / "truth.jsonl"
    # when the events go to stdout
    result = runner.invoke(
        simulate_commands.simulate_command,
        ["--days", "2", "--seed", "42", "--scenario", "overload", "--appeals-per-day", "120", "--out", "-",
         "--offices", str(offices_path), "--truth", str(truth_path)],
    )
    # then stdout holds exactly the events, the other files their records, stderr the speed
    assert result.exit_code == 0, result.output
    simulation = simulate(SMALL)
    assert result.stdout_bytes == encode_lines(simulation.events)
    assert offices_path.read_bytes() == encode_lines(simulation.offices)
    assert truth_path.read_bytes() == encode_lines(simulation.truth)
    assert re.search(rf"simulate: {len(simulation.events)} events .* events/s", result.stderr)


def test_cli_rejects_days_the_chinese_calendar_does_not_cover():
    result = CliRunner().invoke(simulate_commands.simulate_command, ["--days", "3", "--seed", "1", "--out", "-", "--start", "2027-01-01"])
    assert result.exit_code == 2
    assert "no data for 2027-01-01" in result.stderr


def test_unknown_scenario_is_a_value_error():
    with pytest.raises(ValueError, match="unknown scenario 'flood'"):
        simulate(SimulationSpec(days=1, seed=1, scenario="flood", start=date(2026, 3, 2)))


def test_simulator_package_imports_no_broker_stream_or_metrics_library():
    # given a fresh interpreter that imports only the simulator
    probe = "import sys, hotline.sim; print(sorted(m for m in ('faust', 'aiokafka', 'kafka', 'prometheus_client') if m in sys.modules))"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    # then none of them was loaded
    assert completed.stdout.strip() == "[]"
