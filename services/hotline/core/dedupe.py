"""Repeat and near-duplicate detection: link each appeal to an existing case or open one.

Consumes normalised `Appeal`s (hotline.core.screen_rules) in the order a dedupe worker
sees them, and the thresholds of `config/dedupe.toml`. Produces one `CaseDecision` per
appeal — a `case.opened` or a `case.linked` record of hotline.cases.v1 — and keeps a
bounded index of recent appeals from which repeats are found.

Relations, strongest first:
  exact_resubmission       the same normalised title + text from the same caller, or at
                           the same place (address or community), inside a window; for
                           appeals without free text, the same record sent twice (type,
                           category, place and instant all equal)
  same_caller_same_issue   the same pseudonymised caller, similar text, at the same or a
                           nearby place
  other_caller_same_issue  another (or unrecorded) caller, similar text, at the same
                           place: the same address, or the same community (or another
                           configured area level) and the same category

Similar text: Jaccard similarity of the sets of character n-grams (2- and 3-grams suit
short Chinese texts). Candidates come from a MinHash LSH index over those n-grams (fixed
seed, so results are deterministic), from exact-text and same-address tables and from the
caller's own recent appeals, always inside one place key (district) and an event-time
window. The nearer the places, the less text similarity a link needs.

The index forgets appeals older than the longest window when `purge(now_seconds)` is
called with the event-time watermark, and can be rebuilt from its JSON-able entries (the
agent keeps them in a table for recovery). Linking the same appeal twice returns the same
decision and changes nothing.

Appeals without free text. A 311 record has a type, a place and a time; its "text" is a
type label ("Request for Pothole Repair", a descriptor), shared by every report of that
type anywhere in the city. Equal labels are not equal words: linking them as exact text
joins every information call at the call centre's address, and text similarity cannot
tell two potholes apart. So the index decides per appeal whether it carries words:

  text-less   its body (the text, or the title when the text is empty) is empty, equals
              its category or its title, or the same body has been seen at
              `label_min_places` or more distinct places (address, else coordinates to
              about 10 m) among the remembered appeals: a label, not words. Measured on
              the public 311 samples (Boston, SF, NYC) every frequent body is a type
              label, while in Chinese free texts (simulated and real appeal-board
              messages) a body seen at three places does not occur: callers name their
              address and word the facts their own way.
  free text   everything else: the text rules above apply unchanged.

A text-less appeal never links on its text. It links to an earlier appeal of the same
category within the category's radius (haversine distance; a grid of cells at least as
wide as the largest radius finds the candidates) and window, the nearest first; without
coordinates, only the same address counts as near.

Per-category policies (`[category_rules]` of dedupe.toml; defaults plus overrides by
category, also matched against the title and text, where 311 sources keep the type):
  link            the rules above (the default)
  not_linked      the appeal always opens its own case and is never a candidate:
                  information-only calls and general enquiries are no service problem,
                  so they neither repeat one nor are repeated
  standing_case   a chronic area-wide complaint (aircraft noise): every appeal of the
                  category in one area (district, street or community) joins one
                  standing case whose id is derived from category and area (the first
                  remembered appeal opens it, later ones link to it with relation
                  `standing_case`), so thousands of calls count as one case's repeats
                  instead of faking links between unrelated callers
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from difflib import SequenceMatcher
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from datasketch import MinHash, MinHashLSH

from hotline.core.config_tables import ConfigFileError, check, reject_unknown_keys, require
from hotline.core.ids import derived_event_id
from hotline.core.screen_rules import Appeal, content_characters, district_short_name, normalize_text
from hotline.core.timeutil import format_utc

EXACT_RESUBMISSION = "exact_resubmission"
SAME_CALLER_SAME_ISSUE = "same_caller_same_issue"
OTHER_CALLER_SAME_ISSUE = "other_caller_same_issue"
STANDING_CASE = "standing_case"
RELATIONS: tuple[str, ...] = (EXACT_RESUBMISSION, SAME_CALLER_SAME_ISSUE, OTHER_CALLER_SAME_ISSUE, STANDING_CASE)

LINK = "link"
NOT_LINKED = "not_linked"
POLICIES: tuple[str, ...] = (LINK, NOT_LINKED, STANDING_CASE)
STANDING_AREA_LEVELS: tuple[str, ...] = ("district", "street", "community")
STANDING_CASE_PREFIX = "standing:"
_MAX_CASE_ID_LENGTH = 128

CASE_OPENED = "case.opened"
CASE_LINKED = "case.linked"

UNKNOWN_PLACE_KEY = "(unknown)"
AREA_LEVELS: tuple[str, ...] = ("community", "street")

_EARTH_RADIUS_METERS = 6_371_000.0
_MINHASH_SCHEME = "affine32"


def place_key(appeal: Appeal) -> str:
    """The key a dedupe worker partitions appeals by: the district.

    Every relation needs at least the same district (addresses, communities and streets
    lie inside one district), so all candidates of a repeat share this key and one worker
    sees them all. A finer key (street) would split a caller's repeats reported from
    neighbouring streets; a coarser one (city) would put the whole load on one partition.
    """
    return district_short_name(appeal.district) if appeal.district else UNKNOWN_PLACE_KEY


# ---------------------------------------------------------------------------------------
# Settings


@dataclass(frozen=True)
class SameCallerRule:
    """One caller's appeals are one issue when near in place, in the same category (if
    required) and similar in words: the whole texts, or the titles alone (a short title
    names the place and the problem even when the follow-up text is all new words).

    A caller with many appeals in the index writes some phrases into most of them (a
    greeting, a signature, a template): the n-grams found in at least
    `boilerplate_min_share` of the caller's remembered appeals (once the caller has
    `boilerplate_min_appeals`) are left out of both sides before comparing. 0 appeals
    turns the discount off; no title ratio turns the title comparison off."""

    window_seconds: float
    min_similarity_ratio: float
    nearby_meters: float
    require_same_category: bool
    min_title_similarity_ratio: float | None = None
    boilerplate_min_appeals: int = 0
    boilerplate_min_share: float = 1.0
    # Titles sharing a run of this many characters (a road, an estate, a company; runs
    # through `title_run_ignore` matches such as district names do not count) need only
    # `title_run_min_similarity_ratio` of text similarity. 0 characters: off.
    title_run_chars: int = 0
    title_run_min_similarity_ratio: float = 1.0
    title_run_ignore: tuple[re.Pattern[str], ...] = ()


@dataclass(frozen=True)
class OtherCallerRule:
    """Stronger place evidence needs less text evidence: another caller at the same
    address is held to `same_address_min_similarity_ratio`, one elsewhere in the same
    area (community, street) to the stricter `same_area_min_similarity_ratio`."""

    window_seconds: float
    same_address_min_similarity_ratio: float
    same_address_requires_same_category: bool
    same_area_min_similarity_ratio: float
    same_area_levels: tuple[str, ...]


@dataclass(frozen=True)
class CategoryRule:
    """How appeals of one category link: `policy` (link, not_linked, standing_case);
    for text-less appeals under `link`, the radius and window of a repeat; for a
    standing case, the area level it spans and how long it stays open without calls."""

    policy: str
    radius_meters: float
    window_seconds: float
    area: str


@dataclass(frozen=True)
class CategoryRules:
    """Per-category linking, matched against the category, then the title, then the
    text, all as `label_slug`s ("Aircraft Noise", "AIRCRAFT_NOISE" and "aircraft noise"
    are one key). A key ending in `*` matches by prefix. `label_min_places`: a body
    seen at this many distinct places is a label."""

    default: CategoryRule
    by_label: Mapping[str, CategoryRule]
    by_prefix: tuple[tuple[str, CategoryRule], ...]
    label_min_places: int
    lookup_cell_meters: float
    # The rule of a text-less appeal whose category no entry names (None: `default`).
    text_less_default: CategoryRule | None = None

    def rule_for(self, appeal: Appeal, text_less: bool = False) -> CategoryRule:
        default = self.text_less_default if text_less and self.text_less_default is not None else self.default
        if not self.by_label and not self.by_prefix:
            return default
        for label in (label_slug(appeal.category), label_slug(appeal.title), label_slug(appeal.text)):
            if not label:
                continue
            rule = self.by_label.get(label)
            if rule is not None:
                return rule
            for prefix, rule in self.by_prefix:
                if label.startswith(prefix):
                    return rule
        return default

    @property
    def all_rules(self) -> list[CategoryRule]:
        rules = [self.default, *self.by_label.values(), *(rule for _, rule in self.by_prefix)]
        return rules + ([self.text_less_default] if self.text_less_default is not None else [])

    @property
    def longest_window_seconds(self) -> float:
        return max(rule.window_seconds for rule in self.all_rules)


# Without a [category_rules] table every appeal is read as free text, as before the
# table existed: a deployment opts in to place links.
_NO_CATEGORY_RULES = CategoryRules(CategoryRule(LINK, 0.0, 1.0, "district"), {}, (), 1_000_000_000, 1.0)


@dataclass(frozen=True)
class DedupeSettings:
    source: str
    num_perm: int
    seed: int
    ngram_sizes: tuple[int, ...]
    lsh_threshold: float
    max_candidates: int
    max_entries: int
    skip_verdicts: frozenset[str]
    max_earlier_order_ids: int
    exact_window_seconds: float
    same_caller: SameCallerRule
    other_caller: OtherCallerRule
    resend_window_seconds: float
    resend_max_entries: int
    category_rules: CategoryRules = _NO_CATEGORY_RULES

    @property
    def horizon_seconds(self) -> float:
        """How long the index remembers an appeal: the longest window."""
        return max(
            self.exact_window_seconds,
            self.same_caller.window_seconds,
            self.other_caller.window_seconds,
            self.category_rules.longest_window_seconds,
        )

    @property
    def callerless_horizon_seconds(self) -> float:
        """How long an appeal without a caller (a 311 record) is remembered: only the
        same caller's window is longer than the others, and it can never link to it."""
        return max(self.exact_window_seconds, self.other_caller.window_seconds, self.category_rules.longest_window_seconds)

    @property
    def lsh_horizon_seconds(self) -> float:
        """How long an appeal stays in the LSH index. Only links to other callers need it
        (a caller's own appeals are found by caller, the same text by text), so past the
        windows other than the same caller's an appeal is kept for its caller alone,
        without its LSH band keys (more than half of what an appeal costs)."""
        return max(self.exact_window_seconds, self.other_caller.window_seconds)

    def links(self, verdict_status: str) -> bool:
        """Whether an appeal with this verdict takes part in dedupe (rejected appeals
        become no order, so they neither open nor join a case)."""
        return verdict_status not in self.skip_verdicts


def _number(table: dict[str, Any], key: str, path: Path | str, prefix: str, low: float, high: float) -> float:
    value = require(table, key, (int, float), path, prefix)
    check(low <= value <= high, path, f"{prefix}.{key}", f"must be between {low} and {high}, got {value}")
    return value


def _integer(table: dict[str, Any], key: str, path: Path | str, prefix: str, low: int, high: int) -> int:
    value = require(table, key, int, path, prefix)
    check(low <= value <= high, path, f"{prefix}.{key}", f"must be between {low} and {high}, got {value}")
    return value


def _same_caller_text_options(same: dict[str, Any], path: Path | str) -> dict[str, Any]:
    """The optional same-caller fields (title similarity, boilerplate discount); absent,
    they are off."""
    options: dict[str, Any] = {}
    if "min_title_similarity_ratio" in same:
        options["min_title_similarity_ratio"] = _number(same, "min_title_similarity_ratio", path, SAME_CALLER_SAME_ISSUE, 0.0, 1.0)
    if "boilerplate_min_appeals" in same:
        # Fewer than 3 appeals cannot tell a caller's habits from one issue's words.
        options["boilerplate_min_appeals"] = _integer(same, "boilerplate_min_appeals", path, SAME_CALLER_SAME_ISSUE, 0, 100_000)
        check(
            options["boilerplate_min_appeals"] == 0 or options["boilerplate_min_appeals"] >= 3,
            path,
            f"{SAME_CALLER_SAME_ISSUE}.boilerplate_min_appeals",
            f"must be 0 (off) or at least 3, got {options['boilerplate_min_appeals']}",
        )
        options["boilerplate_min_share"] = _number(same, "boilerplate_min_share", path, SAME_CALLER_SAME_ISSUE, 0.01, 1.0)
    elif "boilerplate_min_share" in same:
        check(False, path, f"{SAME_CALLER_SAME_ISSUE}.boilerplate_min_share", "needs boilerplate_min_appeals")
    if "title_run_chars" in same:
        options["title_run_chars"] = _integer(same, "title_run_chars", path, SAME_CALLER_SAME_ISSUE, 0, 100)
        options["title_run_min_similarity_ratio"] = _number(same, "title_run_min_similarity_ratio", path, SAME_CALLER_SAME_ISSUE, 0.0, 1.0)
        patterns = require(same, "title_run_ignore", list, path, SAME_CALLER_SAME_ISSUE) if "title_run_ignore" in same else []
        options["title_run_ignore"] = tuple(
            _title_run_pattern(pattern, path, f"{SAME_CALLER_SAME_ISSUE}.title_run_ignore[{position}]") for position, pattern in enumerate(patterns)
        )
    else:
        for key in ("title_run_min_similarity_ratio", "title_run_ignore"):
            check(key not in same, path, f"{SAME_CALLER_SAME_ISSUE}.{key}", "needs title_run_chars")
    return options


def _title_run_pattern(pattern: Any, path: Path | str, field: str) -> re.Pattern[str]:
    check(isinstance(pattern, str) and pattern != "", path, field, f"expected a non-empty regular expression, got {pattern!r}")
    try:
        # Titles are compared normalised (content_characters: NFKC, case-folded); so are patterns.
        return re.compile(unicodedata.normalize("NFKC", pattern).casefold())
    except re.error as error:
        raise ConfigFileError(path, field, f"invalid regular expression {pattern!r}: {error}") from None


def _field_names(rule: type) -> tuple[str, ...]:
    return tuple(setting.name for setting in fields(rule))


# The keys each table of dedupe.toml may set. The two caller rules take theirs from their
# dataclasses: a field added there is a key here.
_TABLE_KEYS: Mapping[str, tuple[str, ...]] = {
    "index": ("num_perm", "seed", "ngram_sizes", "lsh_threshold", "max_candidates", "max_entries"),
    "linking": ("skip_verdicts", "max_earlier_order_ids"),
    EXACT_RESUBMISSION: ("window_seconds",),
    SAME_CALLER_SAME_ISSUE: _field_names(SameCallerRule),
    OTHER_CALLER_SAME_ISSUE: _field_names(OtherCallerRule),
    "resend_detection": ("window_seconds", "max_entries"),
}
_TOP_LEVEL_KEYS = (*_TABLE_KEYS, "category_rules")
_CATEGORY_RULES_KEYS = ("default", "by_category", "text_less_default", "label_min_places", "lookup_cell_meters")


def _settings_table(table: dict[str, Any], name: str, path: Path | str) -> dict[str, Any]:
    section = require(table, name, dict, path)
    reject_unknown_keys(section, _TABLE_KEYS[name], path, name)
    return section


def dedupe_settings_from_table(table: dict[str, Any], path: Path | str) -> DedupeSettings:
    """Validate a parsed dedupe.toml; every problem names the file and the field."""
    reject_unknown_keys(table, _TOP_LEVEL_KEYS, path)
    index = _settings_table(table, "index", path)
    ngram_sizes = require(index, "ngram_sizes", list, path, "index")
    check(len(ngram_sizes) > 0, path, "index.ngram_sizes", "needs at least one size")
    for position, size in enumerate(ngram_sizes):
        check(
            isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 8,
            path,
            f"index.ngram_sizes[{position}]",
            f"must be an integer between 1 and 8, got {size!r}",
        )
    linking = _settings_table(table, "linking", path)
    skip_verdicts = require(linking, "skip_verdicts", list, path, "linking")
    for position, status in enumerate(skip_verdicts):
        check(
            status in ("accepted", "flagged", "rejected"),
            path,
            f"linking.skip_verdicts[{position}]",
            f"must be accepted, flagged or rejected, got {status!r}",
        )

    exact = _settings_table(table, EXACT_RESUBMISSION, path)
    same = _settings_table(table, SAME_CALLER_SAME_ISSUE, path)
    other = _settings_table(table, OTHER_CALLER_SAME_ISSUE, path)
    resend = _settings_table(table, "resend_detection", path)
    levels = require(other, "same_area_levels", list, path, OTHER_CALLER_SAME_ISSUE)
    for position, level in enumerate(levels):
        check(
            level in AREA_LEVELS,
            path,
            f"{OTHER_CALLER_SAME_ISSUE}.same_area_levels[{position}]",
            f"must be one of {', '.join(AREA_LEVELS)}, got {level!r}",
        )
    settings = DedupeSettings(
        source=str(path),
        num_perm=_integer(index, "num_perm", path, "index", 16, 1024),
        seed=_integer(index, "seed", path, "index", 0, 2**32 - 1),
        ngram_sizes=tuple(sorted(set(ngram_sizes))),
        lsh_threshold=_number(index, "lsh_threshold", path, "index", 0.05, 1.0),
        max_candidates=_integer(index, "max_candidates", path, "index", 1, 100_000),
        max_entries=_integer(index, "max_entries", path, "index", 1, 100_000_000),
        skip_verdicts=frozenset(skip_verdicts),
        max_earlier_order_ids=_integer(linking, "max_earlier_order_ids", path, "linking", 1, 1000),
        exact_window_seconds=_number(exact, "window_seconds", path, EXACT_RESUBMISSION, 1, 366 * 86400),
        same_caller=SameCallerRule(
            window_seconds=_number(same, "window_seconds", path, SAME_CALLER_SAME_ISSUE, 1, 366 * 86400),
            min_similarity_ratio=_number(same, "min_similarity_ratio", path, SAME_CALLER_SAME_ISSUE, 0.0, 1.0),
            nearby_meters=_number(same, "nearby_meters", path, SAME_CALLER_SAME_ISSUE, 0, 100_000),
            require_same_category=require(same, "require_same_category", bool, path, SAME_CALLER_SAME_ISSUE),
            **_same_caller_text_options(same, path),
        ),
        other_caller=OtherCallerRule(
            window_seconds=_number(other, "window_seconds", path, OTHER_CALLER_SAME_ISSUE, 1, 366 * 86400),
            same_address_min_similarity_ratio=_number(other, "same_address_min_similarity_ratio", path, OTHER_CALLER_SAME_ISSUE, 0.0, 1.0),
            same_address_requires_same_category=require(other, "same_address_requires_same_category", bool, path, OTHER_CALLER_SAME_ISSUE),
            same_area_min_similarity_ratio=_number(other, "same_area_min_similarity_ratio", path, OTHER_CALLER_SAME_ISSUE, 0.0, 1.0),
            same_area_levels=tuple(levels),
        ),
        resend_window_seconds=_number(resend, "window_seconds", path, "resend_detection", 1, 366 * 86400),
        resend_max_entries=_integer(resend, "max_entries", path, "resend_detection", 1, 100_000_000),
    )
    if "category_rules" in table:
        settings = replace(settings, category_rules=_category_rules_from_table(require(table, "category_rules", dict, path), path))
    # Other callers elsewhere in the area are found only through the LSH index: a
    # threshold above the similarity that links them would hide candidates to link.
    check(
        settings.lsh_threshold <= settings.other_caller.same_area_min_similarity_ratio,
        path,
        "index.lsh_threshold",
        f"must not exceed {OTHER_CALLER_SAME_ISSUE}.same_area_min_similarity_ratio ({settings.other_caller.same_area_min_similarity_ratio})",
    )
    return settings


_NOT_WORD = re.compile(r"[\W_]+")


def label_slug(label: str) -> str:
    """A category or type label as a key: case-folded, every run of punctuation and
    spacing one underscore, none at the ends (letters of any script survive)."""
    return _NOT_WORD.sub("_", normalize_text(label)).strip("_")


_CATEGORY_RULE_FIELDS = ("policy", "radius_meters", "window_seconds", "area")


def _category_rule(table: dict[str, Any], path: Path | str, prefix: str, base: CategoryRule | None) -> CategoryRule:
    reject_unknown_keys(table, _CATEGORY_RULE_FIELDS, path, prefix)
    values: dict[str, Any] = {}
    for key in _CATEGORY_RULE_FIELDS:
        if key in table or base is None:
            if key == "policy":
                value = require(table, key, str, path, prefix)
                check(value in POLICIES, path, f"{prefix}.policy", f"must be one of {', '.join(POLICIES)}, got {value!r}")
            elif key == "area":
                value = require(table, key, str, path, prefix)
                check(value in STANDING_AREA_LEVELS, path, f"{prefix}.area", f"must be one of {', '.join(STANDING_AREA_LEVELS)}, got {value!r}")
            elif key == "radius_meters":
                value = float(_number(table, key, path, prefix, 0, 10_000))
            else:
                value = float(_number(table, key, path, prefix, 1, 366 * 86400))
            values[key] = value
        else:
            values[key] = getattr(base, key)
    return CategoryRule(**values)


def _category_rules_from_table(table: dict[str, Any], path: Path | str) -> CategoryRules:
    prefix = "category_rules"
    # The keys under by_category are categories (data, free); each names a rule table.
    reject_unknown_keys(table, _CATEGORY_RULES_KEYS, path, prefix)
    default = _category_rule(require(table, "default", dict, path, prefix), path, f"{prefix}.default", None)
    by_label: dict[str, CategoryRule] = {}
    by_prefix: list[tuple[str, CategoryRule]] = []
    for label, rule_table in require(table, "by_category", dict, path, prefix).items():
        field = f'{prefix}.by_category."{label}"'
        check(isinstance(rule_table, dict), path, field, f"expected a table, got {rule_table!r}")
        rule = _category_rule(rule_table, path, field, default)
        key = label_slug(label.rstrip("*"))
        check(bool(key), path, field, "needs a category or label before any '*'")
        check(key not in by_label and key not in dict(by_prefix), path, field, f"names the same key as another entry ({key})")
        if label.endswith("*"):
            by_prefix.append((key, rule))
        else:
            by_label[key] = rule
    text_less_default = None
    if "text_less_default" in table:
        field = f"{prefix}.text_less_default"
        text_less_default = _category_rule(require(table, "text_less_default", dict, path, prefix), path, field, default)
    rules = CategoryRules(
        default=default,
        by_label=by_label,
        by_prefix=tuple(sorted(by_prefix, key=lambda item: -len(item[0]))),
        label_min_places=_integer(table, "label_min_places", path, prefix, 2, 1_000_000),
        lookup_cell_meters=float(_number(table, "lookup_cell_meters", path, prefix, 1, 10_000)),
        text_less_default=text_less_default,
    )
    largest = max(rule.radius_meters for rule in rules.all_rules)
    # Candidates come from the probe's cell and its eight neighbours: a radius wider than
    # a cell would miss appeals two cells away.
    check(
        rules.lookup_cell_meters >= largest,
        path,
        f"{prefix}.lookup_cell_meters",
        f"must be at least the largest radius_meters ({largest})",
    )
    return rules


# ---------------------------------------------------------------------------------------
# Decisions and entries


@dataclass(frozen=True, slots=True)
class CaseDecision:
    """The outcome for one appeal: it opened a case, or it repeats an earlier order."""

    caused_by: str
    order_id: str
    case_id: str
    occurred_at_seconds: float
    relation: str | None = None
    similarity_ratio: float | None = None
    matched_order_id: str | None = None
    earlier_order_ids: tuple[str, ...] = ()
    distance_meters: float | None = None

    @property
    def type(self) -> str:
        return CASE_LINKED if self.relation else CASE_OPENED

    def to_event(self, repeat_count: int = 0, verdict: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The hotline.cases.v1 record (key: order_id). `repeat_count` is how many
        appeals the case has had after the one that opened it, this one included;
        `verdict` the appeal's final verdict, if known."""
        event = {
            "event_id": derived_event_id(self.caused_by, self.type),
            "caused_by": self.caused_by,
            "type": self.type,
            "occurred_at": format_utc_seconds(self.occurred_at_seconds),
            "schema": 1,
            "case_id": self.case_id,
            "order_id": self.order_id,
            "relation": self.relation,
            "similarity": self.similarity_ratio,
            "matched_order_id": self.matched_order_id,
            "earlier_order_ids": list(self.earlier_order_ids),
            "repeat_count": repeat_count,
        }
        if self.distance_meters is not None:
            event["distance_meters"] = self.distance_meters
        if verdict is not None:
            event["verdict"] = {"status": verdict["status"], "reasons": list(verdict["reasons"])}
        return event


def repeat_count_of(decision: CaseDecision, stored_entry: Mapping[str, Any] | None, case_count: Mapping[str, Any] | None) -> int:
    """The repeat count the decision's link carries.

    `stored_entry` is the appeal's stored index entry, `case_count` the stored count of
    its case ({"repeat_count", "counted_order_id"}). An appeal released again after a crash
    publishes what it published the first time: its entry's count, or, when the crash
    came between storing the case's count and the entry, the case's count, which names
    the appeal it last counted, so the appeal is not counted twice.
    """
    if stored_entry is not None:
        return int(stored_entry["repeat_count"])
    if decision.relation is None:
        return 0
    if case_count is None:
        return 1
    if case_count.get("counted_order_id") == decision.order_id:
        return int(case_count["repeat_count"])
    return int(case_count["repeat_count"]) + 1


def format_utc_seconds(seconds: float) -> str:
    return format_utc(datetime.fromtimestamp(seconds, tz=timezone.utc))


@dataclass(frozen=True, slots=True)
class IndexEntry:
    """One remembered appeal: what matching needs, and the decision it got."""

    decision: CaseDecision
    place_key: str
    caller_id: str | None
    category: str
    street: str
    community: str
    address: str
    lat: float | None
    lon: float | None
    content: str
    # The body a label is recognised by, whether the appeal was read as text-less, and
    # its category's policy (only `link` appeals are candidates of the place and text rules).
    label_key: str = ""
    text_less: bool = False
    policy: str = LINK
    # The normalised title alone (empty when the source has none): same-caller repeats
    # are also recognised by their titles.
    title: str = ""

    @property
    def order_id(self) -> str:
        return self.decision.order_id

    @property
    def occurred_at_seconds(self) -> float:
        return self.decision.occurred_at_seconds

    def to_json(self) -> dict[str, Any]:
        decision = self.decision
        return {
            "caused_by": decision.caused_by,
            "order_id": decision.order_id,
            "case_id": decision.case_id,
            "occurred_at_seconds": decision.occurred_at_seconds,
            "relation": decision.relation,
            "similarity": decision.similarity_ratio,
            "matched_order_id": decision.matched_order_id,
            "earlier_order_ids": list(decision.earlier_order_ids),
            "distance_meters": decision.distance_meters,
            "place_key": self.place_key,
            "caller_id": self.caller_id,
            "category": self.category,
            "street": self.street,
            "community": self.community,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "content": self.content,
            "label_key": self.label_key,
            "text_less": self.text_less,
            "policy": self.policy,
            "title": self.title,
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> "IndexEntry":
        return cls(
            decision=CaseDecision(
                caused_by=value["caused_by"],
                order_id=value["order_id"],
                case_id=value["case_id"],
                occurred_at_seconds=float(value["occurred_at_seconds"]),
                relation=value["relation"],
                similarity_ratio=value["similarity"],
                matched_order_id=value["matched_order_id"],
                earlier_order_ids=tuple(value["earlier_order_ids"]),
                distance_meters=value.get("distance_meters"),
            ),
            place_key=value["place_key"],
            caller_id=value["caller_id"],
            category=value["category"],
            street=value["street"],
            community=value["community"],
            address=value["address"],
            lat=value["lat"],
            lon=value["lon"],
            content=value["content"],
            label_key=value.get("label_key", ""),
            text_less=bool(value.get("text_less", False)),
            policy=value.get("policy", LINK),
            title=value.get("title", ""),
        )


# ---------------------------------------------------------------------------------------
# Text and place similarity


def shingles(content: str, ngram_sizes: Iterable[int]) -> np.ndarray:
    """Character n-grams of the content as 32-bit hashes (crc32: deterministic across
    processes, unlike Python's salted hash), sorted and unique. A text shorter than n is
    one n-gram. An array, not a set: the index keeps one per remembered appeal, and 4
    bytes a gram is a tenth of what a set of Python ints holds."""
    grams: set[int] = set()
    encoded = content.encode("utf-8")
    if not encoded:
        return np.empty(0, dtype=np.uint32)
    for size in ngram_sizes:
        if len(content) <= size:
            grams.add(zlib.crc32(encoded))
            continue
        grams.update(zlib.crc32(content[start : start + size].encode("utf-8")) for start in range(len(content) - size + 1))
    return np.array(sorted(grams), dtype=np.uint32)


def jaccard_ratio(left: np.ndarray, right: np.ndarray) -> float:
    """Jaccard ratio of two sorted, unique gram arrays (as `shingles` returns them)."""
    if not left.size and not right.size:
        return 1.0
    if not left.size or not right.size:
        return 0.0
    positions = np.searchsorted(right, left).clip(max=right.size - 1)
    intersection = int(np.count_nonzero(right[positions] == left))
    return intersection / (left.size + right.size - intersection)


def shared_title_run(left: str, right: str, ignore: Iterable[re.Pattern[str]] = ()) -> int:
    """Length of the longest run of characters two normalised titles share, runs through
    an `ignore` match (a district name, say) cut there."""
    for pattern in ignore:
        # Different cut marks on each side, so the marks never match each other.
        left, right = pattern.sub("\x00", left), pattern.sub("\x01", right)
    return SequenceMatcher(None, left, right, autojunk=False).find_longest_match(0, len(left), 0, len(right)).size


def _jaccard_without(left: np.ndarray, right: np.ndarray, left_out: np.ndarray) -> float:
    """Jaccard ratio of two gram arrays once the `left_out` grams are removed from both;
    0 when either side has nothing left (nothing but boilerplate is no evidence)."""
    if not left_out.size:
        return jaccard_ratio(left, right)
    left = np.setdiff1d(left, left_out, assume_unique=True)
    right = np.setdiff1d(right, left_out, assume_unique=True)
    if not left.size or not right.size:
        return 0.0
    return jaccard_ratio(left, right)


def _identity(value: int) -> int:
    return value


def distance_meters(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * _EARTH_RADIUS_METERS * math.asin(min(1.0, math.sqrt(a)))


def _same(left: str, right: str) -> bool:
    return bool(left) and left == right


def _same_community(left: IndexEntry, right: IndexEntry) -> bool:
    # Community names repeat across streets; when both streets are known they must agree.
    if not _same(left.community, right.community):
        return False
    return not (left.street and right.street) or left.street == right.street


def _has_fine_place(entry: IndexEntry) -> bool:
    return bool(entry.address or entry.community or entry.street or entry.lat is not None)


def _same_place(left: IndexEntry, right: IndexEntry) -> bool:
    return _same(left.address, right.address) or _same_community(left, right)


def _places_disagree(left: IndexEntry, right: IndexEntry) -> bool:
    """Both record an address, and neither the address nor the community is the same."""
    return bool(left.address and right.address) and not _same_place(left, right)


def _nearby(left: IndexEntry, right: IndexEntry, nearby_meters: float) -> bool:
    if _same_place(left, right) or _same(left.street, right.street):
        return True
    if None not in (left.lat, left.lon, right.lat, right.lon):
        return distance_meters(left.lat, left.lon, right.lat, right.lon) <= nearby_meters
    # Nothing finer than the district (shared through the place key) on either side.
    return not _has_fine_place(left) and not _has_fine_place(right)


def _same_area(left: IndexEntry, right: IndexEntry, levels: tuple[str, ...]) -> bool:
    if left.category != right.category:
        return False
    if "community" in levels and _same_community(left, right):
        return True
    return "street" in levels and _same(left.street, right.street)


def label_key_of(appeal: Appeal) -> str:
    """The body a label is recognised by: the text's content, or the title's when the
    text is empty (311 sources put the type into the text, Chinese boards the words)."""
    return content_characters(appeal.text) or content_characters(appeal.title)


def _label_place(address: str, lat: float | None, lon: float | None) -> str | None:
    """Where a body was seen, for counting the distinct places of a label: the address,
    else the coordinates to four decimals (about 10 m)."""
    if address:
        return address
    if lat is not None and lon is not None:
        return f"{lat:.4f},{lon:.4f}"
    return None


def standing_case_id(category: str, appeal: Appeal, area: str) -> str:
    """The deterministic case id of a category's standing case in the appeal's area:
    `standing:<category>:<district>[/<street>[/<community>]]`, down to the configured
    level where the appeal names it (a crc32 digest when longer than a case id may be)."""
    parts = [place_key(appeal)]
    if area in ("street", "community") and appeal.street:
        parts.append(appeal.street)
        if area == "community" and appeal.community:
            parts.append(appeal.community)
    case_id = f"{STANDING_CASE_PREFIX}{category}:{'/'.join(parts)}"
    if len(case_id) > _MAX_CASE_ID_LENGTH:
        case_id = f"{STANDING_CASE_PREFIX}{zlib.crc32(case_id.encode('utf-8')):08x}"
    return case_id


_METERS_PER_DEGREE_LATITUDE = 111_320.0


def _cell_rows(lat: float, cell_meters: float) -> tuple[float, int]:
    # 1 % wider than asked, so a point within cell_meters is never two cells away.
    row_degrees = cell_meters * 1.01 / _METERS_PER_DEGREE_LATITUDE
    return row_degrees, math.floor(lat / row_degrees)


def _column(lon: float, row: int, row_degrees: float) -> int:
    column_degrees = row_degrees / max(0.01, math.cos(math.radians(row * row_degrees)))
    return math.floor(lon / column_degrees)


def grid_cell(lat: float, lon: float, cell_meters: float) -> tuple[int, int]:
    row_degrees, row = _cell_rows(lat, cell_meters)
    return row, _column(lon, row, row_degrees)


def cells_around(lat: float, lon: float, cell_meters: float) -> list[tuple[int, int]]:
    """The point's grid cell and its eight neighbours: every point within cell_meters
    lies in one of them (the geohash-neighbourhood lookup, with cells sized in metres)."""
    row_degrees, row = _cell_rows(lat, cell_meters)
    cells = []
    for neighbour_row in (row - 1, row, row + 1):
        column = _column(lon, neighbour_row, row_degrees)
        cells.extend((neighbour_row, neighbour_column) for neighbour_column in (column - 1, column, column + 1))
    return cells


# ---------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True)
class _Match:
    relation: str
    similarity_ratio: float
    entry: IndexEntry

    def rank(self) -> tuple[int, float, float, str]:
        # Strongest relation, then most similar, then most recent; order id breaks ties.
        return (-RELATIONS.index(self.relation), self.similarity_ratio, self.entry.occurred_at_seconds, self.entry.order_id)


class _Buckets:
    """A multimap from keys to order ids that keeps a lone id as itself: most keys (a
    text, an address, an LSH band) belong to one appeal, and an empty set costs 200
    bytes, a reference 8."""

    def __init__(self) -> None:
        self._members: dict[Any, str | set[str]] = {}

    def add(self, key: Any, order_id: str) -> None:
        members = self._members.get(key)
        if members is None:
            self._members[key] = order_id
        elif isinstance(members, str):
            if members != order_id:
                self._members[key] = {members, order_id}
        else:
            members.add(order_id)

    def discard(self, key: Any, order_id: str) -> None:
        members = self._members.get(key)
        if members is None:
            return
        if isinstance(members, str):
            if members == order_id:
                del self._members[key]
            return
        members.discard(order_id)
        if len(members) == 1:
            self._members[key] = members.pop()

    def get(self, key: Any) -> Iterable[str]:
        members = self._members.get(key)
        if members is None:
            return ()
        return (members,) if isinstance(members, str) else members

    def __len__(self) -> int:
        return len(self._members)


@lru_cache(maxsize=16)
def _band_shape(threshold: float, num_perm: int) -> tuple[int, int]:
    """datasketch's optimal (bands, rows) for the threshold: a numerical integration,
    the same for every place's index."""
    reference = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return reference.b, reference.r


class _BandIndex:
    """MinHash LSH: appeals whose signatures agree on every row of at least one band are
    candidates. The band and row counts are datasketch's optimum for the threshold; each
    band's rows are folded into one 64-bit key (a collision only adds a candidate, which
    the exact Jaccard check then rejects), so an appeal costs one dict slot per band."""

    def __init__(self, threshold: float, num_perm: int):
        self.bands, self.rows = _band_shape(threshold, num_perm)
        self._buckets = _Buckets()
        self._keys: dict[str, np.ndarray] = {}
        # Odd multipliers fold a band's rows into one key; fixed, so keys are stable.
        self._fold = np.array([0x9E3779B97F4A7C15 + 2 * row for row in range(self.rows)], dtype=np.uint64)
        self._offsets = np.arange(self.bands, dtype=np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)

    def band_keys(self, minhash: MinHash) -> np.ndarray:
        signature = minhash.hashvalues[: self.bands * self.rows].astype(np.uint64).reshape(self.bands, self.rows)
        with np.errstate(over="ignore"):
            return (signature * self._fold).sum(axis=1, dtype=np.uint64) ^ self._offsets

    def insert(self, order_id: str, keys: np.ndarray) -> None:
        self._keys[order_id] = keys
        for key in keys.tolist():
            self._buckets.add(key, order_id)

    def remove(self, order_id: str) -> None:
        keys = self._keys.pop(order_id, None)
        if keys is None:
            return  # retired from the LSH index before it was forgotten
        for key in keys.tolist():
            self._buckets.discard(key, order_id)

    def query(self, keys: np.ndarray) -> set[str]:
        found: set[str] = set()
        for key in keys.tolist():
            found.update(self._buckets.get(key))
        return found

    def is_empty(self) -> bool:
        return not self._keys


class CaseIndex:
    """Recent appeals of the place keys one worker owns, and the cases they belong to.

    Mutable for speed (an LSH index cannot be rebuilt per appeal); its state is exactly
    its entries (`to_entries` / `from_entries`), so a worker can restore it after a
    restart or rebalance. Compact, because a worker keeps 30 days of appeals: n-grams as
    arrays, lone members of a bucket without a set.
    """

    def __init__(self, settings: DedupeSettings):
        self.settings = settings
        self._permutations = MinHash(num_perm=settings.num_perm, seed=settings.seed).permutations
        self._entries: dict[str, IndexEntry] = {}
        self._shingles: dict[str, np.ndarray] = {}
        self._order_by_cause: dict[str, str] = {}
        self._lsh_by_place: dict[str, _BandIndex] = {}
        self._by_content = _Buckets()
        self._by_caller = _Buckets()
        self._by_address = _Buckets()
        self._entries_per_case: dict[str, int] = {}
        self._by_age: list[tuple[float, str]] = []
        self._by_cell = _Buckets()  # (category, row, column) -> appeals with coordinates
        self._by_label_place = _Buckets()  # (label key, place) -> appeals
        self._label_places: dict[str, int] = {}  # label key -> distinct places remembered
        self._by_standing_case = _Buckets()  # standing case id -> its remembered appeals
        # Appeals without a caller by age, to forget them past callerless_horizon_seconds.
        self._callerless_by_age: list[tuple[float, str]] = []
        # Appeals in the LSH index by age, to retire them past lsh_horizon_seconds.
        self._in_lsh_by_age: list[tuple[float, str]] = []
        # The caller's boilerplate n-grams for the appeal being linked (its probe, grams).
        self._boilerplate_of: tuple[IndexEntry, np.ndarray] | None = None

    @property
    def size(self) -> int:
        """Appeals remembered."""
        return len(self._entries)

    def entry(self, order_id: str) -> IndexEntry | None:
        return self._entries.get(order_id)

    def has_case(self, case_id: str) -> bool:
        """Whether an appeal of the case is still remembered, so the case can grow."""
        return case_id in self._entries_per_case

    def to_entries(self) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in sorted(self._entries.values(), key=lambda e: (e.occurred_at_seconds, e.order_id))]

    @classmethod
    def from_entries(cls, settings: DedupeSettings, entries: Iterable[Mapping[str, Any]]) -> "CaseIndex":
        index = cls(settings)
        for value in entries:
            index.add_entry(IndexEntry.from_json(value))
        return index

    def link(self, appeal: Appeal) -> CaseDecision:
        """Open a case for the appeal or link it to the best earlier match, and remember it.

        A second call for the same input event (or the same order) returns the first
        decision unchanged.
        """
        known_order = self._order_by_cause.get(appeal.caused_by, appeal.order_id)
        if known_order in self._entries:
            return self._entries[known_order].decision
        rules = self.settings.category_rules
        label_key = label_key_of(appeal)
        text_less = self._reads_as_label(appeal, label_key)
        rule = rules.rule_for(appeal, text_less)
        case_id = standing_case_id(appeal.category, appeal, rule.area) if rule.policy == STANDING_CASE else appeal.order_id
        probe = IndexEntry(
            decision=CaseDecision(appeal.caused_by, appeal.order_id, case_id, appeal.occurred_at_seconds),
            place_key=place_key(appeal),
            caller_id=appeal.caller_id,
            category=appeal.category,
            street=appeal.street,
            community=appeal.community,
            address=appeal.address,
            lat=appeal.lat,
            lon=appeal.lon,
            content=content_characters(f"{appeal.title} {appeal.text}"),
            label_key=label_key,
            text_less=text_less,
            policy=rule.policy,
            title=content_characters(appeal.title),
        )
        grams = shingles(probe.content, self.settings.ngram_sizes)
        minhash = self._minhash(grams)
        decision = probe.decision
        same_record = self._same_record(probe) if text_less else None
        if same_record is not None:
            decision = replace(
                decision,
                case_id=same_record.decision.case_id,
                relation=EXACT_RESUBMISSION,
                similarity_ratio=1.0,
                matched_order_id=same_record.order_id,
                earlier_order_ids=(same_record.order_id,),
            )
            matches = []
        elif rule.policy == STANDING_CASE:
            decision = self._standing_decision(probe, rule)
            matches = []
        elif rule.policy == NOT_LINKED:
            matches = []
        elif probe.text_less:
            decision = self._place_decision(probe, rule)
            matches = []
        else:
            matches = [match for match in (self._match(probe, grams, entry) for entry in self._candidates(probe, minhash)) if match]
        if matches:
            best = max(matches, key=_Match.rank)
            earlier = sorted(matches, key=lambda m: (m.entry.occurred_at_seconds, m.entry.order_id))
            decision = CaseDecision(
                caused_by=appeal.caused_by,
                order_id=appeal.order_id,
                case_id=best.entry.decision.case_id,
                occurred_at_seconds=appeal.occurred_at_seconds,
                relation=best.relation,
                similarity_ratio=round(best.similarity_ratio, 4),
                matched_order_id=best.entry.order_id,
                earlier_order_ids=tuple(m.entry.order_id for m in earlier[-self.settings.max_earlier_order_ids :]),
            )
        self._remember(replace(probe, decision=decision), grams, minhash)
        return decision

    def add_entry(self, entry: IndexEntry) -> None:
        """Remember an entry as it was decided before (rebuilding after a restart)."""
        if entry.order_id in self._entries:
            return
        grams = shingles(entry.content, self.settings.ngram_sizes)
        self._remember(entry, grams, self._minhash(grams))

    def purge(self, now_seconds: float) -> tuple[str, ...]:
        """Forget appeals older than the longest window before `now_seconds` (the
        event-time watermark), then the oldest beyond `max_entries`; returns the order
        ids forgotten so the caller can drop them from its table too."""
        horizon = now_seconds - self.settings.horizon_seconds
        forgotten: list[str] = []
        while self._by_age and (self._by_age[0][0] < horizon or len(self._entries) > self.settings.max_entries):
            _, order_id = heapq.heappop(self._by_age)
            if order_id in self._entries:  # else forgotten already as caller-less
                self._forget(order_id)
                forgotten.append(order_id)
        callerless_horizon = now_seconds - self.settings.callerless_horizon_seconds
        while self._callerless_by_age and self._callerless_by_age[0][0] < callerless_horizon:
            _, order_id = heapq.heappop(self._callerless_by_age)
            if order_id in self._entries:
                self._forget(order_id)
                forgotten.append(order_id)
        self._retire_from_lsh(now_seconds - self.settings.lsh_horizon_seconds)
        return tuple(forgotten)

    def _retire_from_lsh(self, before_seconds: float) -> None:
        """Take appeals older than `before_seconds` out of the LSH index (they stay
        remembered for their caller until purged)."""
        while self._in_lsh_by_age and self._in_lsh_by_age[0][0] < before_seconds:
            _, order_id = heapq.heappop(self._in_lsh_by_age)
            entry = self._entries.get(order_id)
            if entry is not None:  # else purged meanwhile, and out of the LSH index with it
                self._remove_from_lsh(entry)

    def _remove_from_lsh(self, entry: IndexEntry) -> None:
        lsh = self._lsh_by_place.get(entry.place_key)
        if lsh is None:
            return  # its place's appeals have all been retired
        lsh.remove(entry.order_id)
        if lsh.is_empty():
            del self._lsh_by_place[entry.place_key]

    # -- internals ---------------------------------------------------------------------

    def _reads_as_label(self, appeal: Appeal, label_key: str) -> bool:
        """Whether the appeal carries no free text: see the module docstring."""
        if not appeal.free_text or not label_key or label_key == content_characters(appeal.category):
            return True
        if appeal.text and label_key == content_characters(appeal.title):
            return True  # the same words twice: a type written into title and text
        places = self._label_places.get(label_key, 0)
        place = _label_place(appeal.address, appeal.lat, appeal.lon)
        if place is not None and not any(True for _ in self._by_label_place.get((label_key, place))):
            places += 1
        return places >= self.settings.category_rules.label_min_places

    def _same_record(self, probe: IndexEntry) -> IndexEntry | None:
        """An earlier text-less appeal equal to this one in type, category, place and
        instant: the same record sent twice (an export that repeats a row), whatever the
        category's policy. Distinct reports never share all four in the public samples."""
        place = _label_place(probe.address, probe.lat, probe.lon)
        if place is None:
            return None
        for order_id in sorted(self._by_label_place.get((probe.label_key, place))):
            entry = self._entries[order_id]
            if entry.occurred_at_seconds == probe.occurred_at_seconds and entry.category == probe.category and entry.text_less:
                return entry
        return None

    def _is_label(self, entry: IndexEntry) -> bool:
        return entry.text_less or self._label_places.get(entry.label_key, 0) >= self.settings.category_rules.label_min_places

    def _standing_decision(self, probe: IndexEntry, rule: CategoryRule) -> CaseDecision:
        """Join the category's standing case in the area, or open it."""
        opened = probe.decision
        members = [
            self._entries[order_id]
            for order_id in self._by_standing_case.get(opened.case_id)
            if opened.occurred_at_seconds - self._entries[order_id].occurred_at_seconds <= rule.window_seconds
        ]
        if not members:
            return opened
        members.sort(key=lambda entry: (entry.occurred_at_seconds, entry.order_id))
        return replace(
            opened,
            relation=STANDING_CASE,
            matched_order_id=members[-1].order_id,
            earlier_order_ids=tuple(entry.order_id for entry in members[-self.settings.max_earlier_order_ids :]),
        )

    def _place_decision(self, probe: IndexEntry, rule: CategoryRule) -> CaseDecision:
        """A text-less appeal repeats the nearest earlier appeal of its category within
        the category's radius and window (the same address counts as 0 m)."""
        order_ids: set[str] = set()
        if probe.lat is not None and probe.lon is not None:
            cell_meters = self.settings.category_rules.lookup_cell_meters
            for row, column in cells_around(probe.lat, probe.lon, cell_meters):
                order_ids.update(self._by_cell.get((probe.category, row, column)))
        if probe.address:
            order_ids.update(self._by_address.get((probe.place_key, probe.address)))
        found: list[tuple[float, IndexEntry]] = []
        for order_id in order_ids:
            entry = self._entries[order_id]
            # The same category and the same type label: a coarse category (Boston's
            # reason) holds several types, a pothole and a broken sidewalk among them.
            if entry.policy != LINK or entry.category != probe.category or entry.label_key != probe.label_key or not self._is_label(entry):
                continue
            if abs(probe.occurred_at_seconds - entry.occurred_at_seconds) > rule.window_seconds:
                continue
            if _same(probe.address, entry.address):
                distance = 0.0
            elif None in (probe.lat, probe.lon, entry.lat, entry.lon):
                continue
            else:
                distance = distance_meters(probe.lat, probe.lon, entry.lat, entry.lon)
            if distance <= rule.radius_meters:
                found.append((distance, entry))
        if not found:
            return probe.decision
        distance, best = min(found, key=lambda item: (item[0], -item[1].occurred_at_seconds, item[1].order_id))
        earlier = sorted((entry for _, entry in found), key=lambda entry: (entry.occurred_at_seconds, entry.order_id))
        same_caller = bool(probe.caller_id) and probe.caller_id == best.caller_id
        return replace(
            probe.decision,
            case_id=best.decision.case_id,
            relation=SAME_CALLER_SAME_ISSUE if same_caller else OTHER_CALLER_SAME_ISSUE,
            matched_order_id=best.order_id,
            earlier_order_ids=tuple(entry.order_id for entry in earlier[-self.settings.max_earlier_order_ids :]),
            distance_meters=round(distance, 1),
        )

    def _minhash(self, grams: np.ndarray) -> MinHash:
        minhash = MinHash(
            num_perm=self.settings.num_perm,
            seed=self.settings.seed,
            hashfunc=_identity,
            permutations=self._permutations,
            scheme=_MINHASH_SCHEME,
        )
        minhash.update_batch(grams.tolist())
        return minhash

    def _lsh(self, key: str) -> _BandIndex:
        lsh = self._lsh_by_place.get(key)
        if lsh is None:
            lsh = _BandIndex(self.settings.lsh_threshold, self.settings.num_perm)
            self._lsh_by_place[key] = lsh
        return lsh

    def _candidates(self, probe: IndexEntry, minhash: MinHash) -> list[IndexEntry]:
        place = probe.place_key
        order_ids: set[str] = set(self._by_content.get((place, probe.content)))
        if probe.caller_id:
            order_ids.update(self._by_caller.get((place, probe.caller_id)))
        if probe.address:
            order_ids.update(self._by_address.get((place, probe.address)))
        lsh = self._lsh_by_place.get(place)
        if lsh is not None:
            order_ids.update(lsh.query(lsh.band_keys(minhash)))
        entries = [entry for entry in (self._entries[order_id] for order_id in order_ids) if entry.policy == LINK]
        if len(entries) > self.settings.max_candidates:
            # In a storm thousands of appeals share words; the nearest in time matter most.
            entries.sort(key=lambda e: (abs(e.occurred_at_seconds - probe.occurred_at_seconds), e.order_id))
            entries = entries[: self.settings.max_candidates]
        return entries

    def _match(self, probe: IndexEntry, grams: np.ndarray, entry: IndexEntry) -> _Match | None:
        # Time, caller and place are cheap to compare; text similarity is computed last.
        settings = self.settings
        gap_seconds = abs(probe.decision.occurred_at_seconds - entry.decision.occurred_at_seconds)
        same_caller = bool(probe.caller_id) and probe.caller_id == entry.caller_id
        if probe.content and probe.content == entry.content and gap_seconds <= settings.exact_window_seconds:
            if same_caller or _same_place(probe, entry):
                return _Match(EXACT_RESUBMISSION, 1.0, entry)
        if same_caller:
            same = settings.same_caller
            if gap_seconds > same.window_seconds or not _nearby(probe, entry, same.nearby_meters):
                return None
            if same.require_same_category and probe.category != entry.category:
                return None
            similarity = self._same_caller_similarity(probe, grams, entry)
            return _Match(SAME_CALLER_SAME_ISSUE, similarity, entry) if similarity is not None else None
        else:
            other = settings.other_caller
            if gap_seconds > other.window_seconds:
                return None
            if _same(probe.address, entry.address) and (
                probe.category == entry.category or not other.same_address_requires_same_category
            ):
                min_similarity_ratio = other.same_address_min_similarity_ratio
            elif _same_area(probe, entry, other.same_area_levels):
                min_similarity_ratio = other.same_area_min_similarity_ratio
            else:
                return None
            relation = OTHER_CALLER_SAME_ISSUE
        similarity = jaccard_ratio(grams, self._shingles[entry.order_id])
        return _Match(relation, similarity, entry) if similarity >= min_similarity_ratio else None

    def _same_caller_similarity(self, probe: IndexEntry, grams: np.ndarray, entry: IndexEntry) -> float | None:
        """The similarity that links two appeals of one caller, or None: the Jaccard ratio
        of the texts or, when configured, of the titles, whichever is higher among those
        reaching their thresholds; the caller's boilerplate n-grams left out of both."""
        rule = self.settings.same_caller
        boilerplate = self._caller_boilerplate(probe)
        text_ratio = _jaccard_without(grams, self._shingles[entry.order_id], boilerplate)
        passing = [text_ratio] if text_ratio >= rule.min_similarity_ratio else []
        if rule.min_title_similarity_ratio is not None and probe.title and entry.title:
            sizes = self.settings.ngram_sizes
            title_ratio = _jaccard_without(shingles(probe.title, sizes), shingles(entry.title, sizes), boilerplate)
            if title_ratio >= rule.min_title_similarity_ratio:
                passing.append(title_ratio)
        # The shared run stands for a shared place only where the records do not name two
        # places: between two addresses it is as likely the problem ("漏水", "扰民").
        if not passing and rule.title_run_chars and text_ratio >= rule.title_run_min_similarity_ratio and not _places_disagree(probe, entry):
            if shared_title_run(probe.title, entry.title, rule.title_run_ignore) >= rule.title_run_chars:
                passing.append(text_ratio)
        return max(passing) if passing else None

    def _caller_boilerplate(self, probe: IndexEntry) -> np.ndarray:
        """The n-grams in at least `boilerplate_min_share` of the probe caller's remembered
        appeals (and in two of them at least), once there are `boilerplate_min_appeals`;
        computed once per linked appeal."""
        if self._boilerplate_of is not None and self._boilerplate_of[0] is probe:
            return self._boilerplate_of[1]
        rule = self.settings.same_caller
        boilerplate = np.empty(0, dtype=np.uint32)
        if rule.boilerplate_min_appeals and probe.caller_id:
            own = [order_id for order_id in self._by_caller.get((probe.place_key, probe.caller_id)) if order_id != probe.order_id]
            if len(own) >= rule.boilerplate_min_appeals:
                grams, counts = np.unique(np.concatenate([self._shingles[order_id] for order_id in own]), return_counts=True)
                boilerplate = grams[counts >= max(2, math.ceil(rule.boilerplate_min_share * len(own)))]
        self._boilerplate_of = (probe, boilerplate)
        return boilerplate

    def _remember(self, entry: IndexEntry, grams: np.ndarray, minhash: MinHash) -> None:
        order_id = entry.order_id
        self._entries[order_id] = entry
        self._shingles[order_id] = grams
        self._order_by_cause[entry.decision.caused_by] = order_id
        lsh = self._lsh(entry.place_key)
        lsh.insert(order_id, lsh.band_keys(minhash))
        self._by_content.add((entry.place_key, entry.content), order_id)
        if entry.caller_id:
            self._by_caller.add((entry.place_key, entry.caller_id), order_id)
        if entry.address:
            self._by_address.add((entry.place_key, entry.address), order_id)
        if entry.lat is not None and entry.lon is not None:
            row, column = grid_cell(entry.lat, entry.lon, self.settings.category_rules.lookup_cell_meters)
            self._by_cell.add((entry.category, row, column), order_id)
        place = _label_place(entry.address, entry.lat, entry.lon)
        if place is not None and entry.label_key:
            if not any(True for _ in self._by_label_place.get((entry.label_key, place))):
                self._label_places[entry.label_key] = self._label_places.get(entry.label_key, 0) + 1
            self._by_label_place.add((entry.label_key, place), order_id)
        case_id = entry.decision.case_id
        if case_id.startswith(STANDING_CASE_PREFIX):
            self._by_standing_case.add(case_id, order_id)
        self._entries_per_case[case_id] = self._entries_per_case.get(case_id, 0) + 1
        heapq.heappush(self._by_age, (entry.occurred_at_seconds, order_id))
        if not entry.caller_id:
            heapq.heappush(self._callerless_by_age, (entry.occurred_at_seconds, order_id))
        heapq.heappush(self._in_lsh_by_age, (entry.occurred_at_seconds, order_id))

    def _forget(self, order_id: str) -> None:
        entry = self._entries.pop(order_id)
        del self._shingles[order_id]
        self._order_by_cause.pop(entry.decision.caused_by, None)
        self._remove_from_lsh(entry)
        self._by_content.discard((entry.place_key, entry.content), order_id)
        self._by_caller.discard((entry.place_key, entry.caller_id), order_id)
        self._by_address.discard((entry.place_key, entry.address), order_id)
        if entry.lat is not None and entry.lon is not None:
            row, column = grid_cell(entry.lat, entry.lon, self.settings.category_rules.lookup_cell_meters)
            self._by_cell.discard((entry.category, row, column), order_id)
        place = _label_place(entry.address, entry.lat, entry.lon)
        if place is not None and entry.label_key:
            self._by_label_place.discard((entry.label_key, place), order_id)
            if not any(True for _ in self._by_label_place.get((entry.label_key, place))):
                remaining_places = self._label_places[entry.label_key] - 1
                if remaining_places:
                    self._label_places[entry.label_key] = remaining_places
                else:
                    del self._label_places[entry.label_key]
        case_id = entry.decision.case_id
        if case_id.startswith(STANDING_CASE_PREFIX):
            self._by_standing_case.discard(case_id, order_id)
        remaining = self._entries_per_case[case_id] - 1
        if remaining:
            self._entries_per_case[case_id] = remaining
        else:
            del self._entries_per_case[case_id]
