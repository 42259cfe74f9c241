"""docker-compose.yml parses and validates as `docker compose config` would.

No Docker engine runs here, so tools/compose-config loads the file with compose-go, the
library behind `docker compose config`, and prints the normalised project.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
TOOL_SOURCE = ROOT / "tools" / "compose-config"


@pytest.fixture(scope="module")
def compose_config(tmp_path_factory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to build tools/compose-config (the compose file check)")
    cache = Path(os.environ.get("HOTLINE_CACHE_DIR", Path.home() / ".cache" / "hotline"))
    binary = cache / "bin" / "compose-config"
    sources = [TOOL_SOURCE / "main.go", TOOL_SOURCE / "go.mod", TOOL_SOURCE / "go.sum"]
    if not binary.exists() or binary.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        binary.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([go, "build", "-o", str(binary), "."], cwd=TOOL_SOURCE, check=True, timeout=600)
    return binary


def _config(tool: Path, compose_file: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(tool), str(compose_file)], capture_output=True, text=True, timeout=60)


def test_compose_file_is_valid_and_runs_the_whole_stack(compose_config):
    result = _config(compose_config, ROOT / "docker-compose.yml")
    assert result.returncode == 0, result.stderr
    project = yaml.safe_load(result.stdout)
    assert set(project["services"]) == {"kafka", "topics", "worker", "prometheus", "alertmanager", "grafana"}
    assert project["services"]["kafka"]["image"].startswith("apache/kafka:")
    assert project["services"]["worker"]["environment"]["HOTLINE_BROKER"] == "kafka:9092"
    assert project["services"]["worker"]["deploy"]["replicas"] == 2
    assert project["services"]["worker"]["environment"]["HOTLINE_TIME_MODE"] == "live"


def test_compose_check_rejects_an_invalid_file(compose_config, tmp_path):
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  worker:\n    image: hotline\n    ports: 6066\n")
    result = _config(compose_config, broken)
    assert result.returncode != 0
    assert "ports" in result.stderr
