"""The HTML briefing of a simulated month, opened in a real browser.

Given a month of the simulator's overload city (an office swamped for a few days, so
alerts are raised), `hotline report --out briefing.html` writes the page; headless
chromium (the Debian package, driven by Playwright) opens it from disk and every chart
must be drawn with a size, with no console error and no request beyond the file itself.
Needs no Kafka; skips only where chromium is not installed (`make test` installs it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from hotline.configfiles import SHIPPED_CONFIG_DIR
from hotline.sim import SimulationSpec, encode_lines, simulate

CHROMIUM = shutil.which("chromium")
SPEC = SimulationSpec(days=31, seed=7, scenario="overload", appeals_per_day=25, start=date(2026, 3, 1))
CHARTS = ["ranks-1", "pressure", "shares", "hotspots", "alerts"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package chromium; scripts/system-deps.sh installs it)")


@pytest.fixture(autouse=True)
def _needs_broker():
    """The briefing is computed offline: no broker."""


@pytest.fixture(scope="module")
def briefing_file(tmp_path_factory) -> Path:
    simulation = simulate(SPEC)
    folder = tmp_path_factory.mktemp("briefing")
    events, offices, out = folder / "events.jsonl", folder / "offices.jsonl", folder / "briefing.html"
    events.write_bytes(encode_lines(simulation.events))
    offices.write_bytes(encode_lines(simulation.offices))
    env = {**os.environ, "HOTLINE_CONFIG_DIR": f"{SHIPPED_CONFIG_DIR / 'simulator'}:{SHIPPED_CONFIG_DIR}"}
    command = [sys.executable, "-m", "hotline.cli.main", "report", "--events", str(events), "--offices", str(offices)]
    command += ["--period", "2026-03", "--office-level", "street", "--out", str(out)]
    subprocess.run(command, env=env, check=True, timeout=600)
    return out


def test_the_browser_draws_every_chart_without_errors(briefing_file):
    problems: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        # Root in a container has no user namespaces for chromium's sandbox.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type in ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on("request", lambda request: requests.append(request.url))
            page.goto(briefing_file.as_uri(), wait_until="load")
            charts = page.eval_on_selector_all(
                "figure.chart svg",
                "nodes => nodes.map(node => { const box = node.getBoundingClientRect();"
                " return {id: node.id, width: box.width, height: box.height, shapes: node.querySelectorAll('path, use, text').length}; })",
            )
            title = page.title()
            headings = page.eval_on_selector_all("h2", "nodes => nodes.map(node => node.textContent)")
        finally:
            browser.close()
    assert problems == []
    assert requests == [briefing_file.as_uri()]
    assert title == "Hotline briefing 2026-03"
    assert headings == [
        "Official rank and adjusted rank",
        "Offices under most pressure",
        "Repeated appeals and orders passed on",
        "Hotspots by category and district",
        "Alerts",
    ]
    assert [chart["id"] for chart in charts] == CHARTS
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50, chart
        assert chart["shapes"] > 10, chart
