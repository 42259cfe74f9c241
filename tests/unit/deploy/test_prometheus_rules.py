"""Prometheus rules and configs: promtool accepts them, their unit tests pass, and every
alert is documented, tested on both sides of its `for:` and reads real metrics."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml
from observability_names import ALERTING_RULES, PROMETHEUS, RECORDING_RULES, ROOT, known_names, metric_names, rules

from hotline.rules import load_alert_settings

RUNBOOK = ROOT / "docs" / "runbook.md"
RULE_TESTS = sorted((PROMETHEUS / "tests").glob("*.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
EXPECTED_ALERTS = {
    "HotlineOfficeOverloaded",
    "HotlineDeadlineBreachesRising",
    "HotlineRepeatSurge",
    "HotlinePingPongOrders",
    "HotlineTargetSubstitutionSuspected",
    "HotlineOfficialRankFlatters",
    "HotlineHotspotEmerging",
    "HotlineProcessorStalled",
    "HotlineDeadLettersIncreasing",
    "HotlineWorkerDown",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool") or "/usr/bin/promtool"
    if not shutil.which(path):
        pytest.fail("promtool is needed to check the Prometheus rules (Debian package `prometheus`)")
    return path


def _run(promtool: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool, *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=120)


def test_rule_files_pass_promtool_check_rules(promtool):
    result = _run(promtool, "check", "rules", str(RECORDING_RULES), str(ALERTING_RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_unit_tests_pass_promtool_test_rules(promtool):
    assert len(RULE_TESTS) == 4
    result = _run(promtool, "test", "rules", *map(str, RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_TESTS)


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus-compose.yml"])
def test_prometheus_config_passes_promtool_check_config(promtool, config):
    result = _run(promtool, "check", "config", config)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rejects_a_rule_file_with_a_broken_expression(promtool, tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: sum by (office (up)\n")
    assert _run(promtool, "check", "rules", str(broken)).returncode != 0


def test_the_local_config_scrapes_the_worker_port_as_job_hotline():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "hotline"]
    assert job["static_configs"] == [{"targets": ["127.0.0.1:6066"]}]


def test_every_alert_has_severity_summary_description_and_a_runbook_section():
    alerts = rules(ALERTING_RULES)
    assert {rule["alert"] for rule in alerts} == EXPECTED_ALERTS
    headings = re.findall(r"^## (\S+)$", RUNBOOK.read_text(), flags=re.MULTILINE)
    assert sorted(headings) == sorted(EXPECTED_ALERTS)
    for rule in alerts:
        assert rule["labels"]["severity"] in ("info", "warning", "critical"), rule["alert"]
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}, rule["alert"]
        assert rule["annotations"]["runbook_url"] == f"docs/runbook.md#{rule['alert'].lower()}"


def test_alert_severities_agree_with_the_processors_alert_config():
    configured = load_alert_settings().rules
    for rule in rules(ALERTING_RULES):
        core_name = rule["alert"].removeprefix("Hotline")
        if core_name in configured:
            assert rule["labels"]["severity"] == configured[core_name].severity, rule["alert"]


def _minutes(duration: str) -> int:
    value, unit = int(duration[:-1]), duration[-1]
    return value * {"m": 1, "h": 60}[unit]


def test_every_alert_is_tested_one_evaluation_before_and_at_the_end_of_its_for():
    # For each alert, some test case must show it silent at one evaluation and firing at
    # the next: that pins the `for:` boundary from both sides.
    pinned = set()
    for path in RULE_TESTS:
        document = yaml.safe_load(path.read_text())
        step = _minutes(document["evaluation_interval"])
        for case in document["tests"]:
            silent = {(t["alertname"], _minutes(t["eval_time"])) for t in case.get("alert_rule_test", []) if not t["exp_alerts"]}
            firing = {(t["alertname"], _minutes(t["eval_time"])) for t in case.get("alert_rule_test", []) if t["exp_alerts"]}
            pinned |= {name for name, minute in firing if (name, minute - step) in silent}
    assert pinned == EXPECTED_ALERTS


def test_rules_read_only_metrics_the_workers_export_or_the_rules_record():
    known = known_names()
    for rule in rules(RECORDING_RULES) + rules(ALERTING_RULES):
        unknown = metric_names(rule["expr"]) - known
        assert unknown == set(), rule.get("alert") or rule.get("record")


def test_recording_rules_follow_the_level_metric_operation_naming():
    for rule in rules(RECORDING_RULES):
        assert re.fullmatch(r"hotline:[a-z0-9_]+(:[a-z0-9_]+)?", rule["record"]), rule["record"]


def test_alertmanager_routes_reach_defined_receivers():
    config = yaml.safe_load(ALERTMANAGER.read_text())
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert {route["receiver"] for route in routes} <= receivers
    assert config["route"]["group_by"] == ["alertname", "office"]
