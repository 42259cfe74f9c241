"""The escalate stage: escalation proposals of one office partition, in event-time order
-> escalations raised within each receiving office's daily budget, the rest held back
and summarised when the day ends, and an "escalated" office fact for every escalation
raised.

State (one partition's share of the budgets table): "<office id>" → {"budget",
"partition"}, the office's escalations raised and held back per day.

Rules kept here:
- Days that ended at or before a proposal's merge time are closed before it is admitted,
  so its budget is that of its own day and a summary precedes what the next day raises.
- Days are also closed whenever the partition's merge frontier moves on
  (`close_through`): nothing stamped earlier can arrive any more.
- An escalation raised tells the pressure stage, with an office fact at the raising
  office stamped with the merge time of the proposal that raised it.
- A budget is stored after what it raised is sent: a proposal the budget has seen was
  fully published, so admitting it again after a crash rightly does nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from hotline.core import escalation
from hotline.core.ordering import MergeItem
from hotline.core.pressure import OfficeFact
from hotline.core.stages.state import ESCALATIONS, OFFICE_FACTS, Failed, Sent, StateView, Step, handle_each

RAISED = "escalation.raised"


def _instant(at_seconds: float) -> datetime:
    return datetime.fromtimestamp(at_seconds, tz=timezone.utc)


@dataclass
class EscalateStep(Step):
    events: list[dict[str, Any]] = field(default_factory=list)  # escalations raised and summarised, in order
    held_back: list[escalation.Proposal] = field(default_factory=list)  # held back for the day's summary


class EscalatePartition:
    """One partition's offices (those with a stored budget) and the frontier its days
    were last closed at."""

    def __init__(
        self,
        policy: escalation.EscalationPolicy,
        offices: Mapping[str, Mapping[str, Any]],
        partition: int,
        office_ids: Iterable[str] = (),
    ):
        self.policy = policy
        self.offices = offices  # the office registry, for the supervising level of a summary
        self.partition = partition
        self.office_ids: set[str] = set(office_ids)
        self.closed_through_seconds = float("-inf")

    @classmethod
    def from_stored(
        cls, policy: escalation.EscalationPolicy, offices: Mapping[str, Mapping[str, Any]], stored: Iterable[tuple[str, Mapping[str, Any]]]
    ) -> dict[int, "EscalatePartition"]:
        """Every partition's offices from the table's (office id, value) pairs."""
        groups: dict[int, set[str]] = {}
        for office_id, value in stored:
            groups.setdefault(value["partition"], set()).add(office_id)
        return {partition: cls(policy, offices, partition, ids) for partition, ids in groups.items()}

    def handle(self, items: Iterable[MergeItem], view: StateView) -> list[EscalateStep | Failed]:
        """Admit each released item (its payload: a proposal)."""
        return handle_each(items, view, self.admit)

    def admit(self, view: StateView, item: MergeItem) -> EscalateStep:
        proposal = escalation.Proposal.from_dict(item.payload)
        step = EscalateStep()
        self._close_days(view, step, _instant(item.at_seconds))
        before = self._budget(view, proposal.to_office_id)
        raised, budget = escalation.admit(proposal, before, self.policy)
        day = escalation.local_day(proposal.occurred_at).isoformat()
        held_before = len(before.day(day).held_back) if before is not None else 0
        if len(budget.day(day).held_back) > held_before:
            step.held_back.append(proposal)
        for event in raised:
            self._publish(step, event, item.at_seconds)
        self._store(view, step, budget)
        return step

    def close_through(self, view: StateView, frontier_seconds: float | None) -> EscalateStep:
        """Close the days that ended by the merge frontier, once per frontier."""
        step = EscalateStep()
        if frontier_seconds is not None and frontier_seconds > self.closed_through_seconds:
            self.closed_through_seconds = frontier_seconds
            self._close_days(view, step, _instant(frontier_seconds))
        return step

    def _close_days(self, view: StateView, step: EscalateStep, watermark: datetime) -> None:
        for office_id in sorted(self.office_ids):
            budget = self._budget(view, office_id)
            if budget is None or budget.next_close_at is None or budget.next_close_at > watermark:
                continue
            summaries, budget = escalation.close_days(budget, watermark, self.policy, self.offices)
            for summary in summaries:
                self._publish(step, summary)
            self._store(view, step, budget)

    def _publish(self, step: EscalateStep, event: dict[str, Any], merge_at_seconds: float | None = None) -> None:
        step.events.append(event)
        step.sent.append(Sent(ESCALATIONS, event.get("order_id") or event["to_office_id"], event))
        if event["type"] == RAISED:
            fact = OfficeFact(event["from_office_id"], "escalated", datetime.fromisoformat(event["occurred_at"]).timestamp())
            item = MergeItem(merge_at_seconds, f"escalated|{event['caused_by']}", dict(fact.__dict__))
            step.sent.append(Sent(OFFICE_FACTS, fact.office_id, item.to_dict()))

    @staticmethod
    def _budget(view: StateView, office_id: str) -> escalation.OfficeBudget | None:
        stored = view.get(office_id)
        return None if stored is None else escalation.OfficeBudget.from_dict(stored["budget"])

    def _store(self, view: StateView, step: EscalateStep, budget: escalation.OfficeBudget) -> None:
        view.put(step, budget.office_id, {"budget": budget.to_dict(), "partition": self.partition})
        self.office_ids.add(budget.office_id)
