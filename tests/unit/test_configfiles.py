"""Every configuration file the project ships loads, and a misspelt key in any of them
stops start-up with a message naming the file and the dotted key."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any, Callable

import pytest

from hotline.configfiles import SHIPPED_CONFIG_DIR
from hotline.core.config_tables import ConfigFileError, reject_unknown_keys
from hotline.core.dedupe import SameCallerRule
from hotline.importers.mapping import load_mapping
from hotline.rules import (
    load_alert_settings,
    load_assessment_settings,
    load_deadline_policy,
    load_dedupe_settings,
    load_escalation_policy,
    load_pressure_settings,
    load_screening_rules,
)

REPOSITORY = SHIPPED_CONFIG_DIR.parent
SHIPPED_SCREENING = SHIPPED_CONFIG_DIR / "screening.toml"


def _load_jurisdiction(path: Path) -> Any:
    return load_screening_rules(SHIPPED_SCREENING, path)


LOADERS: dict[str, Callable[[Path], Any]] = {
    "alerts.toml": load_alert_settings,
    "assessment.toml": load_assessment_settings,
    "deadlines.toml": load_deadline_policy,
    "dedupe.toml": load_dedupe_settings,
    "escalation.toml": load_escalation_policy,
    "pressure.toml": load_pressure_settings,
    "screening.toml": load_screening_rules,
    "jurisdiction.toml": _load_jurisdiction,
}


def _loader(path: Path) -> Callable[[Path], Any]:
    """The parser a shipped file is read with: mappings by folder, rule files by name."""
    return load_mapping if path.parent.name == "mappings" else LOADERS[path.name]


SHIPPED_FILES = sorted(
    path.relative_to(REPOSITORY)
    for pattern in ("config/*.toml", "config/simulator/*.toml", "examples/profiles/*/*.toml", "examples/mappings/*.toml")
    for path in REPOSITORY.glob(pattern)
)


def test_every_kind_of_shipped_file_is_found():
    assert {str(path.parent) for path in SHIPPED_FILES} == {
        "config",
        "config/simulator",
        "examples/mappings",
        "examples/profiles/boston",
        "examples/profiles/sanfrancisco",
        "examples/profiles/teddy2020",
    }
    assert {path.name for path in SHIPPED_FILES if str(path.parent) == "config"} == set(LOADERS)


@pytest.mark.parametrize("relative", SHIPPED_FILES, ids=str)
def test_every_shipped_config_file_loads_with_its_parser(relative: Path):
    path = REPOSITORY / relative
    assert _loader(path)(path) is not None


def _misspelt(tmp_path: Path, shipped: Path, line: str, misspelt_line: str) -> Path:
    """A copy of a shipped file with one line (found exactly once) written differently."""
    text = shipped.read_text(encoding="utf-8")
    assert text.count(line) == 1, f"{line!r} is not a line of {shipped}"
    copy = tmp_path / shipped.name
    copy.write_text(text.replace(line, misspelt_line), encoding="utf-8")
    return copy


def _error(load: Callable[[Path], Any], path: Path) -> str:
    with pytest.raises(ConfigFileError) as raised:
        load(path)
    return str(raised.value)


def test_a_misspelt_dedupe_key_names_the_file_the_key_and_the_nearest_key(tmp_path):
    # given dedupe.toml with the same-caller window misspelt
    path = _misspelt(tmp_path, SHIPPED_CONFIG_DIR / "dedupe.toml", "\nwindow_seconds = 7776000 ", "\nwindw_seconds = 7776000 ")
    # then loading stops at it, suggests the key meant and lists the table's keys
    expected = ", ".join(sorted(setting.name for setting in fields(SameCallerRule)))
    assert _error(load_dedupe_settings, path) == (
        f"{path}: same_caller_same_issue.windw_seconds: unknown key, did you mean 'window_seconds'? (expected one of: {expected})"
    )


@pytest.mark.parametrize(
    ("name", "line", "misspelt_line", "message"),
    [
        (
            "dedupe.toml",
            "num_perm = 128 ",
            "num_perms = 128 ",
            "index.num_perms: unknown key, did you mean 'num_perm'? "
            "(expected one of: lsh_threshold, max_candidates, max_entries, ngram_sizes, num_perm, seed)",
        ),
        (
            "dedupe.toml",
            "[category_rules.default]\npolicy",
            "[category_rules.default]\npolicies",
            "category_rules.default.policies: unknown key, did you mean 'policy'? (expected one of: area, policy, radius_meters, window_seconds)",
        ),
        (
            "dedupe.toml",
            "label_min_places = 3",
            "label_min_place = 3",
            "category_rules.label_min_place: unknown key, did you mean 'label_min_places'? "
            "(expected one of: by_category, default, label_min_places, lookup_cell_meters, text_less_default)",
        ),
        (
            "screening.toml",
            "min_distinct_issues = 5",
            "min_distinct_issue = 5",
            "rules.frequent_caller.min_distinct_issue: unknown key, did you mean 'min_distinct_issues'? "
            "(expected one of: max_history_entries, min_distinct_issues, window_seconds)",
        ),
        (
            "screening.toml",
            "[rules.frequent_caller]",
            "[rules.frequent_callers]",
            "rules.frequent_callers: unknown key, did you mean 'frequent_caller'? "
            "(expected one of: abusive_content, emergency_service, frequent_caller, litigation_or_arbitration, "
            "no_content, non_actionable, outside_jurisdiction)",
        ),
        (
            "screening.toml",
            "[normalize.urgency_aliases]",
            "[normalize.urgency_alias]",
            "normalize.urgency_alias: unknown key, did you mean 'urgency_aliases'? (expected one of: category_aliases, urgency_aliases)",
        ),
        (
            "deadlines.toml",
            "[resolution.categories.heating]\nnormal",
            "[resolution.categories.heating]\nnormall",
            "resolution.categories.heating.normall: unknown key, did you mean 'normal'? (expected one of: emergency, normal, urgent)",
        ),
        (
            "escalation.toml",
            "ping_pong_handoffs = 3",
            "ping_pong_handoff = 3",
            "ping_pong_handoff: unknown key, did you mean 'ping_pong_handoffs'? (expected one of: closed_day_retention_days, "
            "daily_budget_per_office, highest_level, ping_pong_handoffs, reasons, repeated_appeals_threshold, summary_order_ids_limit)",
        ),
        (
            "escalation.toml",
            "ping_pong = true",
            "pingpong = true",
            "reasons.pingpong: unknown key, did you mean 'ping_pong'? (expected one of: dissatisfied_after_resolution, "
            "emergency_urgency, ping_pong, repeated_appeals, resolution_breached)",
        ),
        (
            "pressure.toml",
            "max_listed = 10",
            "max_listing = 10",
            "hotspots.max_listing: unknown key, did you mean 'max_listed'? "
            "(expected one of: baseline_hours, factor, max_listed, min_baseline_per_hour, min_inflow_1h)",
        ),
        (
            "assessment.toml",
            "excluded_verdicts = [",
            "excluded_verdict = [",
            "adjusted.excluded_verdict: unknown key, did you mean 'excluded_verdicts'? (expected one of: excluded_verdicts)",
        ),
        (
            "alerts.toml",
            "fire_above = 0.4",
            "fire_over = 0.4",
            "RepeatSurge.fire_over: unknown key, did you mean 'fire_above'? "
            "(expected one of: fire_above, for_seconds, min_sample, resolve_below, resolve_for_seconds, severity, summary)",
        ),
    ],
)
def test_a_misspelt_key_in_a_rule_file_names_the_file_and_the_dotted_key(tmp_path, name, line, misspelt_line, message):
    path = _misspelt(tmp_path, SHIPPED_CONFIG_DIR / name, line, misspelt_line)
    assert _error(LOADERS[name], path) == f"{path}: {message}"


def test_a_misspelt_key_in_a_jurisdiction_profile_names_the_profile(tmp_path):
    path = _misspelt(tmp_path, SHIPPED_CONFIG_DIR / "simulator" / "jurisdiction.toml", "districts = ", "district = ")
    assert _error(_load_jurisdiction, path) == (
        f"{path}: jurisdiction.district: unknown key, did you mean 'districts'? (expected one of: city, districts, province)"
    )


@pytest.mark.parametrize(
    ("name", "line", "misspelt_line", "message"),
    [
        (
            "nyc311.toml",
            'street = "Street Name"',
            'streat = "Street Name"',
            "location.streat: unknown key, did you mean 'street'? "
            "(expected one of: address, community, district, lat, lon, placeholder_coordinates, street)",
        ),
        (
            "nyc311.toml",
            'default = "other"',
            'defualt = "other"',
            "channel.defualt: unknown key, did you mean 'default'? (expected one of: column, default, values)",
        ),
    ],
)
def test_a_misspelt_key_in_a_mapping_names_the_file_and_the_dotted_key(tmp_path, name, line, misspelt_line, message):
    path = _misspelt(tmp_path, REPOSITORY / "examples" / "mappings" / name, line, misspelt_line)
    assert _error(load_mapping, path) == f"{path}: {message}"


def test_a_key_far_from_every_known_key_gets_no_suggestion():
    with pytest.raises(ConfigFileError) as raised:
        reject_unknown_keys({"factor": 3, "colour": "red"}, ("factor", "max_listed"), "pressure.toml", "hotspots")
    assert str(raised.value) == "pressure.toml: hotspots.colour: unknown key (expected one of: factor, max_listed)"


def test_keys_that_are_data_stay_free_and_are_checked_by_their_values(tmp_path):
    # given a dedupe.toml with a category nobody listed before, named like a setting
    path = tmp_path / "dedupe.toml"
    shipped = (SHIPPED_CONFIG_DIR / "dedupe.toml").read_text(encoding="utf-8")
    path.write_text(shipped + '[category_rules.by_category."window_seconds"]\npolicy = "not_linked"\n', encoding="utf-8")
    # then the category is a rule like any other
    assert load_dedupe_settings(path).category_rules.by_label["window_seconds"].policy == "not_linked"
    # and a setting written where categories belong is refused by its value
    path.write_text(shipped.replace("[category_rules.default]", "[category_rules.by_category]\nwindow_seconds = 5\n\n[category_rules.default]"), encoding="utf-8")
    assert _error(load_dedupe_settings, path) == f'{path}: category_rules.by_category."window_seconds": expected a table, got 5'
