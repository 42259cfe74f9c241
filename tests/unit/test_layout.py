"""The pure core stays pure: no stream-processing, Kafka or Prometheus imports."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import hotline.contract
import hotline.core

FORBIDDEN = ("faust", "aiokafka", "kafka", "prometheus_client", "mode")


def _modules(package) -> list[str]:
    return [info.name for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]


def test_core_and_contract_import_nothing_from_the_stream_stack():
    modules = _modules(hotline.core) + _modules(hotline.contract)
    program = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert len(modules) >= 7
    assert "hotline.core.stages.pressure" in modules
