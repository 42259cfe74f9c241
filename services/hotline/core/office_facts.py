"""Office facts of one work order: what the pressure tables must count for it.

Consumes one order's state after each change (`hotline.core.orders.OrderState`), the
`hotline.deadlines.v1` events produced with that change or by a due check, and the
order's `hotline.cases.v1` record. Produces `OfficeFact`s (`hotline.core.pressure`) for
the pressure agent, and `OfficeMarks`: the JSON-able memory of what was already reported
for the order, which the orders table keeps next to the order.

Derived, not incremental. Every call derives from `after` (and the deadline events and
case record remembered in the marks) every counted fact the order deserves, each under a
stable key, and emits those whose key the marks do not hold yet. A redelivered event or a
repeated call therefore emits nothing new, and a counted fact is tied to the input event
that justifies it, so the facts emitted over an order's whole history depend on the set
of its events, not on their arrival order:

| fact | one per | office | event time |
|---|---|---|---|
| received | hand-over: order.dispatched, order.transferred (receiving side), appeal.received naming an office | the receiving office | the hand-over |
| repeat / flagged | order (at most one of the two) | the first hand-over's | the first hand-over |
| returned / transferred | order.returned / order.transferred | the office that let go | the event |
| resolved | order.resolved | the resolving office | the event |
| reopened | order.reopened | the latest resolution's before it | the event |
| dissatisfied | order.rated "unsatisfied" | the latest resolution's before it | the rating |
| breached | deadline.breached (any target) | the deadline event's | the due instant |
| rush_closure | deadline.met of a resolution clock in the last 10 % of its time | the deadline event's | the met instant |
| rush_then_reopened / rush_then_dissatisfied | rush closure followed by a reopening / an unsatisfied rating | the rush closure's | the rush closure |

`received` facts wait for the order's appeal.received, which carries the category and
district the hotspots need, so a receipt never reaches the tables half described. The
rush outcomes take the rush closure's event time so a closure and its failure fall in the
same bucket of the seven-day ratios, as an appeal and its discount do.

Repeat or flagged: a case.linked record makes the order a repeat. Otherwise a rejected
appeal is flagged at once (rejected appeals skip dedupe, config/dedupe.toml
linking.skip_verdicts) and a flagged one once its case.opened record shows it repeats
nothing: waiting keeps the choice between the two independent of arrival order.

Levels are states, not events: the order is open at an office while it is assigned there
and dispatched, signed or reopened, and overdue there while it is open and a resolution
deadline breach has not been followed by a resolution, closure or answer. The marks hold
where each level is counted; a change emits `closed` / `opened` (`overdue_ended` /
`overdue_started`), so over any history the opened minus closed sum of an order is 1
while it is open and 0 once it is not.

Limits (arrival order still matters here): the discount is placed at the first hand-over
known when it is decided, so a hand-over older than that one arriving afterwards does not
move it; reopened and dissatisfied are attributed to the latest resolution known before
them, which only matters when different offices resolved different cycles of one order
and those resolutions arrive out of order. Events folded into the order's compacted
`base` (past `orders.MAX_FACTS`) are no longer seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Mapping, Sequence

from hotline.core.orders import Fact, OrderState
from hotline.core.pressure import OfficeFact
from hotline.core.records import evolved
from hotline.core.timeutil import parse_rfc3339

# A resolution met after this share of its allowed time is a rush closure ("the last 10 %").
RUSH_CLOSURE_MIN_ELAPSED_RATIO = 0.9

OPEN_STATUSES = frozenset({"dispatched", "signed", "reopened"})
_ENDS_OVERDUE = frozenset({"order.resolved", "order.closed", "appeal.answered"})


@dataclass(frozen=True)
class DeadlineOutcome:
    """A breach or rush closure remembered from hotline.deadlines.v1 (keyed by its event id)."""

    event_id: str
    target: str
    office_id: str | None
    at_seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "target": self.target, "office_id": self.office_id, "at_seconds": self.at_seconds}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "DeadlineOutcome":
        return cls(raw["event_id"], raw["target"], raw["office_id"], raw["at_seconds"])


@dataclass(frozen=True)
class OfficeMarks:
    """What has been reported for one order, and the inputs that only pass by once.

    `reported`: keys of the counted facts already emitted. `case_linked`: None until the
    order's case record arrives, then whether it links to an existing case. `breaches` and
    `rush_closures`: deadline outcomes seen so far. `open_at_office_id` /
    `overdue_at_office_id`: where the order currently counts in the backlog / overdue level.
    """

    reported: frozenset[str] = frozenset()
    case_linked: bool | None = None
    breaches: tuple[DeadlineOutcome, ...] = ()
    rush_closures: tuple[DeadlineOutcome, ...] = ()
    open_at_office_id: str | None = None
    overdue_at_office_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "reported": sorted(self.reported),
            "case_linked": self.case_linked,
            "breaches": [outcome.to_dict() for outcome in self.breaches],
            "rush_closures": [outcome.to_dict() for outcome in self.rush_closures],
            "open_at_office_id": self.open_at_office_id,
            "overdue_at_office_id": self.overdue_at_office_id,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OfficeMarks":
        return cls(
            reported=frozenset(raw["reported"]),
            case_linked=raw["case_linked"],
            breaches=tuple(DeadlineOutcome.from_dict(item) for item in raw["breaches"]),
            rush_closures=tuple(DeadlineOutcome.from_dict(item) for item in raw["rush_closures"]),
            open_at_office_id=raw["open_at_office_id"],
            overdue_at_office_id=raw["overdue_at_office_id"],
        )


def office_facts(
    before: OrderState | None,
    after: OrderState,
    marks: OfficeMarks | None,
    deadline_events: Sequence[Mapping[str, Any]] = (),
    case_link: Mapping[str, Any] | None = None,
) -> tuple[list[OfficeFact], OfficeMarks]:
    """The office facts not yet reported for this order, and the marks that now include them.

    Call after every change of the order (`before` is the state before it, `before is
    after` when only deadline events or the case record arrived). Raises ValueError when a
    deadline event or the case record belongs to another order.
    """
    if marks is not None and before is after and not deadline_events and case_link is None:
        # Nothing new to derive from: the marks already describe this very state.
        return [], marks
    marks = _remembering(marks or OfficeMarks(), after.order_id, deadline_events, case_link)
    new_counted = list(_counted_facts(after, marks, skip=marks.reported))
    levels, open_at, overdue_at = _level_changes(after, marks)
    if not new_counted and open_at == marks.open_at_office_id and overdue_at == marks.overdue_at_office_id:
        return levels, marks
    marks = evolved(
        marks,
        reported=marks.reported | {key for key, _ in new_counted},
        open_at_office_id=open_at,
        overdue_at_office_id=overdue_at,
    )
    return [fact for _, fact in new_counted] + levels, marks


def _seconds(instant: datetime) -> float:
    return instant.timestamp()


def _remembering(
    marks: OfficeMarks, order_id: str, deadline_events: Sequence[Mapping[str, Any]], case_link: Mapping[str, Any] | None
) -> OfficeMarks:
    if not deadline_events and case_link is None:
        return marks
    breaches = list(marks.breaches)
    rush_closures = list(marks.rush_closures)
    known = {outcome.event_id for outcome in (*breaches, *rush_closures)}
    for event in deadline_events:
        if event["order_id"] != order_id:
            raise ValueError(
                f"deadline event {event['event_id']!r} of order {event['order_id']!r} given for order {order_id!r}"
            )
        if event["event_id"] in known:
            continue  # redelivered: remembered once, so the marks stay as small as the clocks
        occurred_at_seconds = _seconds(parse_rfc3339(event["occurred_at"]))
        outcome = DeadlineOutcome(event["event_id"], event["target"], event["office_id"], occurred_at_seconds)
        if event["type"] == "deadline.breached":
            breaches.append(outcome)
            known.add(outcome.event_id)
        elif event["type"] == "deadline.met" and _is_rush_closure(event):
            rush_closures.append(outcome)
            known.add(outcome.event_id)
    case_linked = marks.case_linked
    if case_link is not None:
        if case_link["order_id"] != order_id:
            raise ValueError(
                f"case record {case_link['event_id']!r} of order {case_link['order_id']!r} given for order {order_id!r}"
            )
        # A link, once seen, stays: the order repeats a case whatever else arrives.
        case_linked = bool(case_linked) or case_link["type"] == "case.linked"
    return evolved(marks, case_linked=case_linked, breaches=tuple(breaches), rush_closures=tuple(rush_closures))


def _is_rush_closure(event: Mapping[str, Any]) -> bool:
    allowed_seconds = event["allowed_seconds"]
    return (
        event["target"] == "resolution"
        and event["office_id"] is not None
        and allowed_seconds > 0
        and event["elapsed_seconds"] >= RUSH_CLOSURE_MIN_ELAPSED_RATIO * allowed_seconds
    )


def _discount_kind(after: OrderState, marks: OfficeMarks) -> str | None:
    if marks.case_linked:
        return "repeat"
    if after.verdict_status == "rejected":
        return "flagged"
    if after.verdict_status == "flagged" and marks.case_linked is False:
        return "flagged"
    return None


def _counted_facts(after: OrderState, marks: OfficeMarks, skip: frozenset[str] = frozenset()) -> Iterator[tuple[str, OfficeFact]]:
    """Every counted fact the order deserves so far, each under its stable key, but
    those whose keys are in `skip` (already reported: most of them, on every step, so
    they are not built at all)."""
    appeal_known = after.received_at is not None
    discount = _discount_kind(after, marks)
    handed_over = False
    latest_resolving_office_id: str | None = None
    reopenings_at: list[float] = []
    unsatisfied_ratings_at: list[float] = []
    for fact in after.facts:
        at = _seconds(fact.occurred_at)
        receiving_office_id = _receiving_office_id(fact)
        if receiving_office_id is not None and appeal_known:
            key = f"received:{fact.event_id}"
            if key not in skip:
                yield key, OfficeFact(receiving_office_id, "received", at, after.category, after.district)
            if not handed_over:
                handed_over = True
                if discount is not None and "discount" not in skip:
                    yield "discount", OfficeFact(receiving_office_id, discount, at)
        fact_type = fact.type
        if fact_type == "order.returned":
            key = f"returned:{fact.event_id}"
            if key not in skip:
                yield key, OfficeFact(fact.get("office_id"), "returned", at)
        elif fact_type == "order.transferred":
            key = f"transferred:{fact.event_id}"
            if key not in skip:
                yield key, OfficeFact(fact.get("from_office_id"), "transferred", at)
        elif fact_type == "order.resolved":
            latest_resolving_office_id = fact.get("office_id")
            key = f"resolved:{fact.event_id}"
            if key not in skip:
                yield key, OfficeFact(latest_resolving_office_id, "resolved", at)
        elif fact_type == "order.reopened":
            reopenings_at.append(at)
            key = f"reopened:{fact.event_id}"
            if latest_resolving_office_id is not None and key not in skip:
                yield key, OfficeFact(latest_resolving_office_id, "reopened", at)
        elif fact_type == "order.rated" and fact.get("satisfaction") == "unsatisfied":
            unsatisfied_ratings_at.append(at)
            key = f"dissatisfied:{fact.event_id}"
            if latest_resolving_office_id is not None and key not in skip:
                yield key, OfficeFact(latest_resolving_office_id, "dissatisfied", at)
    for breach in marks.breaches:
        key = f"breached:{breach.event_id}"
        if breach.office_id is not None and key not in skip:
            yield key, OfficeFact(breach.office_id, "breached", breach.at_seconds)
    for rush in marks.rush_closures:
        key = f"rush_closure:{rush.event_id}"
        if key not in skip:
            yield key, OfficeFact(rush.office_id, "rush_closure", rush.at_seconds)
        # A reopening ranks after a resolution of the same instant, hence >=.
        key = f"rush_then_reopened:{rush.event_id}"
        if key not in skip and any(reopened_at >= rush.at_seconds for reopened_at in reopenings_at):
            yield key, OfficeFact(rush.office_id, "rush_then_reopened", rush.at_seconds)
        key = f"rush_then_dissatisfied:{rush.event_id}"
        if key not in skip and any(rated_at >= rush.at_seconds for rated_at in unsatisfied_ratings_at):
            yield key, OfficeFact(rush.office_id, "rush_then_dissatisfied", rush.at_seconds)


def _receiving_office_id(fact: Fact) -> str | None:
    """The office a hand-over gives the order to (None for every other event)."""
    if fact.type in ("order.dispatched", "appeal.received"):
        return fact.get("office_id")
    if fact.type == "order.transferred":
        return fact.get("to_office_id")
    return None


def _open_office_id(after: OrderState) -> str | None:
    return after.current_office_id if after.status in OPEN_STATUSES else None


def _overdue_since_seconds(after: OrderState, marks: OfficeMarks) -> float | None:
    """The due instant of the latest resolution breach nothing has ended yet, if any."""
    endings_at = [_seconds(milestone.at) for milestone in after.resolutions]
    endings_at += [_seconds(fact.occurred_at) for fact in after.facts if fact.type in _ENDS_OVERDUE]
    unresolved = [
        breach.at_seconds
        for breach in marks.breaches
        if breach.target == "resolution" and not any(ended_at >= breach.at_seconds for ended_at in endings_at)
    ]
    return max(unresolved, default=None)


def _placed_at(after: OrderState, open_office_id: str | None) -> datetime:
    """When the order took its current place: at its office, or out of every office's backlog."""
    if open_office_id is not None:
        stint = next(stint for stint in reversed(after.office_history) if stint.left_at is None)
        if after.status == "reopened" and after.reopenings:
            return max(stint.assigned_at, after.reopenings[-1].at)
        return stint.assigned_at
    left_at = {
        "closed": after.closed_at,
        "answered": after.answered_at,
        "resolved": after.resolved_at,
        "returned": after.office_history[-1].left_at if after.office_history else None,
    }.get(after.status)
    # A level only changes once the order has events, so last_event_at is set.
    return left_at or after.last_event_at


def _level_changes(after: OrderState, marks: OfficeMarks) -> tuple[list[OfficeFact], str | None, str | None]:
    open_at = _open_office_id(after)
    overdue_since = _overdue_since_seconds(after, marks) if open_at is not None else None
    overdue_at = open_at if overdue_since is not None else None
    if open_at == marks.open_at_office_id and overdue_at == marks.overdue_at_office_id:
        return [], open_at, overdue_at
    placed_at_seconds = _seconds(_placed_at(after, open_at))
    changes = []
    if overdue_at != marks.overdue_at_office_id and marks.overdue_at_office_id is not None:
        changes.append(OfficeFact(marks.overdue_at_office_id, "overdue_ended", placed_at_seconds))
    if open_at != marks.open_at_office_id:
        if marks.open_at_office_id is not None:
            changes.append(OfficeFact(marks.open_at_office_id, "closed", placed_at_seconds))
        if open_at is not None:
            changes.append(OfficeFact(open_at, "opened", placed_at_seconds))
    if overdue_at != marks.overdue_at_office_id and overdue_at is not None:
        changes.append(OfficeFact(overdue_at, "overdue_started", max(placed_at_seconds, overdue_since)))
    return changes, open_at, overdue_at
