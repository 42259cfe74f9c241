"""Score an offline run of any imported events file against labels of real links.

Consumes label files (data/labels/*.csv: a header `order_id,earlier_order_id,label`,
'#' comment lines allowed before it; label `duplicate` or `not_duplicate`, the earlier
id may be empty) and the verdicts and case decisions of an `OfflineRun`. Produces a
`LabelScores` value: verdict counts, link counts per relation, the precision of the links
a label can judge, the recall of labelled duplicates, the verdicts of labelled appeals,
and a few examples of each kind of error (ids and figures only).

A link A -> B (B: the earlier order the decision matched) reaches the orders of B's case:
B, the decision's earlier order ids and every order of the same case. The link is
  correct  when a label says A duplicate of one of those orders, or A duplicate without
           a named original (and no label says A not_duplicate of B);
  wrong    when a label says (A, B) not_duplicate, or A not_duplicate with no earlier id
           (the source handled A as a case of its own; counted also as `wrong_own_case`,
           since a source may handle a repeat as a case of its own);
  unjudged otherwise (counted apart; `other_original` counts those whose label names an
           original outside the case).
A labelled duplicate pair (A, X) whose orders are both appeals of the events file is
recalled when A was linked and X is among the orders its link reaches (also counted
per appeal: recalled when one of its labelled originals is reached). Duplicates
without a named original, and those whose original is not in the events file, are
counted apart: how many were linked at all.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from hotline.core.dedupe import RELATIONS, CaseDecision
from hotline.core.screen_rules import REASON_CODES
from hotline.evaluation.pipeline import OfflineRun

DUPLICATE = "duplicate"
NOT_DUPLICATE = "not_duplicate"
LABEL_COLUMNS = ("order_id", "earlier_order_id", "label")
VERDICT_STATUSES = ("accepted", "flagged", "rejected")
NAMED_ORIGINAL = "named original"
NO_NAMED_ORIGINAL = "original not named"
ORIGINAL_NOT_IN_EVENTS = "original not in the events"
APPEALS_WITH_NAMED_ORIGINALS = "appeals with named originals"
OWN_CASE = "own case"
OWN_CASE_WHY = "labelled a case of its own"


class LabelFileError(ValueError):
    """A label file that does not follow the format; the message names file and line."""


@dataclass(frozen=True)
class Label:
    order_id: str
    earlier_order_id: str | None
    duplicate: bool


def read_labels(text: str, source: str) -> list[Label]:
    """Labels from the text of one label file; `source` names it in errors."""
    lines = text.splitlines()
    first = 0
    while first < len(lines) and (not lines[first].strip() or lines[first].lstrip().startswith("#")):
        first += 1
    if first == len(lines):
        raise LabelFileError(f"{source}: no header line {','.join(LABEL_COLUMNS)}")
    rows = csv.reader(io.StringIO("\n".join(lines[first:])))
    header = tuple(column.strip() for column in next(rows))
    if header != LABEL_COLUMNS:
        raise LabelFileError(f"{source}:{first + 1}: header must be {','.join(LABEL_COLUMNS)}, got {','.join(header)}")
    labels: list[Label] = []
    for offset, row in enumerate(rows, start=first + 2):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise LabelFileError(f"{source}:{offset}: expected 3 columns, got {len(row)}")
        order_id, earlier, label = (cell.strip() for cell in row)
        if not order_id:
            raise LabelFileError(f"{source}:{offset}: order_id is empty")
        if label not in (DUPLICATE, NOT_DUPLICATE):
            raise LabelFileError(f"{source}:{offset}: label must be {DUPLICATE} or {NOT_DUPLICATE}, got {label!r}")
        if earlier == order_id:
            raise LabelFileError(f"{source}:{offset}: an order cannot be labelled against itself ({order_id})")
        labels.append(Label(order_id, earlier or None, label == DUPLICATE))
    return labels


def read_label_file(path: Path | str) -> list[Label]:
    return read_labels(Path(path).read_text(encoding="utf-8-sig"), str(path))


@dataclass
class Labels:
    """Labels of one or more files, indexed for scoring. Two labels that contradict
    each other (the same pair or the same lone order, once duplicate and once not) are
    an error: a score against them would depend on file order."""

    pairs: dict[tuple[str, str], bool] = field(default_factory=dict)
    duplicate_of: dict[str, list[str]] = field(default_factory=dict)
    unnamed_duplicates: list[str] = field(default_factory=list)
    own_cases: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, labels: Iterable[Label]) -> "Labels":
        indexed = cls()
        lone: dict[str, bool] = {}
        for label in labels:
            if label.earlier_order_id is None:
                known = lone.setdefault(label.order_id, label.duplicate)
                if known != label.duplicate:
                    raise LabelFileError(f"order {label.order_id} is labelled both {DUPLICATE} and {NOT_DUPLICATE} without an earlier order")
                continue
            key = (label.order_id, label.earlier_order_id)
            known = indexed.pairs.setdefault(key, label.duplicate)
            if known != label.duplicate:
                raise LabelFileError(f"pair {key[0]},{key[1]} is labelled both {DUPLICATE} and {NOT_DUPLICATE}")
        for (order_id, earlier), duplicate in indexed.pairs.items():
            if duplicate:
                indexed.duplicate_of.setdefault(order_id, []).append(earlier)
        indexed.unnamed_duplicates = [order for order, duplicate in lone.items() if duplicate]
        indexed.own_cases = [order for order, duplicate in lone.items() if not duplicate]
        return indexed

    @property
    def count(self) -> int:
        return len(self.pairs) + len(self.unnamed_duplicates) + len(self.own_cases)


# ---------------------------------------------------------------------------------------
# Scores


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass
class PrecisionRow:
    relation: str
    links: int = 0
    correct: int = 0
    wrong: int = 0
    wrong_own_case: int = 0
    other_original: int = 0

    @property
    def judged(self) -> int:
        return self.correct + self.wrong

    @property
    def unjudged(self) -> int:
        return self.links - self.judged

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.judged)

    def to_json(self) -> dict[str, Any]:
        return {
            "relation": self.relation,
            "links": self.links,
            "judged": self.judged,
            "correct": self.correct,
            "wrong": self.wrong,
            "wrong_own_case": self.wrong_own_case,
            "unjudged": self.unjudged,
            "unjudged_other_original": self.other_original,
            "precision": self.precision,
        }


@dataclass
class RecallRow:
    group: str
    labelled: int = 0
    in_events: int = 0
    recalled: int = 0

    @property
    def recall(self) -> float | None:
        return _ratio(self.recalled, self.in_events)

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "labelled": self.labelled, "in_events": self.in_events, "recalled": self.recalled, "recall": self.recall}


@dataclass
class LabelledVerdictRow:
    """The verdicts of appeals whose label says the source acted on them: as a case of
    their own, or as a duplicate. Rejecting either is an error; flagging is shown apart."""

    group: str
    accepted: int = 0
    flagged: int = 0
    rejected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "accepted": self.accepted, "flagged": self.flagged, "rejected": self.rejected}


@dataclass(frozen=True)
class FalseLink:
    order_id: str
    earlier_order_id: str
    relation: str
    similarity: float | None
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "earlier_order_id": self.earlier_order_id, "relation": self.relation, "similarity": self.similarity, "why": self.why}


@dataclass(frozen=True)
class MissedDuplicate:
    order_id: str
    earlier_order_id: str | None
    outcome: str

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "earlier_order_id": self.earlier_order_id, "outcome": self.outcome}


@dataclass(frozen=True)
class WrongVerdict:
    order_id: str
    group: str
    status: str
    reasons: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "group": self.group, "status": self.status, "reasons": list(self.reasons)}


@dataclass
class LabelScores:
    appeals: int
    statuses: dict[str, int]
    reasons: dict[str, int]
    link_counts: dict[str, int]
    labels: int = 0
    labels_about_orders_not_in_events: int = 0
    precision: tuple[PrecisionRow, ...] = ()
    overall_precision: PrecisionRow | None = None
    recall: tuple[RecallRow, ...] = ()
    labelled_verdicts: tuple[LabelledVerdictRow, ...] = ()
    false_links: tuple[FalseLink, ...] = ()
    missed_duplicates: tuple[MissedDuplicate, ...] = ()
    wrong_verdicts: tuple[WrongVerdict, ...] = ()

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "appeals": self.appeals,
            "verdicts_by_status": self.statuses,
            "verdicts_by_reason": self.reasons,
            "links_by_relation": self.link_counts,
        }
        if self.overall_precision is None:
            return document
        return {
            **document,
            "labels": self.labels,
            "labels_about_orders_not_in_events": self.labels_about_orders_not_in_events,
            "precision": [row.to_json() for row in self.precision],
            "precision_overall": self.overall_precision.to_json(),
            "recall": [row.to_json() for row in self.recall],
            "labelled_verdicts": [row.to_json() for row in self.labelled_verdicts],
            "examples": {
                "false_links": [example.to_json() for example in self.false_links],
                "missed_duplicates": [example.to_json() for example in self.missed_duplicates],
                "wrong_verdicts": [example.to_json() for example in self.wrong_verdicts],
            },
        }


def _reach(decision: CaseDecision, case_members: Mapping[str, set[str]]) -> set[str]:
    """The orders a link reaches: the matched order, the decision's earlier orders and
    every order of the case (the appeal itself excluded)."""
    reached = {decision.matched_order_id or "", *decision.earlier_order_ids, *case_members.get(decision.case_id, ())}
    reached.discard("")
    reached.discard(decision.order_id)
    return reached


def _judge(decision: CaseDecision, reached: set[str], labels: Labels) -> tuple[bool | None, str]:
    """(True, why) correct, (False, why) wrong, (None, why) unjudged; the label on the
    named pair decides first, as it is the most specific."""
    order_id, matched = decision.order_id, decision.matched_order_id or ""
    pair = labels.pairs.get((order_id, matched))
    if pair is not None:
        return pair, f"labelled {DUPLICATE if pair else NOT_DUPLICATE} of {matched}"
    originals = labels.duplicate_of.get(order_id, [])
    if any(original in reached for original in originals):
        return True, "labelled duplicate of an order of the case"
    if order_id in labels.unnamed_duplicates:
        return True, "labelled duplicate, original not named"
    if order_id in labels.own_cases:
        return False, OWN_CASE_WHY
    if originals:
        return None, "labelled duplicate of an order outside the case"
    return None, "no label"


def score_with_labels(run: OfflineRun, labels: Labels | None, examples: int = 5) -> LabelScores:
    """The figures of one run; without labels only the counts of what the run did."""
    statuses = {status: 0 for status in VERDICT_STATUSES}
    reasons = {reason: 0 for reason in REASON_CODES}
    for verdict in run.verdicts.values():
        statuses[verdict.status] = statuses.get(verdict.status, 0) + 1
        for reason in verdict.reasons:
            reasons[reason] = reasons.get(reason, 0) + 1
    link_counts = {relation: 0 for relation in RELATIONS}
    for decision in run.decisions.values():
        if decision.relation:
            link_counts[decision.relation] = link_counts.get(decision.relation, 0) + 1
    scores = LabelScores(run.appeals, statuses, reasons, link_counts)
    if labels is None:
        return scores

    case_members: dict[str, set[str]] = {}
    for decision in run.decisions.values():
        case_members.setdefault(decision.case_id, set()).add(decision.order_id)
    reach = {order_id: _reach(decision, case_members) for order_id, decision in run.decisions.items() if decision.relation}

    rows = {relation: PrecisionRow(relation) for relation in link_counts}
    false_links: list[FalseLink] = []
    for order_id, decision in run.decisions.items():
        if not decision.relation:
            continue
        row = rows[decision.relation]
        row.links += 1
        correct, why = _judge(decision, reach[order_id], labels)
        if correct is True:
            row.correct += 1
        elif correct is False:
            row.wrong += 1
            row.wrong_own_case += why == OWN_CASE_WHY
            false_links.append(FalseLink(order_id, decision.matched_order_id or "", decision.relation, decision.similarity_ratio, why))
        elif labels.duplicate_of.get(order_id):
            row.other_original += 1
    overall = PrecisionRow("overall")
    for row in rows.values():
        overall.links += row.links
        overall.correct += row.correct
        overall.wrong += row.wrong
        overall.wrong_own_case += row.wrong_own_case
        overall.other_original += row.other_original

    named = RecallRow(NAMED_ORIGINAL)
    unnamed = RecallRow(NO_NAMED_ORIGINAL)
    # Pair labels of a caller's every earlier message count a long series many times; per
    # appeal, one labelled original in the case it joined is enough.
    per_appeal = RecallRow(APPEALS_WITH_NAMED_ORIGINALS)
    # A sample of an export rarely holds the original a duplicate names; whether such a
    # duplicate was linked at all still says something.
    absent = RecallRow(ORIGINAL_NOT_IN_EVENTS)
    missed: list[MissedDuplicate] = []

    def outcome(order_id: str) -> str:
        decision = run.decisions.get(order_id)
        if decision is None:
            verdict = run.verdicts[order_id]
            return f"{verdict.status} ({', '.join(verdict.reasons)})"
        if decision.relation:
            return f"linked to {decision.matched_order_id} (case {decision.case_id}, {decision.relation})"
        return "opened a case of its own"

    for (order_id, earlier), duplicate in labels.pairs.items():
        if not duplicate:
            continue
        named.labelled += 1
        if order_id not in run.verdicts:
            continue
        if earlier not in run.verdicts:
            absent.labelled += 1
            absent.in_events += 1
            absent.recalled += order_id in reach
            continue
        named.in_events += 1
        if earlier in reach.get(order_id, ()):
            named.recalled += 1
        else:
            missed.append(MissedDuplicate(order_id, earlier, outcome(order_id)))
    for order_id, originals in labels.duplicate_of.items():
        present = [original for original in originals if original in run.verdicts]
        per_appeal.labelled += 1
        if order_id not in run.verdicts or not present:
            continue
        per_appeal.in_events += 1
        per_appeal.recalled += any(original in reach.get(order_id, ()) for original in present)
    for order_id in labels.unnamed_duplicates:
        unnamed.labelled += 1
        if order_id not in run.verdicts:
            continue
        unnamed.in_events += 1
        if order_id in reach:
            unnamed.recalled += 1
        else:
            missed.append(MissedDuplicate(order_id, None, outcome(order_id)))

    verdict_rows = {OWN_CASE: LabelledVerdictRow(OWN_CASE), DUPLICATE: LabelledVerdictRow(DUPLICATE)}
    wrong_verdicts: list[WrongVerdict] = []
    duplicates = {*labels.duplicate_of, *labels.unnamed_duplicates}
    for order_id, verdict in run.verdicts.items():
        group = OWN_CASE if order_id in labels.own_cases else DUPLICATE if order_id in duplicates else None
        if group is None:
            continue
        row = verdict_rows[group]
        setattr(row, verdict.status, getattr(row, verdict.status) + 1)
        if verdict.status != "accepted":
            wrong_verdicts.append(WrongVerdict(order_id, group, verdict.status, verdict.reasons))

    scores.labels = labels.count
    scores.labels_about_orders_not_in_events = sum(
        1 for (order_id, earlier) in labels.pairs if order_id not in run.verdicts or earlier not in run.verdicts
    ) + sum(1 for order_id in (*labels.unnamed_duplicates, *labels.own_cases) if order_id not in run.verdicts)
    scores.precision = tuple(rows.values())
    scores.overall_precision = overall
    scores.recall = (named, per_appeal, unnamed, absent)
    scores.labelled_verdicts = tuple(verdict_rows.values())
    scores.false_links = tuple(false_links[:examples])
    scores.missed_duplicates = tuple(missed[:examples])
    # Rejections first: they cost an order, a flag only a second look.
    wrong_verdicts.sort(key=lambda example: example.status != "rejected")
    scores.wrong_verdicts = tuple(wrong_verdicts[:examples])
    return scores


def label_counts(labels: Labels) -> Counter:
    """How many labels of each kind, for a summary line."""
    return Counter(
        {
            "duplicate pairs": sum(labels.pairs.values()),
            "not_duplicate pairs": sum(1 for duplicate in labels.pairs.values() if not duplicate),
            "duplicates, original not named": len(labels.unnamed_duplicates),
            "own cases": len(labels.own_cases),
        }
    )
