"""Screening verdicts for appeals: is an appeal for the hotline, and may it become an order?

Consumes the screened data of one `appeal.received` event (title, text, category,
urgency, location, pseudonymised caller id) as an `Appeal`, the rules loaded from
`config/screening.toml`, and — for callers that are known — the caller's recent history
(a small JSON-able `CallerHistory`). Produces a `Verdict` (accepted / flagged / rejected
with reason codes) and the caller's updated history.

Reason codes:
  not_accepted_by_source     the source system says it did not accept the appeal
                             (`data.accepted: false` on appeal.received)
  no_content                 nothing left once placeholders, punctuation and filler words
                             are gone, or less than a few characters
  litigation_or_arbitration  the matter is already before a court, an arbitration body
                             or an administrative review (12345 does not accept these)
  emergency_service          belongs to 110 / 119 / 120: fire, crime in progress, medical
                             emergency
  outside_jurisdiction       another city or province than the configured districts
  abusive_content            insults and profanity
  non_actionable             short content that asks for nothing: test calls, idle chat,
                             meaningless strings
  frequent_caller            one caller with many appeals on unrelated issues in a window

Keyword and regular-expression rules, the city's districts and which reasons flag and
which reject are configuration; this module holds only the mechanics. Keyword rules read
context: a match counts only when no exclusion matches in its clause or the clause before
(past events, hypotheses, negations, recurring defects, symptoms caused by a nuisance),
when a required cue is in its clause (an emergency is happening now), and, for rules that
ask for it, when the match is made of whole words of the text's word segmentation
(jieba), so that '着火' inside '看着火车' or '妈的' inside '妈妈的' does not count.
Nothing here reads the wall clock: the frequent-caller window runs on the appeals' event
time.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

import jieba

from hotline.core.config_tables import ConfigFileError, check, reject_unknown_keys, require
from hotline.core.privacy import ID_NUMBER_PLACEHOLDER, PHONE_PLACEHOLDER
from hotline.core.timeutil import parse_rfc3339

ACCEPTED = "accepted"
FLAGGED = "flagged"
REJECTED = "rejected"

NOT_ACCEPTED_BY_SOURCE = "not_accepted_by_source"
NO_CONTENT = "no_content"
LITIGATION_OR_ARBITRATION = "litigation_or_arbitration"
EMERGENCY_SERVICE = "emergency_service"
OUTSIDE_JURISDICTION = "outside_jurisdiction"
ABUSIVE_CONTENT = "abusive_content"
NON_ACTIONABLE = "non_actionable"
FREQUENT_CALLER = "frequent_caller"

# The order in which reasons are evaluated and listed in a verdict.
REASON_CODES: tuple[str, ...] = (
    NOT_ACCEPTED_BY_SOURCE,
    NO_CONTENT,
    NON_ACTIONABLE,
    LITIGATION_OR_ARBITRATION,
    EMERGENCY_SERVICE,
    OUTSIDE_JURISDICTION,
    ABUSIVE_CONTENT,
    FREQUENT_CALLER,
)
KEYWORD_REASONS: tuple[str, ...] = (LITIGATION_OR_ARBITRATION, EMERGENCY_SERVICE, ABUSIVE_CONTENT)


_WHITESPACE = re.compile(r"\s+")
# What is left of a text once punctuation, symbols and spaces are gone: CJK, letters, digits.
_NOT_CONTENT = re.compile(r"[^\w]|_", re.UNICODE)
_ADMINISTRATIVE_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|新区|区|县|市|旗)$")
# A keyword's context is its clause: the text between these. A space separates the title
# from the text and stands for a line break.
_CLAUSE_END = re.compile(r"[,.;:!?()\[\]，。；：！？（）【】…\s]")
# Where a configured place frame puts the other place's name.
PLACE_SLOT = "{place}"


# ---------------------------------------------------------------------------------------
# Normalisation


def normalize_text(text: str | None) -> str:
    """NFKC (full-width letters, digits and punctuation become half-width), case-folded,
    runs of whitespace collapsed to one space."""
    if not text:
        return ""
    # Place names, categories and urgencies repeat from appeal to appeal; free text rarely.
    return _normalized_short(text) if len(text) <= _SHORT_TEXT else _normalized(text)


_SHORT_TEXT = 48


def _normalized(text: str) -> str:
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


_normalized_short = functools.lru_cache(maxsize=1 << 14)(_normalized)


def content_characters(text: str | None) -> str:
    """The normalised text without placeholders, punctuation, symbols and spaces.

    Two texts that differ only in punctuation or spacing have the same content; this is
    what length checks and text fingerprints look at.
    """
    normalized = normalize_text(text)
    for placeholder in (PHONE_PLACEHOLDER, ID_NUMBER_PLACEHOLDER):
        normalized = normalized.replace(placeholder, " ")
    return _NOT_CONTENT.sub("", normalized)


def normalize_alias(value: str | None, aliases: Mapping[str, str]) -> str:
    """The canonical spelling of a category or urgency (aliases are keyed by normalised text)."""
    normalized = normalize_text(value)
    return aliases.get(normalized, normalized)


def district_short_name(name: str) -> str:
    """'天河区' -> '天河': how districts are often written in free text and by callers."""
    normalized = normalize_text(name).replace(" ", "")
    short = _ADMINISTRATIVE_SUFFIX.sub("", normalized)
    return short if len(short) >= 2 else normalized


# ---------------------------------------------------------------------------------------
# Appeals


@dataclass(frozen=True)
class Appeal:
    """What screening and dedupe need from one screened `appeal.received` event."""

    order_id: str
    caused_by: str
    occurred_at_seconds: float
    title: str
    text: str
    category: str
    urgency: str
    caller_id: str | None = None
    district: str = ""
    street: str = ""
    community: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None
    # False: title and text are the source's type labels, not a caller's words (311).
    free_text: bool = True
    # False when the source system says it did not accept the appeal (`data.accepted`).
    accepted_by_source: bool = True

    @property
    def full_text(self) -> str:
        return f"{self.title} {self.text}".strip()


def appeal_from_screened(
    event: Mapping[str, Any],
    category_aliases: Mapping[str, str] | None = None,
    urgency_aliases: Mapping[str, str] | None = None,
) -> Appeal:
    """An `Appeal` from a hotline.screened.v1 `appeal.received` event, normalised:
    free text NFKC + whitespace, category and urgency through their aliases, place names
    NFKC without spaces."""
    data = event["data"]
    location = data.get("location") or {}

    def place(field: str) -> str:
        return normalize_text(location.get(field)).replace(" ", "")

    return Appeal(
        order_id=event["order_id"],
        caused_by=event["caused_by"],
        occurred_at_seconds=parse_rfc3339(event["occurred_at"]).timestamp(),
        title=normalize_text(data.get("title")),
        text=normalize_text(data.get("text")),
        category=normalize_alias(data.get("category"), category_aliases or {}),
        urgency=normalize_alias(data.get("urgency"), urgency_aliases or {}),
        caller_id=data.get("caller_id") or None,
        district=place("district"),
        street=place("street"),
        community=place("community"),
        address=place("address"),
        lat=location.get("lat"),
        lon=location.get("lon"),
        free_text=data.get("free_text") is not False,
        accepted_by_source=data.get("accepted") is not False,
    )


# ---------------------------------------------------------------------------------------
# Verdicts and caller history


@dataclass(frozen=True)
class Verdict:
    status: str
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class CallerAppeal:
    order_id: str
    occurred_at_seconds: float
    issue_key: str
    # The verdict it got: an appeal judged again (after a crash) gets the same one, even
    # when the history has moved on since.
    frequent: bool = False


@dataclass(frozen=True)
class CallerHistory:
    """One caller's recent appeals (event time), bounded by the window and a count."""

    appeals: tuple[CallerAppeal, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"appeals": [[a.order_id, a.occurred_at_seconds, a.issue_key, a.frequent] for a in self.appeals]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any] | None) -> "CallerHistory":
        if not value:
            return cls()
        return cls(tuple(CallerAppeal(str(o), float(t), str(k), bool(rest and rest[0])) for o, t, k, *rest in value.get("appeals", [])))


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    caller_history: CallerHistory | None


# ---------------------------------------------------------------------------------------
# Rules


@functools.cache
def _word_segmenter() -> jieba.Tokenizer:
    """jieba's dictionary, loaded once per process (about a second) and kept quiet: its
    progress lines are not the worker's business."""
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def load_word_segmenter() -> None:
    """Load the segmentation dictionary now (at start-up) rather than on the first match."""
    _word_segmenter()


def is_whole_words(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] begins and ends on word boundaries of the segmentation of
    its clause: '着火' in '看着火车站' (看着 / 火车站) does not, '着火' in '楼下着火了' does.

    The dictionary alone decides (no guessing of unknown words), so a run of unknown
    characters splits into single characters and never hides a keyword.
    """
    clause_start, clause_end = _span_around(text, start, end, _CLAUSE_END)
    boundaries = {clause_start}
    position = clause_start
    for word in _word_segmenter().cut(text[clause_start:clause_end], HMM=False):
        position += len(word)
        boundaries.add(position)
    return start in boundaries and end in boundaries


def _span_around(text: str, start: int, end: int, separator: re.Pattern[str]) -> tuple[int, int]:
    """The clause (between separators) that holds text[start:end]."""
    before = [match.end() for match in separator.finditer(text, 0, start)]
    after = separator.search(text, end)
    return (before[-1] if before else 0), (after.start() if after else len(text))


@dataclass(frozen=True)
class KeywordRule:
    """Fires when one match of a pattern counts. A match counts when

    - no exclusion matches in its clause or the clause before ('一旦发生火灾',
      '去年着火后', '没有着火', '经常被困电梯': the same words, but a hazard, a past event,
      a negation, a recurring defect, not something happening);
    - when `require_patterns` are given, one of them matches in its clause too (an
      emergency is happening now: '正在', '快叫救护车', '着火了');
    - when `whole_words`, it starts and ends on word boundaries ('火车', '妈妈的').
    """

    patterns: tuple[re.Pattern[str], ...]
    exclude_patterns: tuple[re.Pattern[str], ...] = ()
    require_patterns: tuple[re.Pattern[str], ...] = ()
    whole_words: bool = False

    def matches(self, text: str) -> bool:
        return any(self._counts(text, match) for pattern in self.patterns for match in pattern.finditer(text))

    def _counts(self, text: str, match: re.Match[str]) -> bool:
        clause_start, clause_end = _span_around(text, match.start(), match.end(), _CLAUSE_END)
        clause = text[clause_start:clause_end]
        # The clause before often sets the scene ('去年八月那次, 车库起火') or names the
        # nuisance ('油烟熏得人头晕, 一开窗就呼吸困难').
        previous_start = _span_around(text, max(clause_start - 1, 0), max(clause_start - 1, 0), _CLAUSE_END)[0]
        context = text[previous_start:clause_end]
        if any(pattern.search(context) for pattern in self.exclude_patterns):
            return False
        if self.require_patterns and not any(pattern.search(clause) for pattern in self.require_patterns):
            return False
        return not self.whole_words or is_whole_words(text, match.start(), match.end())


@dataclass(frozen=True)
class Jurisdiction:
    city: str
    district_names: frozenset[str]
    own_place_pattern: re.Pattern[str]
    other_place_pattern: re.Pattern[str] | None
    source: str = ""
    # As the file writes them, for the start-up log.
    configured_city: str = ""
    configured_districts: tuple[str, ...] = ()
    # Where an appeal's matter is, as the text says it ('在{place}', '{place}...区'); a
    # place named in passing (a caller who moved from there, a company registered there,
    # a hospital once visited) is not. Empty: any mention of another place counts.
    place_frames: tuple[re.Pattern[str], ...] = ()

    def describe(self) -> str:
        """One line for the worker's start-up log."""
        districts = ", ".join(self.configured_districts)
        return f"{self.configured_city} ({len(self.configured_districts)} districts: {districts}) from {self.source}"

    def judges_outside(self, district: str, searchable_text: str) -> bool:
        return not self.covers_district(district) or self.text_is_elsewhere(searchable_text)

    def covers_district(self, district: str) -> bool:
        return not district or district_short_name(district) in self.district_names

    def text_is_elsewhere(self, text: str) -> bool:
        """The text puts its matter in another city or province and names none of ours."""
        if self.other_place_pattern is None or self.own_place_pattern.search(text):
            return False
        if not self.place_frames:
            return self.other_place_pattern.search(text) is not None
        return any(frame.search(text) for frame in self.place_frames)

    def with_place_frames(self, frames: tuple[str, ...]) -> "Jurisdiction":
        """This jurisdiction with place frames, `{place}` standing for any other place."""
        if self.other_place_pattern is None:
            return self
        place = f"(?:{self.other_place_pattern.pattern})"
        return replace(self, place_frames=tuple(re.compile(frame.replace(PLACE_SLOT, place)) for frame in frames))


@dataclass(frozen=True)
class NoContentRule:
    """Structural emptiness: content (letters, digits, CJK) is checked after filler words
    are removed: '喂？喂？听得见吗？……算了。' has no content left."""

    min_content_chars: int
    filler_patterns: tuple[re.Pattern[str], ...]

    def remainder(self, content: str) -> str:
        for pattern in self.filler_patterns:
            content = pattern.sub("", content)
        return content

    def matches(self, remainder: str) -> bool:
        return len(remainder) < self.min_content_chars


@dataclass(frozen=True)
class NonActionableRule:
    """Short content that asks for nothing. Content longer than `max_content_chars` is
    never judged here: long prose is an appeal, whatever its statistics."""

    max_content_chars: int
    min_content_chars: int
    min_distinct_char_ratio: float
    distinct_ratio_min_chars: int
    meaningless_patterns: tuple[re.Pattern[str], ...]
    idle_patterns: tuple[re.Pattern[str], ...]

    def matches(self, content: str, remainder: str) -> bool:
        """`content` as written, `remainder` without filler words."""
        if len(content) > self.max_content_chars:
            return False
        if any(pattern.search(content) for pattern in self.idle_patterns):
            return True
        if len(remainder) < self.min_content_chars:
            return True
        if any(pattern.fullmatch(remainder) for pattern in self.meaningless_patterns):
            return True
        # '哈哈哈哈哈哈哈哈' or a key held down: some length but almost no distinct characters.
        if len(remainder) >= self.distinct_ratio_min_chars:
            return len(set(remainder)) / len(remainder) < self.min_distinct_char_ratio
        return False


@dataclass(frozen=True)
class FrequentCallerRule:
    window_seconds: float
    min_distinct_issues: int
    max_history_entries: int


@dataclass(frozen=True)
class ScreeningRules:
    source: str
    reject_reasons: frozenset[str]
    flag_reasons: frozenset[str]
    # None: no jurisdiction configured, so outside_jurisdiction is never judged (a
    # default city would reject every real export of another one).
    jurisdiction: Jurisdiction | None
    keyword_rules: Mapping[str, KeywordRule]
    no_content: NoContentRule
    non_actionable: NonActionableRule
    frequent_caller: FrequentCallerRule
    category_aliases: Mapping[str, str]
    urgency_aliases: Mapping[str, str]

    def appeal_from_screened(self, event: Mapping[str, Any]) -> Appeal:
        return appeal_from_screened(event, self.category_aliases, self.urgency_aliases)

    def judge(self, appeal: Appeal, caller_history: CallerHistory | None = None) -> Judgement:
        """The verdict on one appeal and the caller's history including it.

        `caller_history` is the caller's state before this appeal (None or empty for a
        new caller); callers that are not recorded (311 imports) get no history.
        """
        return self.judge_caller(appeal, self.content_verdict(appeal), caller_history)

    def content_verdict(self, appeal: Appeal) -> Verdict:
        """The verdict on what the appeal itself says, without the caller's history."""
        searchable = normalize_text(f"{appeal.title} {appeal.text} {appeal.address}")
        reasons: list[str] = []
        if not appeal.accepted_by_source:
            reasons.append(NOT_ACCEPTED_BY_SOURCE)
        content = content_characters(appeal.full_text)
        remainder = self.no_content.remainder(content)
        if self.no_content.matches(remainder):
            reasons.append(NO_CONTENT)
        elif self.non_actionable.matches(content, remainder):
            reasons.append(NON_ACTIONABLE)
        for code in (LITIGATION_OR_ARBITRATION, EMERGENCY_SERVICE):
            if self.keyword_rules[code].matches(searchable):
                reasons.append(code)
        if self.jurisdiction is not None and self.jurisdiction.judges_outside(appeal.district, searchable):
            reasons.append(OUTSIDE_JURISDICTION)
        if self.keyword_rules[ABUSIVE_CONTENT].matches(searchable):
            reasons.append(ABUSIVE_CONTENT)
        return self._verdict(reasons)

    def judge_caller(self, appeal: Appeal, content_verdict: Verdict, caller_history: CallerHistory | None) -> Judgement:
        """`content_verdict` completed with the frequent-caller rule, and the caller's
        history including this appeal (None for an appeal without a caller)."""
        if not appeal.caller_id:
            return Judgement(content_verdict, None)
        history, frequent = self._remember_caller(appeal, caller_history or CallerHistory())
        if not frequent:
            return Judgement(content_verdict, history)
        return Judgement(self._verdict([*content_verdict.reasons, FREQUENT_CALLER]), history)

    def _verdict(self, reasons: list[str]) -> Verdict:
        if any(reason in self.reject_reasons for reason in reasons):
            return Verdict(REJECTED, tuple(reasons))
        if reasons:
            return Verdict(FLAGGED, tuple(reasons))
        return Verdict(ACCEPTED, ())

    def _remember_caller(self, appeal: Appeal, history: CallerHistory) -> tuple[CallerHistory, bool]:
        rule = self.frequent_caller
        issue_key = caller_issue_key(appeal)
        now = appeal.occurred_at_seconds
        judged_before = [a for a in history.appeals if (a.order_id, a.occurred_at_seconds, a.issue_key) == (appeal.order_id, now, issue_key)]
        if judged_before:
            return history, judged_before[0].frequent
        # A re-sent appeal replaces its own earlier record instead of counting twice.
        others = [a for a in history.appeals if a.order_id != appeal.order_id]
        in_window = {a.issue_key for a in others if now - rule.window_seconds <= a.occurred_at_seconds <= now}
        frequent = len(in_window | {issue_key}) >= rule.min_distinct_issues
        newest = max([now, *(a.occurred_at_seconds for a in others)])
        kept = [a for a in others if a.occurred_at_seconds >= newest - rule.window_seconds]
        kept.append(CallerAppeal(appeal.order_id, now, issue_key, frequent))
        kept.sort(key=lambda a: (a.occurred_at_seconds, a.order_id))
        return CallerHistory(tuple(kept[-rule.max_history_entries :])), frequent


def caller_issue_key(appeal: Appeal) -> str:
    """What makes two appeals of one caller 'the same issue' for the frequent-caller
    count: the category at the finest place known. Repeats of one problem do not make a
    frequent caller; many different problems do."""
    place = appeal.address or appeal.community or appeal.street or appeal.district
    return f"{appeal.category}@{place}"


def apply_verdict(screened_event: Mapping[str, Any], verdict: Verdict) -> dict[str, Any]:
    """The screened event with this verdict in place of the screen stage's default."""
    return {**screened_event, "verdict": verdict.to_json()}


def judged_appeal(screened_event: Mapping[str, Any], appeal: Appeal, verdict: Verdict) -> dict[str, Any]:
    """The appeal as it leaves screening: category and urgency in their canonical form
    (downstream counts and policies key on them) and the verdict."""
    data = {**screened_event["data"], "category": appeal.category, "urgency": appeal.urgency}
    return {**screened_event, "data": data, "verdict": verdict.to_json()}


# ---------------------------------------------------------------------------------------
# Building the rules from the tables of screening.toml and jurisdiction.toml


def _compile(pattern: Any, path: Path | str, field: str) -> re.Pattern[str]:
    check(isinstance(pattern, str) and pattern != "", path, field, f"expected a non-empty regular expression, got {pattern!r}")
    try:
        # Patterns match normalised (NFKC, case-folded) text; normalise them the same way.
        return re.compile(unicodedata.normalize("NFKC", pattern).casefold())
    except re.error as error:
        raise ConfigFileError(path, field, f"invalid regular expression {pattern!r}: {error}") from None


def _patterns(table: dict[str, Any], key: str, path: Path | str, prefix: str, required: bool = True) -> tuple[re.Pattern[str], ...]:
    if key not in table and not required:
        return ()
    items = require(table, key, list, path, prefix)
    if required:
        check(len(items) > 0, path, f"{prefix}.{key}", "needs at least one pattern")
    return tuple(_compile(item, path, f"{prefix}.{key}[{index}]") for index, item in enumerate(items))


def _keyword_rule(table: dict[str, Any], path: Path | str, prefix: str) -> KeywordRule:
    whole_words = table.get("whole_words", False)
    check(isinstance(whole_words, bool), path, f"{prefix}.whole_words", f"expected true or false, got {whole_words!r}")
    return KeywordRule(
        _patterns(table, "patterns", path, prefix),
        _patterns(table, "exclude_patterns", path, prefix, required=False),
        _patterns(table, "require_patterns", path, prefix, required=False),
        whole_words,
    )


def _string_list(table: dict[str, Any], key: str, path: Path | str, prefix: str) -> list[str]:
    items = require(table, key, list, path, prefix)
    for index, item in enumerate(items):
        check(isinstance(item, str) and item.strip() != "", path, f"{prefix}.{key}[{index}]", f"expected a non-empty string, got {item!r}")
    return items


def _number(table: dict[str, Any], key: str, path: Path | str, prefix: str, low: float, high: float) -> float:
    value = require(table, key, (int, float), path, prefix)
    check(low <= value <= high, path, f"{prefix}.{key}", f"must be between {low} and {high}, got {value}")
    return value


def _aliases(table: dict[str, Any], key: str, path: Path | str, allowed: tuple[str, ...] | None = None) -> dict[str, str]:
    raw = require(table, key, dict, path, "normalize")
    aliases: dict[str, str] = {}
    for alias, canonical in raw.items():
        field = f"normalize.{key}.{alias}"
        check(isinstance(canonical, str) and canonical.strip() != "", path, field, f"expected a non-empty string, got {canonical!r}")
        if allowed is not None:
            check(canonical in allowed, path, field, f"must be one of {', '.join(allowed)}, got {canonical!r}")
        aliases[normalize_text(alias)] = normalize_text(canonical)
    return aliases


def _jurisdiction(
    table: dict[str, Any], path: Path | str, other_places: list[str], other_place_suffix: str | None
) -> Jurisdiction | None:
    """The [jurisdiction] of jurisdiction.toml, or None when it has none."""
    reject_unknown_keys(table, ("jurisdiction",), path)
    if "jurisdiction" not in table:
        return None
    prefix = "jurisdiction"
    section = require(table, "jurisdiction", dict, path)
    reject_unknown_keys(section, ("city", "province", "districts"), path, prefix)
    city = require(section, "city", str, path, prefix)
    check(city.strip() != "", path, f"{prefix}.city", "must not be empty")
    province = require(section, "province", str, path, prefix) if "province" in section else ""
    districts = _string_list(section, "districts", path, prefix)
    check(len(districts) > 0, path, f"{prefix}.districts", "needs at least one district")
    own_names = {district_short_name(name) for name in (city, province) if name.strip()}
    short_districts = frozenset(district_short_name(name) for name in districts)
    own_names_in_text = sorted(own_names | short_districts, key=len, reverse=True)
    own_pattern = re.compile("|".join(re.escape(name) for name in own_names_in_text))
    other_pattern = None
    # A deployment in one of the listed places does not count its own city as elsewhere.
    other_names = {district_short_name(name) for name in other_places} - own_names
    if other_names and other_place_suffix is not None:
        names = sorted(other_names, key=len, reverse=True)
        other_pattern = re.compile("(?:" + "|".join(re.escape(name) for name in names) + ")" + other_place_suffix)
    return Jurisdiction(district_short_name(city), short_districts, own_pattern, other_pattern, str(path), city, tuple(districts))


_KEYWORD_RULE_KEYS = ("patterns", "exclude_patterns", "require_patterns", "whole_words")
# The settings of each table under [rules].
_RULE_KEYS: Mapping[str, tuple[str, ...]] = {
    **{code: _KEYWORD_RULE_KEYS for code in KEYWORD_REASONS},
    NO_CONTENT: ("min_content_chars", "filler_patterns"),
    NON_ACTIONABLE: (
        "max_content_chars",
        "min_content_chars",
        "min_distinct_char_ratio",
        "distinct_ratio_min_chars",
        "meaningless_patterns",
        "idle_patterns",
    ),
    FREQUENT_CALLER: ("window_seconds", "min_distinct_issues", "max_history_entries"),
    OUTSIDE_JURISDICTION: ("other_places", "other_place_suffix", "place_frames"),
}


def screening_rules_from_table(
    table: dict[str, Any],
    path: Path | str,
    jurisdiction_table: dict[str, Any] | None = None,
    jurisdiction_path: Path | str = "jurisdiction.toml",
) -> ScreeningRules:
    """Validate a parsed screening.toml (and jurisdiction.toml); every problem names the
    file and the field."""
    reject_unknown_keys(table, ("verdict", "rules", "normalize"), path)
    verdict = require(table, "verdict", dict, path)
    reject_unknown_keys(verdict, ("reject", "flag"), path, "verdict")
    reject = _string_list(verdict, "reject", path, "verdict")
    flag = _string_list(verdict, "flag", path, "verdict")
    for key, codes in (("reject", reject), ("flag", flag)):
        for index, code in enumerate(codes):
            check(code in REASON_CODES, path, f"verdict.{key}[{index}]", f"unknown reason {code!r}; known: {', '.join(REASON_CODES)}")
    for code in REASON_CODES:
        listed = (code in reject) + (code in flag)
        check(listed == 1, path, "verdict", f"reason {code!r} must be listed in exactly one of reject, flag (found in {listed})")
    # The callers stage adds it after the orders stage has decided, from the screen
    # stage's verdict, whether the appeal's order waits for a case link.
    check(FREQUENT_CALLER in flag, path, "verdict.flag", f"must list {FREQUENT_CALLER!r}: a frequent caller's appeal is flagged, never rejected")

    rules = require(table, "rules", dict, path)
    reject_unknown_keys(rules, _RULE_KEYS, path, "rules")
    for code, keys in _RULE_KEYS.items():
        reject_unknown_keys(require(rules, code, dict, path, "rules"), keys, path, f"rules.{code}")
    keyword_rules = {code: _keyword_rule(require(rules, code, dict, path, "rules"), path, f"rules.{code}") for code in KEYWORD_REASONS}
    if any(rule.whole_words for rule in keyword_rules.values()):
        load_word_segmenter()

    prefix = f"rules.{NO_CONTENT}"
    no_content_table = require(rules, NO_CONTENT, dict, path, "rules")
    no_content = NoContentRule(
        min_content_chars=int(_number(no_content_table, "min_content_chars", path, prefix, 0, 100)),
        filler_patterns=_patterns(no_content_table, "filler_patterns", path, prefix, required=False),
    )

    prefix = f"rules.{NON_ACTIONABLE}"
    non_actionable_table = require(rules, NON_ACTIONABLE, dict, path, "rules")
    non_actionable = NonActionableRule(
        max_content_chars=int(_number(non_actionable_table, "max_content_chars", path, prefix, 0, 1000)),
        min_content_chars=int(_number(non_actionable_table, "min_content_chars", path, prefix, 0, 1000)),
        min_distinct_char_ratio=_number(non_actionable_table, "min_distinct_char_ratio", path, prefix, 0, 1),
        distinct_ratio_min_chars=int(_number(non_actionable_table, "distinct_ratio_min_chars", path, prefix, 1, 1000)),
        meaningless_patterns=_patterns(non_actionable_table, "meaningless_patterns", path, prefix, required=False),
        idle_patterns=_patterns(non_actionable_table, "idle_patterns", path, prefix, required=False),
    )
    check(
        non_actionable.min_content_chars <= non_actionable.max_content_chars,
        path,
        f"{prefix}.min_content_chars",
        f"must not exceed max_content_chars ({non_actionable.max_content_chars})",
    )

    prefix = f"rules.{FREQUENT_CALLER}"
    frequent_table = require(rules, FREQUENT_CALLER, dict, path, "rules")
    frequent = FrequentCallerRule(
        window_seconds=_number(frequent_table, "window_seconds", path, prefix, 60, 366 * 86400),
        min_distinct_issues=int(_number(frequent_table, "min_distinct_issues", path, prefix, 2, 1000)),
        max_history_entries=int(_number(frequent_table, "max_history_entries", path, prefix, 2, 10000)),
    )
    check(
        frequent.max_history_entries >= frequent.min_distinct_issues,
        path,
        f"{prefix}.max_history_entries",
        "must be at least min_distinct_issues, or the rule could never fire",
    )

    prefix = f"rules.{OUTSIDE_JURISDICTION}"
    outside_table = require(rules, OUTSIDE_JURISDICTION, dict, path, "rules")
    other_places = _string_list(outside_table, "other_places", path, prefix)
    other_place_suffix = None
    if other_places:
        suffix = require(outside_table, "other_place_suffix", str, path, prefix)
        other_place_suffix = _compile(suffix, path, f"{prefix}.other_place_suffix").pattern
    place_frames = _string_list(outside_table, "place_frames", path, prefix)
    for index, frame in enumerate(place_frames):
        field = f"{prefix}.place_frames[{index}]"
        check(PLACE_SLOT in frame, path, field, f"must contain {PLACE_SLOT} where the other place's name goes, got {frame!r}")
        _compile(frame.replace(PLACE_SLOT, "(?:x)"), path, field)
    jurisdiction = _jurisdiction(jurisdiction_table or {}, jurisdiction_path, other_places, other_place_suffix)
    if jurisdiction is not None:
        jurisdiction = jurisdiction.with_place_frames(tuple(unicodedata.normalize("NFKC", frame).casefold() for frame in place_frames))

    normalize = require(table, "normalize", dict, path)
    # The keys under each alias table are the aliases themselves (data, free).
    reject_unknown_keys(normalize, ("category_aliases", "urgency_aliases"), path, "normalize")
    return ScreeningRules(
        source=str(path),
        reject_reasons=frozenset(reject),
        flag_reasons=frozenset(flag),
        jurisdiction=jurisdiction,
        keyword_rules=keyword_rules,
        no_content=no_content,
        non_actionable=non_actionable,
        frequent_caller=frequent,
        category_aliases=_aliases(normalize, "category_aliases", path),
        urgency_aliases=_aliases(normalize, "urgency_aliases", path, ("normal", "urgent", "emergency")),
    )

