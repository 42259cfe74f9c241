"""Precision and recall of repeat links and unreasonable-appeal flags against a truth file.

Consumes the decisions of an `OfflineRun` and truth records (JSON lines written by the
simulator; only `{"kind": "appeal", ...}` lines count):

  {"kind": "appeal", "order_id": ..., "issue_id": ..., "repeat_of": <order id or null>,
   "relation": "exact_resubmission" | "same_caller_same_issue" | "other_caller_same_issue" | null,
   "unreasonable": bool, "unreasonable_reason": <reason code or null>}

Produces a `Scores` value. A predicted link of order A to earlier order B is correct
when A and B belong to the same true issue; a true repeat is recalled when it got a
correct link. Link rows are grouped by the true relation of A ("none" collects links of
appeals that truly repeat nothing, so every false link is counted somewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from hotline.core.dedupe import RELATIONS
from hotline.core.screen_rules import REASON_CODES
from hotline.evaluation.pipeline import OfflineRun

NOT_A_REPEAT = "none"
ANY_REASON = "any"


@dataclass(frozen=True)
class TruthAppeal:
    order_id: str
    issue_id: str
    repeat_of: str | None
    relation: str | None
    unreasonable: bool
    unreasonable_reason: str | None


def read_truth(records: Iterable[Mapping[str, Any]]) -> dict[str, TruthAppeal]:
    truth: dict[str, TruthAppeal] = {}
    for record in records:
        if record.get("kind") != "appeal":
            continue
        truth[record["order_id"]] = TruthAppeal(
            order_id=record["order_id"],
            issue_id=str(record["issue_id"]),
            repeat_of=record.get("repeat_of"),
            relation=record.get("relation"),
            unreasonable=bool(record.get("unreasonable")),
            unreasonable_reason=record.get("unreasonable_reason"),
        )
    return truth


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class LinkRow:
    relation: str
    truth_repeats: int
    recalled: int
    predicted_links: int
    correct_links: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct_links, self.predicted_links)

    @property
    def recall(self) -> float | None:
        return _ratio(self.recalled, self.truth_repeats)


@dataclass(frozen=True)
class FlagRow:
    reason: str
    truth_count: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.predicted)

    @property
    def recall(self) -> float | None:
        return _ratio(self.correct, self.truth_count)


@dataclass(frozen=True)
class Scores:
    links: tuple[LinkRow, ...]
    overall_links: LinkRow
    flags: tuple[FlagRow, ...]
    appeals_scored: int
    appeals_without_truth: int

    def to_json(self) -> dict[str, Any]:
        def link(row: LinkRow) -> dict[str, Any]:
            return {
                "relation": row.relation,
                "truth_repeats": row.truth_repeats,
                "recalled": row.recalled,
                "recall": row.recall,
                "predicted_links": row.predicted_links,
                "correct_links": row.correct_links,
                "precision": row.precision,
            }

        return {
            "appeals_scored": self.appeals_scored,
            "appeals_without_truth": self.appeals_without_truth,
            "links": [link(row) for row in self.links],
            "links_overall": link(self.overall_links),
            "flags": [
                {
                    "reason": row.reason,
                    "truth": row.truth_count,
                    "predicted": row.predicted,
                    "correct": row.correct,
                    "precision": row.precision,
                    "recall": row.recall,
                }
                for row in self.flags
            ],
        }


def score(run: OfflineRun, truth: Mapping[str, TruthAppeal]) -> Scores:
    scored = [order_id for order_id in run.verdicts if order_id in truth]
    link_counts = {relation: [0, 0, 0, 0] for relation in (*RELATIONS, NOT_A_REPEAT)}
    for order_id in scored:
        expected = truth[order_id]
        row = link_counts[expected.relation if expected.repeat_of else NOT_A_REPEAT]
        decision = run.decisions.get(order_id)
        matched = truth.get(decision.matched_order_id) if decision and decision.matched_order_id else None
        correct = matched is not None and matched.issue_id == expected.issue_id
        if expected.repeat_of:
            row[0] += 1
            row[1] += correct
        if decision is not None and decision.matched_order_id:
            row[2] += 1
            row[3] += correct
    links = tuple(LinkRow(relation, *counts) for relation, counts in link_counts.items())
    overall = LinkRow("overall", *(sum(row[i] for row in link_counts.values()) for i in range(4)))

    flags = []
    for reason in (*REASON_CODES, ANY_REASON):
        truth_count = predicted = correct = 0
        for order_id in scored:
            expected = truth[order_id]
            reasons = run.verdicts[order_id].reasons
            if reason == ANY_REASON:
                is_true, is_predicted = expected.unreasonable, bool(reasons)
            else:
                is_true, is_predicted = expected.unreasonable_reason == reason, reason in reasons
            truth_count += is_true
            predicted += is_predicted
            correct += is_true and is_predicted
        flags.append(FlagRow(reason, truth_count, predicted, correct))
    return Scores(links, overall, tuple(flags), len(scored), len(run.verdicts) - len(scored))
