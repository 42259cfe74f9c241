"""One order's whole reaction to what happens to it: the composition of the order fold,
its deadline clocks, escalation proposals and the office facts for the pressure tables.

Consumes screened events, case links and event-time watermarks for one order. Produces a
new `OrderRecord` (the value of the orders table) and an `OrderStep` with everything to
publish: deadline events, escalation proposals (for the receiving office's budget),
damped escalations (counted only) and office facts.

Waiting for the case link. An appeal that the dedupe stage will link arrives here
before its link, which travels through other stages and partitions: how far the order
has moved on when the link comes depends on timing. The link also carries the appeal's
final verdict (the callers stage adds the frequent-caller rule to the screen stage's).
So from its appeal until its link the order holds: the appeal and the order's later
events are kept (with the watermark they arrived at) and its deadline checks wait; the
appeal is then applied with the link's verdict, the link right after it, and the kept
events in their order. A link that overtakes its appeal is kept and applied the same
way when the appeal comes. Either way the result depends only on the order's own event
sequence, at any replay speed.

Merge times. Each proposal and office fact carries the instant the next stage orders it
by (see hotline.core.ordering): its event time, raised to the watermark the triggering
step saw, so that it is never earlier than the clock this partition has already
promised; and a key unique to it (an office fact's is the order id and how many facts
the order reported before it).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Mapping

from hotline.core import escalation, orders
from hotline.core.deadlines import DeadlineState, DeadlineTracker
from hotline.core.office_facts import OfficeMarks, office_facts
from hotline.core.pressure import OfficeFact
from hotline.core.timeutil import format_utc, parse_rfc3339
from hotline.core.workcalendar import CalendarRangeError


# An order in one of these is done; anything later for it (a late reopening after the
# retention) starts a fresh record.
FINISHED_STATUSES = frozenset({"closed", "answered"})


@dataclass(frozen=True)
class HeldEvent:
    """An event of an order that waits for its case link, and the watermark it arrived at."""

    event: Mapping[str, Any]
    watermark: datetime | None
    position: tuple[str, int, int] | None = None  # topic, partition, offset: for a dead letter

    def to_dict(self) -> dict[str, Any]:
        return {
            "event": dict(self.event),
            "watermark": None if self.watermark is None else format_utc(self.watermark),
            "position": None if self.position is None else list(self.position),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "HeldEvent":
        watermark = raw.get("watermark")
        position = raw.get("position")
        return cls(raw["event"], None if watermark is None else parse_rfc3339(watermark), None if position is None else tuple(position))


@dataclass(frozen=True)
class OrderRecord:
    order: orders.OrderState
    deadlines: DeadlineState | None = None
    escalations: escalation.OrderEscalations | None = None
    marks: OfficeMarks | None = None
    repeat_count: int | None = None
    linked: bool = False
    link_wait_since: datetime | None = None  # set while the appeal waits for its case link
    held: tuple[HeldEvent, ...] = ()
    early_link: Mapping[str, Any] | None = None  # a link that came before its appeal
    facts_reported: int = 0

    @property
    def waiting_for_link(self) -> bool:
        return self.link_wait_since is not None

    def forget_at(self, retention: timedelta) -> datetime | None:
        """When the orders table may drop a finished order: `retention` after its last
        event, once it is closed (or answered directly) and waits for nothing."""
        order = self.order
        if order.status not in FINISHED_STATUSES or self.waiting_for_link or order.last_event_at is None:
            return None
        return order.last_event_at + retention

    @property
    def next_check_at(self) -> datetime | None:
        # A waiting order is checked when its link comes, so the index need not hold it.
        if self.deadlines is None or self.waiting_for_link:
            return None
        return self.deadlines.next_check_at

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": self.order.to_dict(),
            "deadlines": None if self.deadlines is None else self.deadlines.to_dict(),
            "escalations": None if self.escalations is None else self.escalations.to_dict(),
            "marks": None if self.marks is None else self.marks.to_dict(),
            "repeat_count": self.repeat_count,
            "linked": self.linked,
            "link_wait_since": None if self.link_wait_since is None else format_utc(self.link_wait_since),
            "held": [held.to_dict() for held in self.held],
            "early_link": None if self.early_link is None else dict(self.early_link),
            "facts_reported": self.facts_reported,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OrderRecord":
        return cls(
            order=orders.OrderState.from_dict(raw["order"]),
            deadlines=None if raw["deadlines"] is None else DeadlineState.from_dict(raw["deadlines"]),
            escalations=None if raw["escalations"] is None else escalation.OrderEscalations.from_dict(raw["escalations"]),
            marks=None if raw["marks"] is None else OfficeMarks.from_dict(raw["marks"]),
            repeat_count=raw.get("repeat_count"),
            linked=raw.get("linked", False),
            link_wait_since=None if raw.get("link_wait_since") is None else parse_rfc3339(raw["link_wait_since"]),
            held=tuple(HeldEvent.from_dict(held) for held in raw.get("held", ())),
            early_link=raw.get("early_link"),
            facts_reported=raw.get("facts_reported", 0),
        )


@dataclass(frozen=True)
class OrderStep:
    record: OrderRecord | None
    duplicate: bool = False
    deadline_events: tuple[dict[str, Any], ...] = ()
    proposals: tuple[escalation.Proposal, ...] = ()
    damped: tuple[escalation.Damped, ...] = ()
    facts: tuple[OfficeFact, ...] = ()
    proposal_merge_at: tuple[datetime, ...] = ()  # one per proposal (see "Merge times")
    fact_merge_at: tuple[float, ...] = ()  # one per fact, Unix seconds
    fact_keys: tuple[str, ...] = ()  # one per fact
    rejected: tuple[tuple[HeldEvent, str, str], ...] = ()  # held events that failed: (held, reason, detail)


def _chain(steps: list[OrderStep], record: OrderRecord | None) -> OrderStep:
    """One step made of several, their outputs in order."""

    def joined(name: str) -> tuple:
        return tuple(item for step in steps for item in getattr(step, name))

    outputs = ("deadline_events", "proposals", "damped", "facts", "proposal_merge_at", "fact_merge_at", "fact_keys", "rejected")
    return OrderStep(record, **{name: joined(name) for name in outputs})


@dataclass(frozen=True)
class OrderRules:
    tracker: DeadlineTracker
    escalation_policy: escalation.EscalationPolicy
    offices: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


def _escalate(
    order: orders.OrderState,
    escalations: escalation.OrderEscalations | None,
    triggers: list[escalation.Trigger],
    rules: OrderRules,
) -> tuple[escalation.OrderEscalations | None, tuple[escalation.Proposal, ...], tuple[escalation.Damped, ...]]:
    proposals, damped = [], []
    for trigger in triggers:
        outcome, escalations = escalation.propose(order, trigger, rules.offices, escalations, rules.escalation_policy)
        (proposals if isinstance(outcome, escalation.Proposal) else damped).append(outcome)
    return escalations, tuple(proposals), tuple(damped)


def _finish(
    before: orders.OrderState | None,
    record: OrderRecord,
    deadline_events: tuple[dict[str, Any], ...],
    triggers: list[escalation.Trigger],
    rules: OrderRules,
    case_link: Mapping[str, Any] | None = None,
    merge_floor: datetime | None = None,
    **changes: Any,
) -> OrderStep:
    """The step that takes `record` to its new state: `changes` (its new order, deadlines
    or link fields) with the escalations and office marks they lead to, in one update."""
    order = changes.get("order", record.order)
    escalations, proposals, damped = _escalate(order, record.escalations, triggers, rules)
    facts, marks = office_facts(before, order, record.marks, deadline_events, case_link)
    first = record.facts_reported
    record = replace(record, **changes, escalations=escalations, marks=marks, facts_reported=first + len(facts))
    merge_at = tuple(p.occurred_at if merge_floor is None else max(p.occurred_at, merge_floor) for p in proposals)
    floor_seconds = None if merge_floor is None else merge_floor.timestamp()
    fact_merge_at = tuple(f.occurred_at_seconds if floor_seconds is None else max(f.occurred_at_seconds, floor_seconds) for f in facts)
    fact_keys = tuple(f"{record.order.order_id}|{first + index}" for index in range(len(facts)))
    return OrderStep(
        record,
        deadline_events=deadline_events,
        proposals=proposals,
        damped=damped,
        facts=tuple(facts),
        proposal_merge_at=merge_at,
        fact_merge_at=fact_merge_at,
        fact_keys=fact_keys,
    )


def _apply_event(record: OrderRecord | None, event: Mapping[str, Any], watermark: datetime | None, rules: OrderRules) -> OrderStep:
    before = None if record is None else record.order
    after = orders.evolve(before, event)
    if after is before:
        return OrderStep(record, duplicate=True)
    deadlines = rules.tracker.deadline_events(after, None if record is None else record.deadlines, event, watermark, rules.offices)
    repeat_count = None if record is None else record.repeat_count
    triggers = escalation.triggers_for(before, after, event, rules.escalation_policy, deadlines.events, repeat_count)
    current = record if record is not None else OrderRecord(after)
    return _finish(before, current, tuple(deadlines.events), triggers, rules, merge_floor=watermark, order=after, deadlines=deadlines.state)


def _apply_link(record: OrderRecord, link: Mapping[str, Any], merge_floor: datetime | None, rules: OrderRules) -> OrderStep:
    repeat_count = link.get("repeat_count")
    triggers = []
    policy = rules.escalation_policy
    repeated = repeat_count is not None and repeat_count >= policy.repeated_appeals_threshold
    # Without an office yet there is nobody to lift it from: the dispatch triggers it.
    if link.get("type") == "case.linked" and repeated and record.order.office_history:
        triggers.append(escalation.Trigger("repeated_appeals", link["event_id"], parse_rfc3339(link["occurred_at"])))
    return _finish(
        record.order,
        record,
        (),
        triggers,
        rules,
        case_link=link,
        merge_floor=merge_floor,
        repeat_count=repeat_count,
        linked=True,
        link_wait_since=None,
        early_link=None,
    )


def _is_appeal(event: Mapping[str, Any]) -> bool:
    return event["type"] == "appeal.received"


def _with_final_verdict(appeal: Mapping[str, Any], link: Mapping[str, Any]) -> Mapping[str, Any]:
    verdict = link.get("verdict")
    return appeal if verdict is None else {**appeal, "verdict": dict(verdict)}


def on_screened_event(
    record: OrderRecord | None,
    event: Mapping[str, Any],
    watermark: datetime | None,
    rules: OrderRules,
    awaits_link: bool = False,
    position: tuple[str, int, int] | None = None,
) -> OrderStep:
    """A screened event of this order arrived at the partition's `watermark` (raises
    CalendarRangeError past the calendar). `awaits_link`: the event is an appeal the
    dedupe stage will link, so the order waits for that link (module docstring)."""
    if record is not None and record.waiting_for_link:
        return OrderStep(replace(record, held=(*record.held, HeldEvent(event, watermark, position))))
    if not (awaits_link and _is_appeal(event)) or (record is not None and record.linked):
        return _apply_event(record, event, watermark, rules)
    occurred_at = parse_rfc3339(event["occurred_at"])
    since = occurred_at if watermark is None else max(watermark, occurred_at)
    if record is not None and record.early_link is not None:
        step = _apply_event(record, _with_final_verdict(event, record.early_link), watermark, rules)
        if step.duplicate:
            return step
        linked = _apply_link(step.record, record.early_link, since, rules)
        return _chain([step, linked], linked.record)
    waiting = record if record is not None else OrderRecord(orders.OrderState(event["order_id"]))
    return OrderStep(replace(waiting, link_wait_since=since, held=(HeldEvent(event, watermark, position),)))


def on_watermark(record: OrderRecord, watermark: datetime, rules: OrderRules) -> OrderStep:
    """Event time passed one of this order's check instants: warnings and breaches."""
    if record.deadlines is None or record.waiting_for_link:
        return OrderStep(record)
    deadlines = rules.tracker.due_checks(record.order, record.deadlines, watermark, rules.offices)
    triggers = escalation.breach_triggers(deadlines.events)
    return _finish(record.order, record, tuple(deadlines.events), triggers, rules, deadlines=deadlines.state)


def _due_by(record: OrderRecord, watermark: datetime | None) -> bool:
    next_check_at = record.next_check_at
    return watermark is not None and next_check_at is not None and next_check_at <= watermark


def on_case_link(
    record: OrderRecord | None, order_id: str, link: Mapping[str, Any], rules: OrderRules, watermark: datetime | None = None
) -> OrderStep:
    """The dedupe stage linked this order to a case (or opened one with it); `watermark`
    is the partition's now, for the checks a waiting order missed."""
    if record is not None and record.linked:
        return OrderStep(record, duplicate=True)
    if record is not None and record.waiting_for_link:
        return _release_held(record, link, rules, watermark)
    if record is None or record.order.received_at is None:
        # The link overtook its appeal: apply it right after the appeal.
        return OrderStep(replace(record or OrderRecord(orders.OrderState(order_id)), early_link=dict(link)))
    return _apply_link(record, link, watermark, rules)


def _release_held(record: OrderRecord, link: Mapping[str, Any], rules: OrderRules, watermark: datetime | None) -> OrderStep:
    """The link of a waiting order: its appeal (the first event held) with the link's
    verdict, the link, then the events held after the appeal."""
    held_events = list(record.held)
    current = replace(record, held=())
    steps: list[OrderStep] = []

    def apply(held: HeldEvent) -> None:
        nonlocal current
        if _due_by(current, held.watermark):
            steps.append(on_watermark(current, held.watermark, rules))
            current = steps[-1].record
        try:
            step = _apply_event(current, held.event, held.watermark, rules)
        except CalendarRangeError as error:
            steps.append(OrderStep(current, rejected=((held, "beyond_calendar", str(error)),)))
            return
        if not step.duplicate:
            steps.append(step)
            current = step.record

    if held_events and _is_appeal(held_events[0].event):
        appeal = held_events.pop(0)
        apply(replace(appeal, event=_with_final_verdict(appeal.event, link)))
    steps.append(_apply_link(current, link, record.link_wait_since, rules))
    current = steps[-1].record
    for held in held_events:
        apply(held)
    if _due_by(current, watermark):
        steps.append(on_watermark(current, watermark, rules))
        current = steps[-1].record
    return _chain(steps, current)
