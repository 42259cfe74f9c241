"""A worker reads its rule files once: every agent gets the same objects from
hotline.stream.bootstrap, and a process pointed at other folders reads those."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import hotline.rules
from hotline.configfiles import SHIPPED_CONFIG_DIR, load_toml
from hotline.stream import bootstrap


def _profile_copy(folder: Path) -> Path:
    """A copy of the shipped rules in a folder of its own, which no earlier call has read."""
    for source in SHIPPED_CONFIG_DIR.glob("*.toml"):
        shutil.copy(source, folder / source.name)
    return folder


def test_rules_asked_for_again_are_the_same_objects_and_no_file_is_read_again(tmp_path, monkeypatch):
    # given a fresh config folder and a count of the files read
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(_profile_copy(tmp_path)))
    reads: list[str] = []
    monkeypatch.setattr(hotline.rules, "load_toml", lambda path: reads.append(Path(path).name) or load_toml(path))

    # when the six agents ask for their rules, as they do at import
    first = bootstrap.rules()
    asked = [bootstrap.rules() for _ in range(6)]

    # then the eight files were read once and every agent holds the same objects
    assert len(reads) == 8
    assert sorted(reads) == sorted(path.name for path in first.files)
    assert all(rules is first for rules in asked)


def test_other_config_folders_give_their_own_rules(monkeypatch):
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", str(SHIPPED_CONFIG_DIR))
    shipped = bootstrap.rules()
    monkeypatch.setenv("HOTLINE_CONFIG_DIR", f"{SHIPPED_CONFIG_DIR / 'simulator'}:{SHIPPED_CONFIG_DIR}")
    simulator = bootstrap.rules()

    assert shipped.screening.jurisdiction is None
    assert simulator.screening.jurisdiction.configured_city == "云州市"
    assert simulator.screening.jurisdiction.source == str(SHIPPED_CONFIG_DIR / "simulator" / "jurisdiction.toml")


def test_a_worker_reads_each_rule_file_once_however_many_agents_use_it():
    # given a fresh process that counts every TOML file it parses
    program = (
        "import collections, json, tomllib\n"
        "reads = collections.Counter()\n"
        "parse = tomllib.load\n"
        "def counting(handle, *args, **kwargs):\n"
        "    reads[handle.name] += 1\n"
        "    return parse(handle, *args, **kwargs)\n"
        "tomllib.load = counting\n"
        # when it loads the worker: the app and all six agents
        "import hotline.stream.worker\n"
        "print(json.dumps(reads))\n"
    )
    environment = {**os.environ, "HOTLINE_CONFIG_DIR": str(SHIPPED_CONFIG_DIR)}
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True, env=environment)

    # then each of the eight rule files was read once
    reads = json.loads(result.stdout.splitlines()[-1])
    assert reads == {str(path): 1 for path in sorted(SHIPPED_CONFIG_DIR.glob("*.toml"))}
