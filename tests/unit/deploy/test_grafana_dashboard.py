"""The Grafana dashboard: generated from code, up to date, and every panel queries the
provisioned data source for metrics that exist."""

from __future__ import annotations

import json

import yaml
from observability_names import ROOT, known_names, metric_names

from hotline import dashboards

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "hotline.json"
PROVISIONING = ROOT / "deploy" / "grafana" / "provisioning"


def _panels() -> list[dict]:
    return json.loads(DASHBOARD.read_text())["panels"]


def _query_panels() -> list[dict]:
    return [panel for panel in _panels() if panel["type"] != "row"]


def test_committed_dashboard_is_what_the_generator_produces():
    assert DASHBOARD.read_text(encoding="utf-8") == dashboards.render()


def test_generator_check_reports_a_stale_file(tmp_path):
    stale = tmp_path / "hotline.json"
    stale.write_text("{}\n")
    assert dashboards.main(["--check", "--output", str(stale)]) == 1
    assert dashboards.main(["--output", str(stale)]) == 0
    assert dashboards.main(["--check", "--output", str(stale)]) == 0


def test_panel_ids_are_unique():
    ids = [panel["id"] for panel in _panels()]
    assert len(ids) == len(set(ids))


def test_every_panel_and_query_uses_the_provisioned_data_source():
    [source] = yaml.safe_load((PROVISIONING / "datasources" / "hotline.yml").read_text())["datasources"]
    expected = {"type": source["type"], "uid": source["uid"]}
    for panel in _query_panels():
        assert panel["datasource"] == expected, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == expected, panel["title"]


def test_every_query_reads_metrics_that_are_exported_or_recorded():
    known = known_names()
    for panel in _query_panels():
        for target in panel["targets"]:
            assert metric_names(target["expr"]) - known == set(), (panel["title"], target["expr"])


def test_the_dashboard_has_the_four_sections_and_an_office_variable():
    dashboard = json.loads(DASHBOARD.read_text())
    rows = [panel["title"] for panel in dashboard["panels"] if panel["type"] == "row"]
    assert rows == ["Office pressure overview", "Office $office", "Alerts", "Pipeline health"]
    [variable] = dashboard["templating"]["list"]
    assert (variable["name"], variable["definition"]) == ("office", "label_values(hotline_office_info, office)")


def test_panels_fit_the_grid_without_overlapping():
    occupied = set()
    for panel in _panels():
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert occupied.isdisjoint(cells), panel["title"]
        occupied |= cells


def test_the_dashboard_provider_loads_the_folder_compose_mounts():
    [provider] = yaml.safe_load((PROVISIONING / "dashboards" / "hotline.yml").read_text())["providers"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
