"""The rule files of config/, read and checked: one loader per file, and `load_rules` for
all of them at once.

hotline.core builds every rule from a table it is handed and never opens a file; this
module finds each file in the config folders (HOTLINE_CONFIG_DIR, hotline.configfiles),
reads it and hands its table to core. A wrong value, a misspelt key or a missing file
raises `ConfigFileError` naming the file and the field.

A worker reads them once, through hotline.stream.bootstrap; the commands that evaluate,
report or benchmark call the loaders here, with a file of their own where they take one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hotline.configfiles import config_dirs, config_file, load_toml
from hotline.core.alerts import AlertSettings, parse_alert_settings
from hotline.core.assessment import AssessmentSettings, parse_assessment_settings
from hotline.core.deadlines import DeadlinePolicy, parse_deadline_policy
from hotline.core.dedupe import DedupeSettings, dedupe_settings_from_table
from hotline.core.escalation import EscalationPolicy, parse_escalation_policy
from hotline.core.pressure import PressureSettings, parse_pressure_settings
from hotline.core.screen_rules import ScreeningRules, screening_rules_from_table

SCREENING_FILE = "screening.toml"
# Optional: without it, no appeal is judged outside the jurisdiction.
JURISDICTION_FILE = "jurisdiction.toml"
DEDUPE_FILE = "dedupe.toml"
DEADLINES_FILE = "deadlines.toml"
ESCALATION_FILE = "escalation.toml"
PRESSURE_FILE = "pressure.toml"
ALERTS_FILE = "alerts.toml"
ASSESSMENT_FILE = "assessment.toml"


@dataclass(frozen=True)
class Rules:
    """Every rule of the pipeline, and the files they were read from."""

    screening: ScreeningRules
    dedupe: DedupeSettings
    deadlines: DeadlinePolicy
    escalation: EscalationPolicy
    pressure: PressureSettings
    alerts: AlertSettings
    assessment: AssessmentSettings
    files: tuple[Path, ...]

    def describe(self) -> str:
        """One line: which files were read, grouped by folder."""
        by_folder: dict[Path, list[str]] = {}
        for path in self.files:
            by_folder.setdefault(path.parent, []).append(path.name)
        return "; ".join(f"{', '.join(names)} from {folder}" for folder, names in by_folder.items())


def _path(path: Path | str | None, name: str) -> Path:
    return Path(path) if path is not None else config_file(name)


def load_screening_rules(path: Path | str | None = None, jurisdiction_path: Path | str | None = None) -> ScreeningRules:
    """screening.toml and, when there is one, jurisdiction.toml (both from the config
    folders unless given); a missing jurisdiction file configures none."""
    path = _path(path, SCREENING_FILE)
    jurisdiction_path = _path(jurisdiction_path, JURISDICTION_FILE)
    jurisdiction_table = load_toml(jurisdiction_path) if jurisdiction_path.is_file() else {}
    return screening_rules_from_table(load_toml(path), path, jurisdiction_table, jurisdiction_path)


def load_dedupe_settings(path: Path | str | None = None) -> DedupeSettings:
    path = _path(path, DEDUPE_FILE)
    return dedupe_settings_from_table(load_toml(path), path)


def load_deadline_policy(path: Path | str | None = None) -> DeadlinePolicy:
    path = _path(path, DEADLINES_FILE)
    return parse_deadline_policy(load_toml(path), path)


def load_escalation_policy(path: Path | str | None = None) -> EscalationPolicy:
    path = _path(path, ESCALATION_FILE)
    return parse_escalation_policy(load_toml(path), path)


def load_pressure_settings(path: Path | str | None = None) -> PressureSettings:
    path = _path(path, PRESSURE_FILE)
    return parse_pressure_settings(load_toml(path), path)


def load_alert_settings(path: Path | str | None = None) -> AlertSettings:
    path = _path(path, ALERTS_FILE)
    return parse_alert_settings(load_toml(path), path)


def load_assessment_settings(path: Path | str | None = None) -> AssessmentSettings:
    path = _path(path, ASSESSMENT_FILE)
    return parse_assessment_settings(load_toml(path), path)


def load_rules(folders: tuple[Path, ...] | None = None) -> Rules:
    """Every rule file of `folders` (default: the config folders), each read once.

    The screening rules come first, so a folder without rule files is reported by the
    file every stage needs.
    """
    folders = config_dirs() if folders is None else folders
    screening, jurisdiction = config_file(SCREENING_FILE, folders), config_file(JURISDICTION_FILE, folders)
    paths = {name: config_file(name, folders) for name in (DEDUPE_FILE, DEADLINES_FILE, ESCALATION_FILE, PRESSURE_FILE, ALERTS_FILE, ASSESSMENT_FILE)}
    return Rules(
        screening=load_screening_rules(screening, jurisdiction),
        dedupe=load_dedupe_settings(paths[DEDUPE_FILE]),
        deadlines=load_deadline_policy(paths[DEADLINES_FILE]),
        escalation=load_escalation_policy(paths[ESCALATION_FILE]),
        pressure=load_pressure_settings(paths[PRESSURE_FILE]),
        alerts=load_alert_settings(paths[ALERTS_FILE]),
        assessment=load_assessment_settings(paths[ASSESSMENT_FILE]),
        files=(screening, *((jurisdiction,) if jurisdiction.is_file() else ()), *paths.values()),
    )
