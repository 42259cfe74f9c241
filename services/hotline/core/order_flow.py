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

Stored form. `OrderRecord.to_dict` is the value of the orders table (with
`table_value`'s partition and retention instant beside it), layout version 2 (`"v": 2`):
the order's facts only (its state is re-derived from them: `orders.restore`), no
deadline clocks (re-computed from the facts and the policy when needed), instants as
Unix seconds, short keys, defaults and nulls left out, and the order id inside its ids
and keys written as "~". `from_dict` upcasts the unversioned layout (before the version
field) to it, so a changelog written before still loads.

Merge times. Each proposal and office fact carries the instant the next stage orders it
by (see hotline.core.ordering): its event time, raised to the watermark the triggering
step saw, so that it is never earlier than the clock this partition has already
promised; and a key unique to it (an office fact's is the order id and how many facts
the order reported before it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

from hotline.core import escalation, orders
from hotline.core.deadlines import DeadlinePolicy, DeadlineState, DeadlineTracker, clocks_of, fired_by_clock, fired_from_clocks
from hotline.core.office_facts import DeadlineOutcome, OfficeMarks, office_facts
from hotline.core.pressure import OfficeFact
from hotline.core.records import built, evolved
from hotline.core.timeutil import compact_epoch, from_epoch, parse_rfc3339
from hotline.core.workcalendar import CalendarRangeError


RECORD_VERSION = 2
# Stands for the order id inside the stored record's ids and keys; a record with a "~"
# of its own in them is stored with its ids in full ("a": 0).
_ORDER_ID_MARK = "~"

# An order in one of these is done; anything later for it (a late reopening after the
# retention) starts a fresh record.
FINISHED_STATUSES = frozenset({"closed", "answered"})


@dataclass(frozen=True)
class HeldEvent:
    """An event of an order that waits for its case link, and the watermark it arrived at."""

    event: Mapping[str, Any]
    watermark: datetime | None
    position: tuple[str, int, int] | None = None  # topic, partition, offset: for a dead letter

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "HeldEvent":
        """A held event of the unversioned layout."""
        watermark = raw.get("watermark")
        position = raw.get("position")
        return cls(raw["event"], None if watermark is None else parse_rfc3339(watermark), None if position is None else tuple(position))

    def to_row(self) -> list[Any]:
        """The stored form: [event, watermark in Unix seconds, position], trailing nulls left out."""
        row = [dict(self.event), None if self.watermark is None else compact_epoch(self.watermark), None if self.position is None else list(self.position)]
        while row[-1] is None:
            row.pop()
        return row

    @classmethod
    def from_row(cls, row: list[Any]) -> "HeldEvent":
        watermark = row[1] if len(row) > 1 else None
        position = row[2] if len(row) > 2 else None
        return cls(row[0], None if watermark is None else from_epoch(watermark), None if position is None else tuple(position))


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
        """The stored form, layout version 2 (see "Stored form" in the module docstring)."""
        order = self.order
        order_id = order.order_id
        fired = None if self.deadlines is None else fired_by_clock(self.deadlines.fired)
        reported = () if self.marks is None else sorted(self.marks.reported)
        texts = [*(fact.event_id for fact in order.facts), *(fired or ()), *reported]
        abbreviated = bool(order_id) and not any(_ORDER_ID_MARK in text for text in texts)

        def short(text: str) -> str:
            return text.replace(order_id, _ORDER_ID_MARK) if abbreviated else text

        raw: dict[str, Any] = {"v": RECORD_VERSION, "o": order_id, "x": [fact.to_row(short(fact.event_id)) for fact in order.facts]}
        if not abbreviated:
            raw["a"] = 0
        if order.base is not None:
            raw["b"] = order.base.to_dict()
        if self.deadlines is not None:
            raw["f"] = {short(clock_id): kinds for clock_id, kinds in fired.items()}
            if self.deadlines.next_check_at is not None:
                raw["n"] = compact_epoch(self.deadlines.next_check_at)
        if self.escalations is not None:
            raw["e"] = [[item.level, item.office_id, item.reason, compact_epoch(item.escalated_at)] for item in self.escalations.records]
        if self.marks is not None:
            raw["m"] = _marks_to_dict(self.marks, [short(key) for key in reported])
        if self.repeat_count is not None:
            raw["rc"] = self.repeat_count
        if self.linked:
            raw["l"] = 1
        if self.link_wait_since is not None:
            raw["w"] = compact_epoch(self.link_wait_since)
        if self.held:
            raw["h"] = [held.to_row() for held in self.held]
        if self.early_link is not None:
            raw["el"] = dict(self.early_link)
        if self.facts_reported:
            raw["k"] = self.facts_reported
        return raw

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OrderRecord":
        """The record of a stored form: layout version 2, or the unversioned one (upcast)."""
        if "v" not in raw:
            raw = upcast_unversioned(raw)
        elif raw["v"] != RECORD_VERSION:
            raise ValueError(f"stored order record has layout version {raw['v']!r}, this code reads {RECORD_VERSION}")
        order_id = raw["o"]
        abbreviated = raw.get("a", 1)

        def full(text: str) -> str:
            return text.replace(_ORDER_ID_MARK, order_id) if abbreviated else text

        facts = tuple(orders.Fact.from_row(row, full(row[0])) for row in raw["x"])
        base = raw.get("b")
        order = orders.restore(order_id, facts, None if base is None else orders.OrderState.from_dict(base))
        deadlines = None
        if "f" in raw:
            fired = fired_from_clocks({full(clock_id): kinds for clock_id, kinds in raw["f"].items()})
            deadlines = DeadlineState(None, fired, from_epoch(raw["n"]) if "n" in raw else None)
        escalations = None
        if "e" in raw:
            escalations = escalation.OrderEscalations(
                tuple(escalation.EscalationRecord(level, office_id, reason, from_epoch(at)) for level, office_id, reason, at in raw["e"])
            )
        held = raw.get("h", ())
        return cls(
            order=order,
            deadlines=deadlines,
            escalations=escalations,
            marks=_marks_from_dict(raw["m"], full) if "m" in raw else None,
            repeat_count=raw.get("rc"),
            linked=bool(raw.get("l", 0)),
            link_wait_since=from_epoch(raw["w"]) if "w" in raw else None,
            held=tuple(HeldEvent.from_row(row) for row in held),
            early_link=raw.get("el"),
            facts_reported=raw.get("k", 0),
        )


def _marks_to_dict(marks: OfficeMarks, reported: list[str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if reported:
        raw["r"] = reported
    if marks.case_linked is not None:
        raw["cl"] = marks.case_linked
    if marks.breaches:
        raw["b"] = [[item.event_id, item.target, item.office_id, item.at_seconds] for item in marks.breaches]
    if marks.rush_closures:
        raw["rc"] = [[item.event_id, item.target, item.office_id, item.at_seconds] for item in marks.rush_closures]
    if marks.open_at_office_id is not None:
        raw["op"] = marks.open_at_office_id
    if marks.overdue_at_office_id is not None:
        raw["ov"] = marks.overdue_at_office_id
    return raw


def _marks_from_dict(raw: Mapping[str, Any], full: Any) -> OfficeMarks:
    return OfficeMarks(
        reported=frozenset(full(key) for key in raw.get("r", ())),
        case_linked=raw.get("cl"),
        breaches=tuple(DeadlineOutcome(*item) for item in raw.get("b", ())),
        rush_closures=tuple(DeadlineOutcome(*item) for item in raw.get("rc", ())),
        open_at_office_id=raw.get("op"),
        overdue_at_office_id=raw.get("ov"),
    )


def upcast_unversioned(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The unversioned stored record (before layout version 2) in layout version 2."""
    deadlines = raw["deadlines"]
    record = OrderRecord(
        order=orders.OrderState.from_dict(raw["order"]),
        deadlines=None if deadlines is None else DeadlineState(None, frozenset(deadlines["fired"]), _parsed(deadlines["next_check_at"])),
        escalations=None if raw["escalations"] is None else escalation.OrderEscalations.from_dict(raw["escalations"]),
        marks=None if raw["marks"] is None else OfficeMarks.from_dict(raw["marks"]),
        repeat_count=raw.get("repeat_count"),
        linked=raw.get("linked", False),
        link_wait_since=_parsed(raw.get("link_wait_since")),
        held=tuple(HeldEvent.from_dict(held) for held in raw.get("held", ())),
        early_link=raw.get("early_link"),
        facts_reported=raw.get("facts_reported", 0),
    )
    return record.to_dict()


def _parsed(text: str | None) -> datetime | None:
    return None if text is None else parse_rfc3339(text)


@dataclass(frozen=True)
class TableIndex:
    """What a worker's indexes need of one order's table value, read without its record."""

    partition: int
    next_check_at: datetime | None
    link_wait_since: datetime | None
    forget_at: datetime | None


def table_value(record: OrderRecord, partition: int, retention: timedelta) -> dict[str, Any]:
    """The orders table's value for an order: its stored record, its partition ("p") and
    when a finished order may leave the table ("d"; see `OrderRecord.forget_at`)."""
    value = record.to_dict()
    value["p"] = partition
    forget_at = record.forget_at(retention)
    if forget_at is not None:
        value["d"] = compact_epoch(forget_at)
    return value


def table_index(value: Mapping[str, Any]) -> TableIndex:
    """The index instants of a table value, of layout version 2 or the unversioned one."""
    if "v" not in value:
        return TableIndex(
            value["partition"], _parsed(value.get("next_check_at")), _parsed(value.get("link_wait_since")), _parsed(value.get("forget_at"))
        )
    waiting = value.get("w")
    # A waiting order is checked when its link comes (`OrderRecord.next_check_at`).
    next_check_at = from_epoch(value["n"]) if "n" in value and waiting is None else None
    return TableIndex(
        value["p"], next_check_at, None if waiting is None else from_epoch(waiting), from_epoch(value["d"]) if "d" in value else None
    )


def record_of(value: Mapping[str, Any]) -> OrderRecord:
    """The record of a table value, of layout version 2 or the unversioned one."""
    return OrderRecord.from_dict(value if "v" in value else value["record"])


def order_view(record: OrderRecord, policy: DeadlinePolicy) -> dict[str, Any]:
    """One order's derived state as the worker's JSON view shows it, clocks included."""
    order = {key: value for key, value in record.order.to_dict().items() if key not in ("facts", "base", "compacted_ids")}
    deadlines = record.deadlines
    if deadlines is not None and deadlines.clocks is None:
        deadlines = evolved(deadlines, clocks=clocks_of(record.order, policy))
    return {
        "order": order,
        "deadlines": None if deadlines is None else deadlines.to_dict(),
        "escalations": None if record.escalations is None else record.escalations.to_dict(),
        "repeat_count": record.repeat_count,
    }


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
    record = evolved(record, **changes, escalations=escalations, marks=marks, facts_reported=first + len(facts))
    merge_at = tuple(p.occurred_at if merge_floor is None else max(p.occurred_at, merge_floor) for p in proposals)
    floor_seconds = None if merge_floor is None else merge_floor.timestamp()
    fact_merge_at = tuple(f.occurred_at_seconds if floor_seconds is None else max(f.occurred_at_seconds, floor_seconds) for f in facts)
    fact_keys = tuple(f"{record.order.order_id}|{first + index}" for index in range(len(facts)))
    return built(
        OrderStep,
        record=record,
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
    deadlines = rules.tracker.deadline_events(
        after, None if record is None else record.deadlines, event, watermark, rules.offices, previous_order=before
    )
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
        return OrderStep(evolved(record, held=(*record.held, HeldEvent(event, watermark, position))))
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
    return OrderStep(evolved(waiting, link_wait_since=since, held=(HeldEvent(event, watermark, position),)))


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
        return OrderStep(evolved(record or OrderRecord(orders.OrderState(order_id)), early_link=dict(link)))
    return _apply_link(record, link, watermark, rules)


def _release_held(record: OrderRecord, link: Mapping[str, Any], rules: OrderRules, watermark: datetime | None) -> OrderStep:
    """The link of a waiting order: its appeal (the first event held) with the link's
    verdict, the link, then the events held after the appeal."""
    held_events = list(record.held)
    current = evolved(record, held=())
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
        apply(evolved(appeal, event=_with_final_verdict(appeal.event, link)))
    steps.append(_apply_link(current, link, record.link_wait_since, rules))
    current = steps[-1].record
    for held in held_events:
        apply(held)
    if _due_by(current, watermark):
        steps.append(on_watermark(current, watermark, rules))
        current = steps[-1].record
    return _chain(steps, current)
