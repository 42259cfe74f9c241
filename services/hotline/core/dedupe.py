"""Repeat and near-duplicate detection: link each appeal to an existing case or open one.

Consumes normalised `Appeal`s (hotline.core.screen_rules) in the order a dedupe worker
sees them, and the thresholds of `config/dedupe.toml`. Produces one `CaseDecision` per
appeal — a `case.opened` or a `case.linked` record of hotline.cases.v1 — and keeps a
bounded index of recent appeals from which repeats are found.

Relations, strongest first:
  exact_resubmission       the same normalised title + text from the same caller, or at
                           the same place (address or community), inside a window
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
"""

from __future__ import annotations

import heapq
import math
import re
import unicodedata
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
from datasketch import MinHash, MinHashLSH

from hotline.configfiles import ConfigFileError, check, config_file, load_toml, require
from hotline.core.ids import derived_event_id
from hotline.core.screen_rules import Appeal, content_characters, district_short_name
from hotline.core.timeutil import format_utc

EXACT_RESUBMISSION = "exact_resubmission"
SAME_CALLER_SAME_ISSUE = "same_caller_same_issue"
OTHER_CALLER_SAME_ISSUE = "other_caller_same_issue"
RELATIONS: tuple[str, ...] = (EXACT_RESUBMISSION, SAME_CALLER_SAME_ISSUE, OTHER_CALLER_SAME_ISSUE)

CASE_OPENED = "case.opened"
CASE_LINKED = "case.linked"

UNKNOWN_PLACE_KEY = "(unknown)"
AREA_LEVELS: tuple[str, ...] = ("community", "street")
DEFAULT_DEDUPE_FILE = "dedupe.toml"

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

    @property
    def horizon_seconds(self) -> float:
        """How long the index remembers an appeal: the longest window."""
        return max(self.exact_window_seconds, self.same_caller.window_seconds, self.other_caller.window_seconds)

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


def load_dedupe_settings(path: Path | str | None = None) -> DedupeSettings:
    path = Path(path) if path is not None else config_file(DEFAULT_DEDUPE_FILE)
    return dedupe_settings_from_table(load_toml(path), path)


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


def dedupe_settings_from_table(table: dict[str, Any], path: Path | str) -> DedupeSettings:
    """Validate a parsed dedupe.toml; every problem names the file and the field."""
    index = require(table, "index", dict, path)
    ngram_sizes = require(index, "ngram_sizes", list, path, "index")
    check(len(ngram_sizes) > 0, path, "index.ngram_sizes", "needs at least one size")
    for position, size in enumerate(ngram_sizes):
        check(
            isinstance(size, int) and not isinstance(size, bool) and 1 <= size <= 8,
            path,
            f"index.ngram_sizes[{position}]",
            f"must be an integer between 1 and 8, got {size!r}",
        )
    linking = require(table, "linking", dict, path)
    skip_verdicts = require(linking, "skip_verdicts", list, path, "linking")
    for position, status in enumerate(skip_verdicts):
        check(
            status in ("accepted", "flagged", "rejected"),
            path,
            f"linking.skip_verdicts[{position}]",
            f"must be accepted, flagged or rejected, got {status!r}",
        )

    exact = require(table, EXACT_RESUBMISSION, dict, path)
    same = require(table, SAME_CALLER_SAME_ISSUE, dict, path)
    other = require(table, OTHER_CALLER_SAME_ISSUE, dict, path)
    resend = require(table, "resend_detection", dict, path)
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
    # Other callers elsewhere in the area are found only through the LSH index: a
    # threshold above the similarity that links them would hide candidates to link.
    check(
        settings.lsh_threshold <= settings.other_caller.same_area_min_similarity_ratio,
        path,
        "index.lsh_threshold",
        f"must not exceed {OTHER_CALLER_SAME_ISSUE}.same_area_min_similarity_ratio ({settings.other_caller.same_area_min_similarity_ratio})",
    )
    return settings


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
            "place_key": self.place_key,
            "caller_id": self.caller_id,
            "category": self.category,
            "street": self.street,
            "community": self.community,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "content": self.content,
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


class _BandIndex:
    """MinHash LSH: appeals whose signatures agree on every row of at least one band are
    candidates. The band and row counts are datasketch's optimum for the threshold; each
    band's rows are folded into one 64-bit key (a collision only adds a candidate, which
    the exact Jaccard check then rejects), so an appeal costs one dict slot per band."""

    def __init__(self, threshold: float, num_perm: int):
        reference = MinHashLSH(threshold=threshold, num_perm=num_perm)
        self.bands, self.rows = reference.b, reference.r
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
        probe = IndexEntry(
            decision=CaseDecision(appeal.caused_by, appeal.order_id, appeal.order_id, appeal.occurred_at_seconds),
            place_key=place_key(appeal),
            caller_id=appeal.caller_id,
            category=appeal.category,
            street=appeal.street,
            community=appeal.community,
            address=appeal.address,
            lat=appeal.lat,
            lon=appeal.lon,
            content=content_characters(f"{appeal.title} {appeal.text}"),
            title=content_characters(appeal.title),
        )
        grams = shingles(probe.content, self.settings.ngram_sizes)
        minhash = self._minhash(grams)
        matches = [match for match in (self._match(probe, grams, entry) for entry in self._candidates(probe, minhash)) if match]
        decision = probe.decision
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
        entries = [self._entries[order_id] for order_id in order_ids]
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
        case_id = entry.decision.case_id
        self._entries_per_case[case_id] = self._entries_per_case.get(case_id, 0) + 1
        heapq.heappush(self._by_age, (entry.occurred_at_seconds, order_id))
        heapq.heappush(self._in_lsh_by_age, (entry.occurred_at_seconds, order_id))

    def _forget(self, order_id: str) -> None:
        entry = self._entries.pop(order_id)
        del self._shingles[order_id]
        self._order_by_cause.pop(entry.decision.caused_by, None)
        self._remove_from_lsh(entry)
        self._by_content.discard((entry.place_key, entry.content), order_id)
        self._by_caller.discard((entry.place_key, entry.caller_id), order_id)
        self._by_address.discard((entry.place_key, entry.address), order_id)
        case_id = entry.decision.case_id
        remaining = self._entries_per_case[case_id] - 1
        if remaining:
            self._entries_per_case[case_id] = remaining
        else:
            del self._entries_per_case[case_id]
