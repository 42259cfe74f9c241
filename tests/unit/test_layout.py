"""The pure core stays pure: no stream-processing, Kafka or Prometheus imports, and no
file reading (rules reach it as values, read by hotline.rules)."""

from __future__ import annotations

import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import hotline.contract
import hotline.core

FORBIDDEN = ("faust", "aiokafka", "kafka", "prometheus_client", "mode")
# What reads configuration files: the TOML parser and the project's file layer.
FILE_LAYER = ("tomllib", "hotline.configfiles", "hotline.rules")
# Builtins and pathlib / os methods that open, read or look for files.
FILE_CALLS = frozenset({"open", "read_text", "read_bytes", "is_file", "exists", "iterdir", "glob", "listdir", "scandir"})


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


def test_core_modules_neither_import_the_file_layer_nor_read_files():
    modules = _modules(hotline.core)
    program = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        f"print(sorted(set(sys.modules) & set({FILE_LAYER!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"

    readers = []
    for source in sorted(Path(hotline.core.__path__[0]).rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                readers += [f"{source.name}: import {alias.name}" for alias in node.names if alias.name in FILE_LAYER]
            elif isinstance(node, ast.ImportFrom) and node.module in FILE_LAYER:
                readers.append(f"{source.name}: from {node.module} import ...")
            elif isinstance(node, ast.Call):
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
                if name in FILE_CALLS:
                    readers.append(f"{source.name}:{node.lineno}: {name}()")
    assert readers == []


def test_command_modules_do_not_import_the_entry_point_that_imports_them():
    import hotline.cli

    importers = []
    for source in sorted(Path(hotline.cli.__path__[0]).glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            if "hotline.cli.main" in names:
                importers.append(source.name)
    assert importers == []
