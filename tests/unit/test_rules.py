"""`load_rules` reads every rule file of the config folders once, each from the first
folder that has it, and says which files it read."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import hotline.rules
from hotline.configfiles import SHIPPED_CONFIG_DIR, load_toml
from hotline.core.config_tables import ConfigFileError
from hotline.rules import load_rules

RULE_FILES = ("screening.toml", "jurisdiction.toml", "dedupe.toml", "deadlines.toml", "escalation.toml", "pressure.toml", "alerts.toml", "assessment.toml")
PROFILE = SHIPPED_CONFIG_DIR / "simulator"


@pytest.fixture
def reads(monkeypatch) -> list[Path]:
    """The files hotline.rules reads, in order."""
    read: list[Path] = []

    def counting_load_toml(path):
        read.append(Path(path))
        return load_toml(path)

    monkeypatch.setattr(hotline.rules, "load_toml", counting_load_toml)
    return read


def test_every_rule_file_is_read_once(reads):
    rules = load_rules((SHIPPED_CONFIG_DIR,))

    assert sorted(path.name for path in reads) == sorted(RULE_FILES)
    assert sorted(rules.files) == sorted(SHIPPED_CONFIG_DIR / name for name in RULE_FILES)


def test_a_profile_overrides_only_the_files_it_has_and_the_description_says_where_each_came_from(reads):
    # given the simulator profile in front of the shipped rules
    rules = load_rules((PROFILE, SHIPPED_CONFIG_DIR))

    # then its jurisdiction is the profile's, everything else the shipped folder's
    assert [path for path in reads if path.name == "jurisdiction.toml"] == [PROFILE / "jurisdiction.toml"]
    assert rules.screening.jurisdiction is not None
    assert rules.describe() == (
        f"screening.toml, dedupe.toml, deadlines.toml, escalation.toml, pressure.toml, alerts.toml, assessment.toml from {SHIPPED_CONFIG_DIR}; "
        f"jurisdiction.toml from {PROFILE}"
    )


def test_without_a_jurisdiction_file_none_is_configured_and_none_is_read(tmp_path, reads):
    for name in RULE_FILES:
        if name != "jurisdiction.toml":
            shutil.copy(SHIPPED_CONFIG_DIR / name, tmp_path / name)

    rules = load_rules((tmp_path,))

    assert rules.screening.jurisdiction is None
    assert len(reads) == len(RULE_FILES) - 1
    assert tmp_path / "jurisdiction.toml" not in rules.files


def test_a_folder_without_rule_files_is_reported_by_the_screening_file(tmp_path):
    with pytest.raises(ConfigFileError) as raised:
        load_rules((tmp_path,))
    assert str(raised.value) == f"{tmp_path}/screening.toml: (file): does not exist"
