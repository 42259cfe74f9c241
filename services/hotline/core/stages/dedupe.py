"""The dedupe stage: appeals of one place partition, in event-time order -> a case link
or a new case each, and the index entries and case repeat counts that remember them.

State (one partition's share of the dedupe table): "entry|<order id>" → {"entry",
"partition", "repeat_count"}, an appeal's index entry, which rebuilds the in-memory
MinHash index; "case|<case id>" → {"repeat_count", "counted_order_id", "partition"}, how
many appeals repeated a case still in the index, and the last one counted.

Rules kept here: a link carries the appeal's final verdict and its case's repeat count;
an appeal handled again (released again after a crash) sends what it sent the first
time and stores nothing; the index forgets appeals older than the window as the
partition's event time moves on, and a case none of whose appeals is remembered any
more forgets its count, since it can never be linked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from hotline.core import dedupe
from hotline.core.screen_rules import ScreeningRules
from hotline.core.stages.state import CASES, Failed, Sent, StateView, Step, handle_each


def entry_key(order_id: str) -> str:
    return f"entry|{order_id}"


def case_key(case_id: str) -> str:
    return f"case|{case_id}"


@dataclass
class LinkStep(Step):
    decision: dedupe.CaseDecision | None = None
    counted_relation: str | None = None  # the relation of a repeat counted for the first time


class DedupePartition:
    """One partition's index, rebuilt from its stored entries, and its event time."""

    def __init__(self, rules: ScreeningRules, settings: dedupe.DedupeSettings, partition: int, entries: Iterable[Mapping[str, Any]] = ()):
        self.rules = rules
        self.settings = settings
        self.partition = partition
        self.index = dedupe.CaseIndex.from_entries(settings, entries)
        self.watermark_seconds = float("-inf")

    @classmethod
    def from_stored(
        cls, rules: ScreeningRules, settings: dedupe.DedupeSettings, stored: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> dict[int, "DedupePartition"]:
        """Every partition's index from the table's (key, value) pairs (other keys ignored)."""
        entries: dict[int, list] = {}
        for key, value in stored:
            if key.startswith("entry|"):
                entries.setdefault(value["partition"], []).append(value["entry"])
        return {partition: cls(rules, settings, partition, values) for partition, values in entries.items()}

    def handle(self, appeals: Iterable[Mapping[str, Any]], view: StateView) -> list[LinkStep | Failed]:
        """Link each judged appeal (a screened event carrying its final verdict)."""
        return handle_each(appeals, view, self.link)

    def link(self, view: StateView, judged: Mapping[str, Any]) -> LinkStep:
        appeal = self.rules.appeal_from_screened(judged)
        step = LinkStep()
        stored = view.get(entry_key(appeal.order_id))
        decision = step.decision = self.index.link(appeal)
        case_count = view.get(case_key(decision.case_id)) if decision.relation is not None else None
        repeat_count = dedupe.repeat_count_of(decision, stored, case_count)
        step.sent.append(Sent(CASES, decision.order_id, decision.to_event(repeat_count, judged["verdict"])))
        if stored is None:
            if decision.relation is not None:
                case_value = {"repeat_count": repeat_count, "counted_order_id": appeal.order_id, "partition": self.partition}
                view.put(step, case_key(decision.case_id), case_value)
                step.counted_relation = decision.relation
            entry = {"entry": self.index.entry(appeal.order_id).to_json(), "partition": self.partition, "repeat_count": repeat_count}
            view.put(step, entry_key(appeal.order_id), entry)
        if appeal.occurred_at_seconds > self.watermark_seconds:
            self.watermark_seconds = appeal.occurred_at_seconds
            for order_id in self.index.purge(appeal.occurred_at_seconds):
                forgotten = view.pop(step, entry_key(order_id))
                if forgotten is not None and not self.index.has_case(forgotten["entry"]["case_id"]):
                    view.pop(step, case_key(forgotten["entry"]["case_id"]))
        return step
