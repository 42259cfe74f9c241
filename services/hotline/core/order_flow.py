"""One order's whole reaction to what happens to it: the composition of the order fold,
its deadline clocks, escalation proposals and the office facts for the pressure tables.

Consumes screened events, case links and event-time watermarks for one order. Produces a
new `OrderRecord` (the value of the orders table) and an `OrderStep` with everything to
publish: deadline events, escalation proposals (for the receiving office's budget),
damped escalations (counted only) and office facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from hotline.core import escalation, orders
from hotline.core.deadlines import DeadlineState, DeadlineTracker
from hotline.core.office_facts import OfficeMarks, office_facts
from hotline.core.pressure import OfficeFact
from hotline.core.timeutil import parse_rfc3339


@dataclass(frozen=True)
class OrderRecord:
    order: orders.OrderState
    deadlines: DeadlineState | None = None
    escalations: escalation.OrderEscalations | None = None
    marks: OfficeMarks | None = None
    repeat_count: int | None = None

    @property
    def next_check_at(self) -> datetime | None:
        return None if self.deadlines is None else self.deadlines.next_check_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order.to_dict(),
            "deadlines": None if self.deadlines is None else self.deadlines.to_dict(),
            "escalations": None if self.escalations is None else self.escalations.to_dict(),
            "marks": None if self.marks is None else self.marks.to_dict(),
            "repeat_count": self.repeat_count,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OrderRecord":
        return cls(
            order=orders.OrderState.from_dict(raw["order"]),
            deadlines=None if raw["deadlines"] is None else DeadlineState.from_dict(raw["deadlines"]),
            escalations=None if raw["escalations"] is None else escalation.OrderEscalations.from_dict(raw["escalations"]),
            marks=None if raw["marks"] is None else OfficeMarks.from_dict(raw["marks"]),
            repeat_count=raw.get("repeat_count"),
        )


@dataclass(frozen=True)
class OrderStep:
    record: OrderRecord | None
    duplicate: bool = False
    deadline_events: tuple[dict[str, Any], ...] = ()
    proposals: tuple[escalation.Proposal, ...] = ()
    damped: tuple[escalation.Damped, ...] = ()
    facts: tuple[OfficeFact, ...] = ()


@dataclass(frozen=True)
class OrderRules:
    tracker: DeadlineTracker
    escalation_policy: escalation.EscalationPolicy
    offices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _escalate(
    record: OrderRecord, triggers: list[escalation.Trigger], rules: OrderRules
) -> tuple[OrderRecord, tuple[escalation.Proposal, ...], tuple[escalation.Damped, ...]]:
    proposals, damped = [], []
    escalations = record.escalations
    for trigger in triggers:
        outcome, escalations = escalation.propose(record.order, trigger, rules.offices, escalations, rules.escalation_policy)
        (proposals if isinstance(outcome, escalation.Proposal) else damped).append(outcome)
    return OrderRecord(record.order, record.deadlines, escalations, record.marks, record.repeat_count), tuple(proposals), tuple(damped)


def _finish(
    before: orders.OrderState | None,
    record: OrderRecord,
    deadline_events: tuple[dict[str, Any], ...],
    triggers: list[escalation.Trigger],
    rules: OrderRules,
    case_link: Mapping[str, Any] | None = None,
) -> OrderStep:
    record, proposals, damped = _escalate(record, triggers, rules)
    facts, marks = office_facts(before, record.order, record.marks, deadline_events, case_link)
    record = OrderRecord(record.order, record.deadlines, record.escalations, marks, record.repeat_count)
    return OrderStep(record, False, deadline_events, proposals, damped, tuple(facts))


def on_screened_event(
    record: OrderRecord | None, event: Mapping[str, Any], watermark: datetime | None, rules: OrderRules
) -> OrderStep:
    """A screened event of this order arrived (raises CalendarRangeError past the calendar)."""
    before = None if record is None else record.order
    after = orders.evolve(before, event)
    if after is before:
        return OrderStep(record, duplicate=True)
    deadlines = rules.tracker.deadline_events(after, None if record is None else record.deadlines, event, watermark, rules.offices)
    repeat_count = None if record is None else record.repeat_count
    triggers = escalation.triggers_for(before, after, event, rules.escalation_policy, deadlines.events, repeat_count)
    updated = OrderRecord(
        after,
        deadlines.state,
        None if record is None else record.escalations,
        None if record is None else record.marks,
        repeat_count,
    )
    return _finish(before, updated, tuple(deadlines.events), triggers, rules)


def on_watermark(record: OrderRecord, watermark: datetime, rules: OrderRules) -> OrderStep:
    """Event time passed one of this order's check instants: warnings and breaches."""
    if record.deadlines is None:
        return OrderStep(record)
    deadlines = rules.tracker.due_checks(record.order, record.deadlines, watermark, rules.offices)
    updated = OrderRecord(record.order, deadlines.state, record.escalations, record.marks, record.repeat_count)
    triggers = escalation.breach_triggers(deadlines.events)
    return _finish(record.order, updated, tuple(deadlines.events), triggers, rules)


def on_case_link(record: OrderRecord | None, order_id: str, link: Mapping[str, Any], rules: OrderRules) -> OrderStep:
    """The dedupe stage linked this order to a case (or opened one with it)."""
    order = record.order if record is not None else orders.OrderState(order_id)
    repeat_count = link.get("repeat_count")
    base = record or OrderRecord(order)
    updated = OrderRecord(order, base.deadlines, base.escalations, base.marks, repeat_count)
    triggers = []
    policy = rules.escalation_policy
    if link.get("type") == "case.linked" and repeat_count is not None and repeat_count >= policy.repeated_appeals_threshold:
        triggers.append(escalation.Trigger("repeated_appeals", link["event_id"], parse_rfc3339(link["occurred_at"])))
    return _finish(order, updated, (), triggers, rules, case_link=link)
