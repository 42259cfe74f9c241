"""The project's Prometheus rules and Grafana queries against a real Prometheus server
scraping a real worker that has processed the first part of the bundled overload sample.

Given the simulated sample up to 2026-03-04T00:00Z (office d04-s01 is overloaded then,
by the ground truth) replayed through a broker and worker of their own, and
/usr/bin/prometheus scraping that worker every second with the project's rule files,
then every recording and alerting rule evaluates without error, every dashboard query
evaluates, and HotlineOfficeOverloaded fires for d04-s01 and no other office.

The rule files are loaded as copies whose every `for:` is shortened to a few seconds, so
alerts can fire within the test; the promtool unit tests in tests/unit/deploy (with
deploy/prometheus/tests) cover the real `for:` durations.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from hotline.core.timeutil import parse_rfc3339
from support.prometheus import PrometheusServer, parse_api_instant, write_rules_with_short_for

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "data" / "samples" / "demo-events.jsonl"
TRUTH = ROOT / "data" / "samples" / "demo-truth.jsonl"
OFFICES = ROOT / "data" / "offices" / "demo-offices.jsonl"
RULE_FILES = sorted((ROOT / "deploy" / "prometheus" / "rules").glob("*.yml"))
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "hotline.json"

# The surge of the sample runs 2026-03-03T02:00Z .. 2026-03-05T04:00Z; at this point the
# processor's OfficeOverloaded alert of the office is active (it resolves after the surge).
REPLAY_UNTIL = datetime(2026, 3, 4, tzinfo=timezone.utc)
FOR_SECONDS = 2
SCRAPES_BEFORE_CHECKS = 3
[OVERLOADED_OFFICE] = [t["office_id"] for t in map(json.loads, TRUTH.read_text().splitlines()) if t["kind"] == "overload"]

# What Grafana puts in place of the dashboard's variables; the office is one that has data.
GRAFANA_VARIABLES = {"office": OVERLOADED_OFFICE, "period": "month", "__rate_interval": "1m", "__interval": "15s", "__range": "24h"}
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def _expand_grafana_variables(expr: str) -> str:
    def value(match: re.Match) -> str:
        name = match.group(1) or match.group(2)
        assert name in GRAFANA_VARIABLES, f"dashboard query uses a variable the test does not know: ${name} in {expr}"
        return GRAFANA_VARIABLES[name]

    return _VARIABLE.sub(value, expr)


def _dashboard_targets() -> list:
    def walk(panels: list[dict]):
        for panel in panels:
            yield panel
            yield from walk(panel.get("panels", []))

    panels = walk(json.loads(DASHBOARD.read_text())["panels"])
    return [
        pytest.param(panel["title"], target["expr"], id=f"panel{panel['id']}-{target['refId']}")
        for panel in panels
        for target in panel.get("targets", [])
    ]


def _events_before(until: datetime) -> bytes:
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    return "".join(f"{line}\n" for line in lines if parse_rfc3339(json.loads(line)["occurred_at"]) < until).encode()


@pytest.fixture(scope="module")
def overloaded(isolated_pipeline):
    isolated_pipeline.hotline("offices", "load", str(OFFICES))
    replayed = _events_before(REPLAY_UNTIL)
    isolated_pipeline.hotline("replay", "--quiet", "-", stdin=replayed)
    isolated_pipeline.finish_replay(replayed)
    return isolated_pipeline


def _wait(condition, timeout_seconds: float, what: str, server: PrometheusServer) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError(f"prometheus: {what} not within {timeout_seconds}s:\n{server.log_text()[-3000:]}")


def _scrapes_of_the_worker(server: PrometheusServer) -> float:
    result = server.query('min(count_over_time(up{job="hotline"}[1m]) * up{job="hotline"})')["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def _every_group_evaluated_since(server: PrometheusServer, since: datetime) -> bool:
    groups = server.api("rules")["data"]["groups"]
    return all(parse_api_instant(group["lastEvaluation"]) > since for group in groups)


@pytest.fixture(scope="module")
def prometheus(overloaded, tmp_path_factory):
    directory = tmp_path_factory.mktemp("prometheus")
    rule_copies = []
    for source in RULE_FILES:
        copy = directory / source.name
        write_rules_with_short_for(source, copy, FOR_SECONDS)
        rule_copies.append(copy)
    server = PrometheusServer(directory, overloaded.worker.url.removeprefix("http://"), rule_copies)
    try:
        server.wait_ready()
        _wait(lambda: _scrapes_of_the_worker(server) >= SCRAPES_BEFORE_CHECKS, 30, "scrapes of the worker", server)
        scraped_at = datetime.now(timezone.utc)
        # rule errors such as duplicate series depend on data: judge evaluations made after the scrapes
        _wait(lambda: _every_group_evaluated_since(server, scraped_at), 15, "a rule evaluation after the scrapes", server)
        yield server
    finally:
        server.stop()


def _rule_names_in_files() -> list[str]:
    return sorted(
        rule.get("record") or rule["alert"]
        for path in RULE_FILES
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    )


def test_every_recording_and_alerting_rule_evaluates_without_error(prometheus):
    # given the project's rules loaded and evaluated on the worker's scraped metrics
    groups = prometheus.api("rules")["data"]["groups"]
    # when their health is read
    rules = [(Path(group["file"]).name, rule["name"], rule["health"], rule.get("lastError", "")) for group in groups for rule in group["rules"]]
    # then every rule of the files is loaded, healthy and has no error
    assert sorted(name for _, name, _, _ in rules) == _rule_names_in_files()
    assert [rule for rule in rules if rule[2] != "ok" or rule[3]] == []


def test_the_office_variable_lists_every_office_of_the_registry(prometheus):
    # given the dashboard's variable query label_values(hotline_office_info, office)
    response = prometheus.api("label/office/values", **{"match[]": "hotline_office_info"})
    # then it offers exactly the offices loaded into the registry
    registry = {json.loads(line)["office_id"] for line in OFFICES.read_text().splitlines()}
    assert response["status"] == "success"
    assert set(response["data"]) == registry


@pytest.mark.parametrize(("title", "expr"), _dashboard_targets())
def test_dashboard_query_evaluates_without_error(prometheus, title, expr):
    # given a dashboard panel's query with Grafana's variables filled in
    query = _expand_grafana_variables(expr)
    # when Prometheus evaluates it
    response = prometheus.query(query)
    # then it succeeds without error or warning
    assert (response["status"], response.get("error"), response.get("warnings")) == ("success", None, None), (title, query)


def _office_overloaded_alerts(server: PrometheusServer) -> list[dict]:
    return [a for a in server.api("alerts")["data"]["alerts"] if a["labels"]["alertname"] == "HotlineOfficeOverloaded"]


def test_office_overloaded_fires_for_the_overloaded_office_only(prometheus, overloaded):
    # given the worker's own alert is active for the surging office at the end of the replay
    pressure = overloaded.worker.metrics()[("hotline_office_pressure_ratio", (("office", OVERLOADED_OFFICE),))]
    # when Prometheus has evaluated the rule for longer than its (shortened) `for:`
    _wait(lambda: any(a["state"] == "firing" for a in _office_overloaded_alerts(prometheus)), FOR_SECONDS + 20, "HotlineOfficeOverloaded firing", prometheus)
    # then it fires for that office and no other, reporting the office's pressure ratio
    [alert] = _office_overloaded_alerts(prometheus)
    assert (alert["labels"]["office"], alert["labels"]["severity"], alert["state"]) == (OVERLOADED_OFFICE, "warning", "firing")
    assert float(alert["value"]) == pressure
    assert alert["annotations"]["summary"] == f"Office {OVERLOADED_OFFICE} receives more work than its capacity"
