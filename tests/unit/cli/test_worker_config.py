"""`hotline worker` refuses to start on a bad rule file, naming the file and the field."""

from __future__ import annotations

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

    monkeypatch.delenv("HOTLINE_CONFIG_DIR", raising=False)
    log_jurisdiction()
    assert capsys.readouterr().err == (
        f"hotline worker: no jurisdiction configured ({default_config_dir() / 'jurisdiction.toml'}): outside_jurisdiction is not judged\n"
    )


def test_worker_names_the_jurisdiction_of_its_profile(monkeypatch, capsys):
    from hotline.cli.main import log_jurisdiction

    shipped = default_config_dir()
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", f"{shipped / 'simulator'}:{shipped}")
    log_jurisdiction()
    assert capsys.readouterr().err == (
        f"hotline worker: jurisdiction 云州市 (5 districts: 江北区, 滨湖区, 高新区, 老城区, 临江区) from {shipped / 'simulator' / 'jurisdiction.toml'}\n"
    )
