"""A worker reads its rule files once: every agent gets the same objects from
hotline.stream.bootstrap, and a process pointed at other folders reads those."""

from __future__ import annotations

import shutil
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
