"""`hotline worker` refuses to start on a bad rule file, naming the file and the field."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from hotline.cli.main import cli
from hotline.configfiles import SHIPPED_CONFIG_DIR, default_config_dir


def test_worker_stops_before_start_up_on_a_wrong_threshold(tmp_path, monkeypatch):
    for source in Path(default_config_dir()).glob("*.toml"):
        shutil.copy(source, tmp_path / source.name)
    alerts = tmp_path / "alerts.toml"
    alerts.write_text(alerts.read_text().replace("fire_above = 1.2", 'fire_above = "high"', 1))
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(tmp_path))

    result = CliRunner().invoke(cli, ["worker"])

    assert result.exit_code == 1
    assert f"bad configuration: {alerts}: OfficeOverloaded.fire_above: expected int or float, got 'high'" in result.output


def test_worker_stops_on_a_misspelt_key_with_one_line_naming_file_and_key(tmp_path, monkeypatch):
    # given a profile in front of the shipped rules whose pressure.toml misspells a key
    shipped = SHIPPED_CONFIG_DIR
    pressure = tmp_path / "pressure.toml"
    pressure.write_text((shipped / "pressure.toml").read_text().replace("max_listed = 10", "max_listing = 10"))
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", f"{tmp_path}:{shipped}")

    result = CliRunner().invoke(cli, ["worker"])

    assert result.exit_code == 1
    assert result.output == (
        f"Error: bad configuration: {pressure}: hotspots.max_listing: unknown key, did you mean 'max_listed'? "
        "(expected one of: baseline_hours, factor, max_listed, min_baseline_per_hour, min_inflow_1h)\n"
    )


def test_worker_names_a_missing_rule_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["worker"])
    assert result.exit_code == 1
    assert f"bad configuration: {tmp_path}/screening.toml: (file): does not exist" in result.output


def test_worker_says_at_start_up_that_no_jurisdiction_is_judged_out_of_the_box(monkeypatch, capsys):
    from hotline.cli.main import log_jurisdiction
    from hotline.rules import load_screening_rules

    monkeypatch.delenv("HOTLINE_CONFIG_DIR", raising=False)
    log_jurisdiction(load_screening_rules())
    assert capsys.readouterr().err == (
        f"hotline worker: no jurisdiction configured ({default_config_dir() / 'jurisdiction.toml'}): outside_jurisdiction is not judged\n"
    )


def test_worker_names_the_jurisdiction_of_its_profile(monkeypatch, capsys):
    from hotline.cli.main import log_jurisdiction
    from hotline.rules import load_screening_rules

    shipped = default_config_dir()
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", f"{shipped / 'simulator'}:{shipped}")
    log_jurisdiction(load_screening_rules())
    assert capsys.readouterr().err == (
        f"hotline worker: jurisdiction 云州市 (5 districts: 江北区, 滨湖区, 高新区, 老城区, 临江区) from {shipped / 'simulator' / 'jurisdiction.toml'}\n"
    )


def test_live_flag_is_taken_off_fausts_options_and_sets_live_mode(monkeypatch):
    from hotline.cli.main import _take_live_flag

    monkeypatch.delenv("HOTLINE_TIME_MODE", raising=False)
    assert _take_live_flag(("-l", "info", "--live", "--web-port", "6067")) == ("-l", "info", "--web-port", "6067")
    assert os.environ["HOTLINE_TIME_MODE"] == "live"


def test_without_the_live_flag_faust_gets_every_option_and_the_mode_is_untouched(monkeypatch):
    from hotline.cli.main import _take_live_flag

    monkeypatch.delenv("HOTLINE_TIME_MODE", raising=False)
    assert _take_live_flag(("-l", "info")) == ("-l", "info")
    assert "HOTLINE_TIME_MODE" not in os.environ


def test_live_flag_against_replay_in_the_environment_stops_start_up(monkeypatch):
    monkeypatch.setenv("HOTLINE_TIME_MODE", "replay")
    result = CliRunner().invoke(cli, ["worker", "--live"])
    assert result.exit_code == 2
    assert "Error: --live contradicts environment variable HOTLINE_TIME_MODE=replay" in result.output


def test_worker_says_at_start_up_it_runs_in_replay_mode_by_default(capsys):
    from hotline.cli.main import log_time_mode
    from hotline.config import Settings

    log_time_mode(Settings.from_env({}))
    assert capsys.readouterr().err == (
        "hotline worker: replay mode: event time moves with the events alone; end a replay with `hotline clock advance`\n"
    )


def test_worker_says_at_start_up_it_runs_in_live_mode_and_how_far_behind_the_wall_clock(capsys):
    from hotline.cli.main import log_time_mode
    from hotline.config import Settings

    log_time_mode(Settings.from_env({"HOTLINE_TIME_MODE": "live"}))
    assert capsys.readouterr().err == (
        "hotline worker: live mode: idle partitions follow the wall clock less 60 s "
        "once current input is read, and wait while the input is historic\n"
    )


def test_worker_says_at_start_up_which_rule_files_it_read(capsys):
    from hotline.cli.main import log_rules
    from hotline.rules import load_rules

    log_rules(load_rules((SHIPPED_CONFIG_DIR,)))
    assert capsys.readouterr().err == (
        "hotline worker: rules read once: screening.toml, jurisdiction.toml, dedupe.toml, deadlines.toml, escalation.toml, "
        f"pressure.toml, alerts.toml, assessment.toml from {SHIPPED_CONFIG_DIR}\n"
    )
