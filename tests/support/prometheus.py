"""A real Prometheus server (the system's /usr/bin/prometheus) for end-to-end tests.

Consumes the project's rule files and one scrape target (a worker's /metrics); produces a
running server on a free 127.0.0.1 port with its own storage directory, and its HTTP API
(/api/v1/...) as decoded JSON. The configuration is generated per test run: a 1 s scrape
and evaluation interval, and copies of the rule files whose `for:` are shortened so that
alerts can fire within a test.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

import yaml

from support.worker import free_port

PROMETHEUS_BINARY = Path("/usr/bin/prometheus")
JOB_NAME = "hotline"  # the job the rules and dashboard name in up{job="hotline"}

# Prometheus reports instants with nanoseconds; datetime keeps microseconds.
_FRACTION_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")


def parse_api_instant(text: str) -> datetime:
    return datetime.fromisoformat(_FRACTION_BEYOND_MICROSECONDS.sub(r"\1", text))


def write_rules_with_short_for(source: Path, target: Path, for_seconds: int) -> None:
    """Copy a rule file, replacing every rule's `for:` by `for_seconds`."""
    document = yaml.safe_load(source.read_text(encoding="utf-8"))
    for group in document["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = f"{for_seconds}s"
    target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")


class PrometheusServer:
    def __init__(self, directory: Path, scrape_target: str, rule_files: list[Path]):
        self.port = free_port()
        self.log_path = directory / "prometheus.log"
        config_path = directory / "prometheus.yml"
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [{"job_name": JOB_NAME, "metrics_path": "/metrics", "static_configs": [{"targets": [scrape_target]}]}],
        }
        config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
        storage = directory / "tsdb"
        storage.mkdir()
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS_BINARY),
                f"--config.file={config_path}",
                f"--storage.tsdb.path={storage}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout_seconds: float = 30.0) -> None:
        """Until the server answers /-/ready (configuration and rules loaded)."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"prometheus exited with {self.process.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"prometheus not ready in {timeout_seconds}s:\n{self.log_text()[-3000:]}")

    def api(self, path: str, **params: str) -> dict:
        """GET /api/v1/<path>; returns the whole response, errors included (status 4xx/5xx)."""
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}{query}", timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            return json.loads(error.read())

    def query(self, expr: str) -> dict:
        return self.api("query", query=expr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
