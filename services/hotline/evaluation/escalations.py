"""Score the escalations of an offline run against the simulator's ground truth.

Consumes an `OrdersRun` (hotline.evaluation.orders_pipeline) and the truth file's
`kind: "order"` records (docs/simulator.md: `expected_escalations` per special order,
before any damping). Produces `EscalationScores`: per reason, how many truth orders
expect it, how many got it (raised, or held back by a daily budget: the escalation was
admitted by the order's rules and counted in that day's escalation.summarised), how many
had it damped by the order's own rules (ladder exhausted, flagged appeal), precision
and recall; and `DampingFigures`, the limits the damping promises (at most one
escalation per order and level, at most `daily_budget_per_office` raised per receiving
office and local day) as measured.

Per order, an expected reason is found (raised or held back), damped by the order's
own rules (with the damping code: the ladder was exhausted, a flagged appeal, ...), or
missing. `orders_matching` counts the truth orders whose expected reasons are exactly
the found and damped ones together.

Scored universe: only the orders with a truth record. The simulator writes records for
special orders (ping-pong, rush closures) only, so an escalation of any other order is
neither right nor wrong here; those are counted per reason as `unscored`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from hotline.core.escalation import REASONS, local_day
from hotline.core.timeutil import parse_rfc3339
from hotline.evaluation.orders_pipeline import OrdersRun


def read_expected_escalations(records: Iterable[Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """order_id -> expected reasons, from the truth's `kind: "order"` records."""
    return {record["order_id"]: tuple(record["expected_escalations"]) for record in records if record.get("kind") == "order"}


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


@dataclass(frozen=True)
class ReasonScore:
    reason: str
    expected: int
    found: int
    correct: int
    raised: int
    held_back: int
    damped: int
    unscored: int

    @property
    def precision(self) -> float | None:
        return _ratio(self.correct, self.found)

    @property
    def recall(self) -> float | None:
        return _ratio(self.correct, self.expected)

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "expected": self.expected,
            "found": self.found,
            "correct": self.correct,
            "raised": self.raised,
            "held_back": self.held_back,
            "damped": self.damped,
            "unscored": self.unscored,
            "precision": self.precision,
            "recall": self.recall,
        }


@dataclass(frozen=True)
class DampingFigures:
    raised: int
    held_back: int
    summaries: int
    summarised_count: int
    damped: tuple[tuple[str, int], ...]
    max_raised_per_order_level: int
    max_raised_per_office_day: int
    daily_budget_per_office: int | None

    @property
    def within_limits(self) -> bool:
        budget_kept = self.daily_budget_per_office is None or self.max_raised_per_office_day <= self.daily_budget_per_office
        return self.max_raised_per_order_level <= 1 and budget_kept

    def to_json(self) -> dict[str, Any]:
        return {
            "raised": self.raised,
            "held_back": self.held_back,
            "summaries": self.summaries,
            "summarised_count": self.summarised_count,
            "damped": dict(self.damped),
            "max_raised_per_order_level": self.max_raised_per_order_level,
            "max_raised_per_office_day": self.max_raised_per_office_day,
            "daily_budget_per_office": self.daily_budget_per_office,
            "within_limits": self.within_limits,
        }


@dataclass(frozen=True)
class EscalationScores:
    reasons: tuple[ReasonScore, ...]
    overall: ReasonScore
    orders_scored: int
    orders_matching: int
    missing: tuple[tuple[str, str], ...]
    unexpected: tuple[tuple[str, str], ...]
    damped_expected: tuple[tuple[str, str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "reasons": [score.to_json() for score in self.reasons],
            "overall": self.overall.to_json(),
            "orders_scored": self.orders_scored,
            "orders_matching": self.orders_matching,
            "missing": [list(pair) for pair in self.missing],
            "unexpected": [list(pair) for pair in self.unexpected],
            "damped_expected": [list(triple) for triple in self.damped_expected],
        }


def found_reasons(run: OrdersRun) -> dict[str, dict[str, str]]:
    """order_id -> {reason: "raised" | "held_back"} for every escalation the order's rules admitted."""
    found: dict[str, dict[str, str]] = {}
    for event in run.raised:
        found.setdefault(event["order_id"], {})[event["reason"]] = "raised"
    for held in run.held_back:
        found.setdefault(held.proposal.order_id, {}).setdefault(held.proposal.reason, "held_back")
    return found


def score_escalations(run: OrdersRun, expected_by_order: Mapping[str, tuple[str, ...]]) -> EscalationScores:
    found = found_reasons(run)
    damping_of = {(order_id, damped.reason): damped.damping for order_id, damped in run.damped}
    rows = []
    for reason in REASONS:
        expected = {order_id for order_id, reasons in expected_by_order.items() if reason in reasons}
        got = {order_id: how[reason] for order_id, how in found.items() if reason in how}
        scored = {order_id: how for order_id, how in got.items() if order_id in expected_by_order}
        rows.append(
            ReasonScore(
                reason=reason,
                expected=len(expected),
                found=len(scored),
                correct=len(expected & set(scored)),
                raised=sum(1 for how in scored.values() if how == "raised"),
                held_back=sum(1 for how in scored.values() if how == "held_back"),
                damped=sum(1 for order_id in expected_by_order if (order_id, reason) in damping_of and order_id not in got),
                unscored=len(got) - len(scored),
            )
        )
    overall = ReasonScore("all", *(sum(getattr(row, name) for row in rows) for name in ("expected", "found", "correct", "raised", "held_back", "damped", "unscored")))
    missing, unexpected, damped_expected, matching = [], [], [], 0
    for order_id in sorted(expected_by_order):
        want = set(expected_by_order[order_id])
        got_reasons = set(found.get(order_id, {}))
        damped_reasons = {reason for reason in want - got_reasons if (order_id, reason) in damping_of}
        damped_expected.extend((order_id, reason, damping_of[(order_id, reason)]) for reason in sorted(damped_reasons))
        missing.extend((order_id, reason) for reason in sorted(want - got_reasons - damped_reasons))
        unexpected.extend((order_id, reason) for reason in sorted(got_reasons - want))
        matching += want == got_reasons | damped_reasons
    return EscalationScores(
        tuple(rows), overall, len(expected_by_order), matching, tuple(missing), tuple(unexpected), tuple(damped_expected)
    )


def damping_figures(run: OrdersRun, daily_budget_per_office: int | None) -> DampingFigures:
    per_order_level = Counter((event["order_id"], event["to_level"]) for event in run.raised)
    per_office_day = Counter((event["to_office_id"], local_day(parse_rfc3339(event["occurred_at"]))) for event in run.raised)
    damped = Counter(damped.damping for _, damped in run.damped)
    return DampingFigures(
        raised=len(run.raised),
        held_back=len(run.held_back),
        summaries=len(run.summaries),
        summarised_count=sum(event["count"] for event in run.summaries),
        damped=tuple(sorted(damped.items())),
        max_raised_per_order_level=max(per_order_level.values(), default=0),
        max_raised_per_office_day=max(per_office_day.values(), default=0),
        daily_budget_per_office=daily_budget_per_office,
    )
