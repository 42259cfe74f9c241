"""Escalation of an order's supervision up the office ladder, with damping.

Consumes an `OrderState`, a `Trigger` (why supervision should rise: a resolution breach,
repeated appeals on the same case, emergency urgency, ping-pong between offices,
dissatisfaction after a resolution), the office registry (office_id -> {level,
parent_id}, as on hotline.offices.v1) and JSON-able ledgers. Produces
`hotline.escalations.v1` events as dicts: escalation.raised (from_level -> to_level,
to_office_id, reason) and escalation.summarised (one per office and day, counting the
escalations held back by that office's daily budget, plus one per escalation held back
after its day was closed).

The ladder is community -> street -> district -> city; a city department ranks with the
districts. Each escalation lifts the order's supervision one rung: to the nearest
ancestor (following parent_id) whose level ranks above the order's current supervision
level, which is the last office it was escalated to, or else the office holding it.

Damping, so that supervision does not itself become overload:
- no escalation for an order whose appeal the screen stage flagged (or rejected);
- at most one escalation per order per level, and each reason lifts an order once;
- nothing above `highest_level`;
- an office (the one escalated to) takes at most `daily_budget_per_office` raised
  escalations per event-time day (Asia/Shanghai); the rest of that day's escalations
  are held back and announced by one escalation.summarised when the day has ended.

Late proposals. The escalate stage's watermark is the latest proposal it has read, but
proposals come from many partitions of the orders stage, and a lagging partition can
deliver a proposal for a day the watermark has already closed. So `close_days` does not
forget a closed day at once: it keeps the day's raised and held-back keys for
`closed_day_retention_days` after the day's end. A late proposal for a retained day is
admitted against that day's remaining budget: raised if the day raised fewer than the
budget, else held back and announced at once by its own late escalation.summarised
(count 1, `late` true), since the day's own summary is already out. A late proposal
for a day older than the retention (already forgotten, so its raised count is unknown)
is held back the same way, its summary's raised_count null; the budget then holds
whatever the arrival order, at the price of holding back such stale escalations.
Redelivery of a proposal whose key the day still holds changes nothing.

Two halves, so the stream can partition them by different keys: `propose` works per
order (its ledger, `OrderEscalations`, lives with the order), `admit` / `close_days` work
per receiving office (`OfficeBudget`, keyed by office_id): the orders stage proposes,
the escalate stage admits (hotline.core.stages.escalate).

Identities: escalation.raised has event_id = derived_event_id("<order_id>:<to_level>",
"escalation.raised") — one per order and level, whatever trigger got there first — and
caused_by = the trigger's cause (the input event id, or the deadline.breached event id).
escalation.summarised has caused_by = "<office_id>:<day>", or for a late one
"<office_id>:<day>:late:<order_id>:<to_level>" (one per held-back escalation, so its id
does not depend on the order late proposals arrive in), and event_id =
derived_event_id(caused_by, "escalation.summarised"); occurred_at is the end of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping

from hotline.core.config_tables import check, reject_unknown_keys
from hotline.core.ids import derived_event_id
from hotline.core.orders import OrderState
from hotline.core.records import evolved
from hotline.core.timeutil import format_utc, parse_rfc3339
from hotline.core.workcalendar import SHANGHAI

ESCALATIONS_SCHEMA_VERSION = 1
LEVEL_RANKS = {"community": 0, "street": 1, "district": 2, "department": 2, "city": 3}
REASONS = (
    "resolution_breached",
    "repeated_appeals",
    "emergency_urgency",
    "ping_pong",
    "dissatisfied_after_resolution",
)
DAMPED_VERDICTS = frozenset({"flagged", "rejected"})
# Parent chains are short (community -> street -> district -> city); a longer walk means
# a cycle in the registry.
_MAX_PARENT_HOPS = 8


@dataclass(frozen=True)
class EscalationPolicy:
    repeated_appeals_threshold: int = 3
    ping_pong_handoffs: int = 3
    daily_budget_per_office: int | None = 20
    highest_level: str = "city"
    enabled_reasons: frozenset[str] = frozenset(REASONS)
    summary_order_ids_limit: int = 50
    closed_day_retention_days: int = 7


_POLICY_KEYS = (
    "repeated_appeals_threshold",
    "ping_pong_handoffs",
    "daily_budget_per_office",
    "highest_level",
    "summary_order_ids_limit",
    "closed_day_retention_days",
    "reasons",
)


def parse_escalation_policy(raw: Mapping[str, Any], path: Path | str) -> EscalationPolicy:
    path = Path(path)
    reject_unknown_keys(raw, _POLICY_KEYS, path)

    def whole(key: str, default: int, minimum: int) -> int:
        value = raw.get(key, default)
        check(
            isinstance(value, int) and not isinstance(value, bool) and value >= minimum,
            path,
            key,
            f"expected a whole number >= {minimum}, got {value!r}",
        )
        return value

    budget = whole("daily_budget_per_office", 20, 0)
    highest = raw.get("highest_level", "city")
    check(highest in ("street", "district", "city"), path, "highest_level", f"expected street, district or city, got {highest!r}")
    reasons = raw.get("reasons", {})
    check(isinstance(reasons, dict), path, "reasons", "expected a table of reason = true/false")
    reject_unknown_keys(reasons, REASONS, path, "reasons")
    for reason, enabled in reasons.items():
        check(isinstance(enabled, bool), path, f"reasons.{reason}", f"expected true or false, got {enabled!r}")
    return EscalationPolicy(
        repeated_appeals_threshold=whole("repeated_appeals_threshold", 3, 1),
        ping_pong_handoffs=whole("ping_pong_handoffs", 3, 1),
        daily_budget_per_office=budget or None,
        highest_level=highest,
        enabled_reasons=frozenset(reason for reason in REASONS if reasons.get(reason, True)),
        summary_order_ids_limit=whole("summary_order_ids_limit", 50, 0),
        closed_day_retention_days=whole("closed_day_retention_days", 7, 1),
    )


# --- triggers -----------------------------------------------------------------------


@dataclass(frozen=True)
class Trigger:
    """Why supervision should rise: a reason, what caused it, and when (event time)."""

    reason: str
    caused_by: str
    occurred_at: datetime


def breach_triggers(deadline_events: Iterable[Mapping[str, Any]]) -> list[Trigger]:
    """A breached resolution deadline asks for supervision, whatever caused the check."""
    return [
        Trigger("resolution_breached", item["event_id"], parse_rfc3339(item["occurred_at"]))
        for item in deadline_events
        if item["type"] == "deadline.breached" and item["target"] == "resolution"
    ]


def triggers_for(
    before: OrderState | None,
    after: OrderState,
    event: Mapping[str, Any],
    policy: EscalationPolicy,
    deadline_events: Iterable[Mapping[str, Any]] = (),
    repeat_count: int | None = None,
) -> list[Trigger]:
    """The triggers one screened event raises for its order.

    `deadline_events` are what the deadline stage emitted for the same event or
    watermark (a resolution breach triggers); `repeat_count` is the number of earlier
    appeals on the same case, as the dedupe stage counts it (None when unknown).
    Repeated triggers are harmless: the order's ledger lets each reason lift it once.
    """
    occurred_at = parse_rfc3339(event["occurred_at"])
    cause = event["caused_by"]
    found = breach_triggers(deadline_events)
    repeated = repeat_count is not None and repeat_count >= policy.repeated_appeals_threshold
    # A repeat lifts the order once it has an office to lift it from (like an emergency).
    if repeated and after.office_history and (event["type"] == "appeal.received" or before is None or not before.office_history):
        found.append(Trigger("repeated_appeals", cause, occurred_at))
    if after.urgency == "emergency" and after.office_history and (before is None or not before.office_history):
        found.append(Trigger("emergency_urgency", cause, occurred_at))
    handoffs_before = 0 if before is None else before.handoffs_count
    if handoffs_before < policy.ping_pong_handoffs <= after.handoffs_count:
        found.append(Trigger("ping_pong", cause, occurred_at))
    rating = after.rating
    if (
        rating is not None
        and (before is None or before.rating != rating)
        and after.resolutions
        and (rating.satisfaction == "unsatisfied" or not rating.resolved)
    ):
        found.append(Trigger("dissatisfied_after_resolution", cause, occurred_at))
    return found


# --- per order ----------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationRecord:
    level: str
    office_id: str
    reason: str
    escalated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "office_id": self.office_id,
            "reason": self.reason,
            "escalated_at": format_utc(self.escalated_at),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "EscalationRecord":
        return cls(raw["level"], raw["office_id"], raw["reason"], parse_rfc3339(raw["escalated_at"]))


@dataclass(frozen=True)
class OrderEscalations:
    """The levels an order's supervision has been lifted to, oldest first."""

    records: tuple[EscalationRecord, ...] = ()

    @property
    def levels(self) -> frozenset[str]:
        return frozenset(record.level for record in self.records)

    @property
    def reasons(self) -> frozenset[str]:
        return frozenset(record.reason for record in self.records)

    def to_dict(self) -> dict[str, Any]:
        return {"records": [record.to_dict() for record in self.records]}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OrderEscalations":
        return cls(tuple(EscalationRecord.from_dict(item) for item in raw["records"]))


@dataclass(frozen=True)
class Proposal:
    """An escalation the order's own rules allow; the receiving office's budget decides."""

    order_id: str
    reason: str
    caused_by: str
    occurred_at: datetime
    from_level: str
    from_office_id: str
    to_level: str
    to_office_id: str
    urgency: str | None
    category: str | None

    @property
    def key(self) -> str:
        return f"{self.order_id}:{self.to_level}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "reason": self.reason,
            "caused_by": self.caused_by,
            "occurred_at": format_utc(self.occurred_at),
            "from_level": self.from_level,
            "from_office_id": self.from_office_id,
            "to_level": self.to_level,
            "to_office_id": self.to_office_id,
            "urgency": self.urgency,
            "category": self.category,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Proposal":
        return cls(**{**raw, "occurred_at": parse_rfc3339(raw["occurred_at"])})


@dataclass(frozen=True)
class Damped:
    """An escalation held back before any office saw it, with a bounded reason code
    (a metrics label): reason_disabled, flagged_appeal, no_office, unknown_office,
    top_of_ladder, above_highest_level, level_already_escalated, reason_already_escalated."""

    reason: str
    damping: str


def _office_level(offices: Mapping[str, Mapping[str, Any]], office_id: str | None) -> str | None:
    office = offices.get(office_id) if office_id else None
    return None if office is None else office.get("level")


def _supervisor_above(
    offices: Mapping[str, Mapping[str, Any]], office_id: str, rank: int
) -> tuple[str, str] | None:
    """The nearest ancestor of `office_id` whose level ranks above `rank`."""
    cursor = offices.get(office_id, {}).get("parent_id")
    for _ in range(_MAX_PARENT_HOPS):
        if cursor is None or cursor not in offices:
            return None
        level = offices[cursor].get("level")
        if LEVEL_RANKS.get(level, -1) > rank:
            return cursor, level
        cursor = offices[cursor].get("parent_id")
    return None


def propose(
    order: OrderState,
    trigger: Trigger,
    offices: Mapping[str, Mapping[str, Any]],
    escalations: OrderEscalations | None,
    policy: EscalationPolicy,
) -> tuple[Proposal | Damped, OrderEscalations]:
    """Apply the per-order rules; a `Proposal` is recorded in the returned ledger."""
    escalations = escalations or OrderEscalations()

    def damped(damping: str) -> tuple[Damped, OrderEscalations]:
        return Damped(trigger.reason, damping), escalations

    if trigger.reason not in policy.enabled_reasons:
        return damped("reason_disabled")
    if order.verdict_status in DAMPED_VERDICTS:
        return damped("flagged_appeal")
    if trigger.reason in escalations.reasons:
        return damped("reason_already_escalated")
    if escalations.records:
        from_office_id = escalations.records[-1].office_id
        from_level = escalations.records[-1].level
    else:
        holder = order.current_office_id or (order.office_history[-1].office_id if order.office_history else None)
        if holder is None:
            return damped("no_office")
        from_office_id, from_level = holder, _office_level(offices, holder)
        if from_level not in LEVEL_RANKS:
            return damped("unknown_office")
    supervisor = _supervisor_above(offices, from_office_id, LEVEL_RANKS[from_level])
    if supervisor is None:
        return damped("top_of_ladder")
    to_office_id, to_level = supervisor
    if LEVEL_RANKS[to_level] > LEVEL_RANKS[policy.highest_level]:
        return damped("above_highest_level")
    if to_level in escalations.levels:
        return damped("level_already_escalated")
    proposal = Proposal(
        order_id=order.order_id,
        reason=trigger.reason,
        caused_by=trigger.caused_by,
        occurred_at=trigger.occurred_at,
        from_level=from_level,
        from_office_id=from_office_id,
        to_level=to_level,
        to_office_id=to_office_id,
        urgency=order.urgency,
        category=order.category,
    )
    record = EscalationRecord(to_level, to_office_id, trigger.reason, trigger.occurred_at)
    return proposal, OrderEscalations((*escalations.records, record))


# --- per receiving office -----------------------------------------------------------


def local_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def day_end(day: date) -> datetime:
    """The instant (UTC) a local day ends: the next local midnight."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=SHANGHAI).astimezone(timezone.utc)


@dataclass(frozen=True)
class HeldBack:
    order_id: str
    to_level: str
    reason: str

    @property
    def key(self) -> str:
        return f"{self.order_id}:{self.to_level}"


@dataclass(frozen=True)
class OfficeDay:
    """One office's escalations on one local day: keys raised, escalations held back, and,
    once `close_days` has closed the day (its summary, if any, is out), the instant until
    which the day is kept for late proposals."""

    raised: tuple[str, ...] = ()
    held_back: tuple[HeldBack, ...] = ()
    kept_until: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.kept_until is not None

    def seen(self, key: str) -> bool:
        return key in self.raised or any(item.key == key for item in self.held_back)


@dataclass(frozen=True)
class OfficeBudget:
    """An office's daily escalation budget, by local day (ISO date). Open days are closed
    by `close_days` once they end and forgotten `closed_day_retention_days` later;
    `forgotten_through` is the latest day forgotten (a day up to it has lost its count)."""

    office_id: str
    days: tuple[tuple[str, OfficeDay], ...] = ()
    forgotten_through: str | None = None

    def day(self, day: str) -> OfficeDay:
        return dict(self.days).get(day, OfficeDay())

    def forgot(self, day: str) -> bool:
        # ISO dates order as strings do.
        return self.forgotten_through is not None and day <= self.forgotten_through

    def with_day(self, day: str, value: OfficeDay) -> "OfficeBudget":
        days = dict(self.days)
        days[day] = value
        return evolved(self, days=tuple(sorted(days.items())))

    @property
    def next_close_at(self) -> datetime | None:
        """When `close_days` next has work: the earliest end of an open day or of a closed
        day's retention (drive `close_days` from the watermark)."""
        return min(
            (value.kept_until if value.closed else day_end(date.fromisoformat(day)) for day, value in self.days),
            default=None,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "office_id": self.office_id,
            "forgotten_through": self.forgotten_through,
            "days": {
                day: {
                    "raised": list(value.raised),
                    "held_back": [
                        {"order_id": item.order_id, "to_level": item.to_level, "reason": item.reason}
                        for item in value.held_back
                    ],
                    "kept_until": None if value.kept_until is None else format_utc(value.kept_until),
                }
                for day, value in self.days
            },
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OfficeBudget":
        """Reads dicts written before closed days were kept, too: those hold open days only."""
        return cls(
            raw["office_id"],
            tuple(
                sorted(
                    (
                        day,
                        OfficeDay(
                            tuple(value["raised"]),
                            tuple(HeldBack(item["order_id"], item["to_level"], item["reason"]) for item in value["held_back"]),
                            None if value.get("kept_until") is None else parse_rfc3339(value["kept_until"]),
                        ),
                    )
                    for day, value in raw["days"].items()
                )
            ),
            raw.get("forgotten_through"),
        )


def raised_event(proposal: Proposal) -> dict[str, Any]:
    return {
        "event_id": derived_event_id(proposal.key, "escalation.raised"),
        "caused_by": proposal.caused_by,
        "type": "escalation.raised",
        "order_id": proposal.order_id,
        "occurred_at": format_utc(proposal.occurred_at),
        "schema": ESCALATIONS_SCHEMA_VERSION,
        "reason": proposal.reason,
        "from_level": proposal.from_level,
        "from_office_id": proposal.from_office_id,
        "to_level": proposal.to_level,
        "to_office_id": proposal.to_office_id,
        "urgency": proposal.urgency,
        "category": proposal.category,
    }


def summary_event(
    office_id: str,
    to_level: str | None,
    day: str,
    caused_by: str,
    held_back: Iterable[HeldBack],
    raised_count: int | None,
    late: bool,
    policy: EscalationPolicy,
) -> dict[str, Any]:
    """An escalation.summarised for `held_back` escalations of one office and day."""
    held_back = tuple(held_back)
    reasons: dict[str, int] = {}
    for item in held_back:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    return {
        "event_id": derived_event_id(caused_by, "escalation.summarised"),
        "caused_by": caused_by,
        "type": "escalation.summarised",
        "occurred_at": format_utc(day_end(date.fromisoformat(day))),
        "schema": ESCALATIONS_SCHEMA_VERSION,
        "to_office_id": office_id,
        "to_level": to_level,
        "day": day,
        "late": late,
        "count": len(held_back),
        "raised_count": raised_count,
        "reasons": dict(sorted(reasons.items())),
        "order_ids": [item.order_id for item in held_back][: policy.summary_order_ids_limit],
    }


def admit(
    proposal: Proposal, budget: OfficeBudget | None, policy: EscalationPolicy
) -> tuple[list[dict[str, Any]], OfficeBudget]:
    """Raise the escalation if the receiving office's budget for that day allows it,
    otherwise hold it back: for the day's summary while the day is open, announced at
    once by a late summary once it is closed (or forgotten). Redelivery changes nothing
    while the day is kept."""
    budget = budget or OfficeBudget(proposal.to_office_id)
    day = local_day(proposal.occurred_at).isoformat()
    forgotten = budget.forgot(day)
    # A forgotten day comes back closed and already past its retention, so that the next
    # `close_days` forgets it again.
    if forgotten and day not in dict(budget.days):
        today = OfficeDay(kept_until=day_end(date.fromisoformat(day)))
    else:
        today = budget.day(day)
    if today.seen(proposal.key):
        return [], budget
    limit = policy.daily_budget_per_office
    if limit is None or (not forgotten and len(today.raised) < limit):
        return [raised_event(proposal)], budget.with_day(day, evolved(today, raised=(*today.raised, proposal.key)))
    held = HeldBack(proposal.order_id, proposal.to_level, proposal.reason)
    budget = budget.with_day(day, evolved(today, held_back=(*today.held_back, held)))
    if not today.closed:
        return [], budget
    caused_by = f"{budget.office_id}:{day}:late:{proposal.key}"
    raised_count = None if forgotten else len(today.raised)
    late_summary = summary_event(budget.office_id, proposal.to_level, day, caused_by, (held,), raised_count, True, policy)
    return [late_summary], budget


def close_days(
    budget: OfficeBudget, watermark: datetime, policy: EscalationPolicy, offices: Mapping[str, Mapping[str, Any]] | None = None
) -> tuple[list[dict[str, Any]], OfficeBudget]:
    """Close every open day that ended at or before the watermark, summarising those that
    held escalations back, and forget the closed days whose retention has ended."""
    retention = timedelta(days=policy.closed_day_retention_days)
    events = []
    kept = []
    forgotten_through = budget.forgotten_through
    for day, value in budget.days:
        end = day_end(date.fromisoformat(day))
        if end > watermark:
            kept.append((day, value))
            continue
        if not value.closed and value.held_back:
            caused_by = f"{budget.office_id}:{day}"
            to_level = _office_level(offices or {}, budget.office_id)
            events.append(
                summary_event(budget.office_id, to_level, day, caused_by, value.held_back, len(value.raised), False, policy)
            )
        # Fixed when the day closes, so a changed retention applies to days closed later.
        kept_until = value.kept_until if value.closed else end + retention
        if kept_until > watermark:
            kept.append((day, evolved(value, kept_until=kept_until)))
        elif forgotten_through is None or day > forgotten_through:
            forgotten_through = day
    return events, evolved(budget, days=tuple(kept), forgotten_through=forgotten_through)
