"""The work-order state machine: a fold of screened events into one order's state.

Consumes `hotline.screened.v1` events (dicts) of one order; produces an immutable
`OrderState` that round-trips through JSON-able dicts (`to_dict` / `from_dict`, the
unversioned layout of the orders table and the order's JSON view). The orders table
keeps only the facts (`Fact.to_row`) and re-derives the rest with `restore`.

Out of order and twice: `evolve` keeps each applied event as a compact `Fact` (type,
event time, the input event id and the few data fields the rules read — never free
text or caller ids), ordered by event time, and re-derives every field from the ordered
facts. The state is therefore a function of the set of facts: an `order.signed` that
arrives before its `order.dispatched` yields, once both are in, the same state as the
natural order. An event whose input id (`caused_by`) is already applied leaves the
state unchanged.

Bounded: an order keeps at most `MAX_FACTS` facts. Past that the older half is folded
into `base`, a snapshot with no facts, and only the last `MAX_COMPACTED_IDS` of its input
ids are remembered for duplicate detection. An event older than the snapshot's newest
fact is then applied after the snapshot (best effort); real orders stay far below the
bound, which exists so a runaway source cannot grow one table value without limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from hotline.core.records import built, evolved
from hotline.core.timeutil import compact_epoch, format_utc, from_epoch, parse_rfc3339

MAX_FACTS = 256
MAX_COMPACTED_IDS = 512

# Lifecycle rank breaks ties between facts with the same event time, so a dispatch and
# its signing stamped in the same second are applied in the order they must happen.
_LIFECYCLE_RANK = {
    event_type: rank
    for rank, event_type in enumerate(
        (
            "appeal.received",
            "appeal.answered",
            "order.dispatched",
            "order.returned",
            "order.transferred",
            "order.signed",
            "order.replied",
            "order.suspended",
            "order.resumed",
            "order.extended",
            "order.resolved",
            "order.rated",
            "order.reopened",
            "order.closed",
        )
    )
}
EVENT_TYPES = frozenset(_LIFECYCLE_RANK)

# The data fields a rule reads; everything else (text, titles, caller ids) stays out.
_KEPT_DATA_FIELDS = frozenset(
    {
        "category",
        "channel",
        "due_at",
        "extension_hours",
        "extension_working_days",
        "from_office_id",
        "kind",
        "office_id",
        "resolved",
        "satisfaction",
        "source",
        "to_office_id",
        "urgency",
    }
)


# The stored form of a fact (`Fact.to_row`) names its type by a code and its data fields
# by short names: codes and names are only ever added, never changed or reused.
_STORED_TYPES = (
    "appeal.received",
    "appeal.answered",
    "order.dispatched",
    "order.returned",
    "order.transferred",
    "order.signed",
    "order.replied",
    "order.suspended",
    "order.resumed",
    "order.extended",
    "order.resolved",
    "order.rated",
    "order.reopened",
    "order.closed",
)
_TYPE_CODES = {event_type: code for code, event_type in enumerate(_STORED_TYPES)}
_STORED_DATA_NAMES = {
    "category": "c",
    "channel": "h",
    "due_at": "du",
    "extension_hours": "eh",
    "extension_working_days": "ed",
    "from_office_id": "fo",
    "kind": "k",
    "location_district": "d",
    "office_id": "o",
    "resolved": "r",
    "satisfaction": "s",
    "source": "so",
    "to_office_id": "to",
    "urgency": "u",
}
_DATA_NAMES = {short: name for name, short in _STORED_DATA_NAMES.items()}
# Nearly every fact passed the screen as accepted with no reasons: its row leaves that out.
_USUAL_VERDICT_STATUS = "accepted"


def _instant(text: str | None) -> datetime | None:
    return None if text is None else parse_rfc3339(text)


def _text(instant: datetime | None) -> str | None:
    return None if instant is None else format_utc(instant)


@dataclass(frozen=True)
class Fact:
    """One applied event, reduced to what the rules read."""

    event_id: str
    type: str
    occurred_at: datetime
    data: tuple[tuple[str, Any], ...] = ()
    verdict_status: str | None = None
    verdict_reasons: tuple[str, ...] = ()

    def get(self, key: str, default: Any = None) -> Any:
        for name, value in self.data:
            if name == key:
                return value
        return default

    @property
    def sort_key(self) -> tuple[datetime, int, str]:
        return (self.occurred_at, _LIFECYCLE_RANK[self.type], self.event_id)

    @classmethod
    def from_screened(cls, event: Mapping[str, Any]) -> "Fact":
        data = dict(event.get("data") or {})
        location = data.get("location")
        kept = {key: value for key, value in data.items() if key in _KEPT_DATA_FIELDS}
        if isinstance(location, dict) and "district" in location:
            kept["location_district"] = location["district"]
        verdict = event.get("verdict") or {}
        return built(
            cls,
            event_id=event["caused_by"],
            type=event["type"],
            occurred_at=parse_rfc3339(event["occurred_at"]),
            data=tuple(sorted(kept.items())),
            verdict_status=verdict.get("status"),
            verdict_reasons=tuple(verdict.get("reasons") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "occurred_at": format_utc(self.occurred_at),
            "data": dict(self.data),
            "verdict_status": self.verdict_status,
            "verdict_reasons": list(self.verdict_reasons),
        }

    def to_row(self, event_id: str) -> list[Any]:
        """The stored form, with `event_id` for the input id (the caller may abbreviate it):
        [id, type code, epoch seconds, data, verdict status, verdict reasons], the trailing
        ones left out while they are the usual (no data, accepted, no reasons)."""
        row = [
            event_id,
            _TYPE_CODES[self.type],
            compact_epoch(self.occurred_at),
            {_STORED_DATA_NAMES[name]: value for name, value in self.data},
            self.verdict_status,
            list(self.verdict_reasons),
        ]
        if not self.verdict_reasons:
            row.pop()
            if self.verdict_status == _USUAL_VERDICT_STATUS:
                row.pop()
                if not self.data:
                    row.pop()
        return row

    @classmethod
    def from_row(cls, row: list[Any], event_id: str) -> "Fact":
        data = row[3] if len(row) > 3 else {}
        return cls(
            event_id=event_id,
            type=_STORED_TYPES[row[1]],
            occurred_at=from_epoch(row[2]),
            data=tuple(sorted((_DATA_NAMES[short], value) for short, value in data.items())),
            verdict_status=row[4] if len(row) > 4 else _USUAL_VERDICT_STATUS,
            verdict_reasons=tuple(row[5]) if len(row) > 5 else (),
        )

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Fact":
        return cls(
            event_id=raw["event_id"],
            type=raw["type"],
            occurred_at=parse_rfc3339(raw["occurred_at"]),
            data=tuple(sorted(raw["data"].items())),
            verdict_status=raw["verdict_status"],
            verdict_reasons=tuple(raw["verdict_reasons"]),
        )


@dataclass(frozen=True)
class Assignment:
    """One office's stint with the order: from assignment until it returned or passed it on."""

    office_id: str
    assigned_at: datetime
    assigned_by: str
    via: str  # received | dispatched | transferred | signed (no dispatch seen yet)
    signed_at: datetime | None = None
    signed_by: str | None = None
    left_at: datetime | None = None
    left_by: str | None = None
    left_via: str | None = None  # returned | transferred | redispatched

    def to_dict(self) -> dict[str, Any]:
        return {
            "office_id": self.office_id,
            "assigned_at": format_utc(self.assigned_at),
            "assigned_by": self.assigned_by,
            "via": self.via,
            "signed_at": _text(self.signed_at),
            "signed_by": self.signed_by,
            "left_at": _text(self.left_at),
            "left_by": self.left_by,
            "left_via": self.left_via,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Assignment":
        return cls(
            office_id=raw["office_id"],
            assigned_at=parse_rfc3339(raw["assigned_at"]),
            assigned_by=raw["assigned_by"],
            via=raw["via"],
            signed_at=_instant(raw["signed_at"]),
            signed_by=raw["signed_by"],
            left_at=_instant(raw["left_at"]),
            left_by=raw["left_by"],
            left_via=raw["left_via"],
        )


@dataclass(frozen=True)
class Suspension:
    started_at: datetime
    started_by: str
    ended_at: datetime | None = None
    ended_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "started_at": format_utc(self.started_at),
            "started_by": self.started_by,
            "ended_at": _text(self.ended_at),
            "ended_by": self.ended_by,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Suspension":
        return cls(parse_rfc3339(raw["started_at"]), raw["started_by"], _instant(raw["ended_at"]), raw["ended_by"])


@dataclass(frozen=True)
class Extension:
    approved_at: datetime
    approved_by: str
    working_days: int | None = None
    hours: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "approved_at": format_utc(self.approved_at),
            "approved_by": self.approved_by,
            "working_days": self.working_days,
            "hours": self.hours,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Extension":
        return cls(parse_rfc3339(raw["approved_at"]), raw["approved_by"], raw["working_days"], raw["hours"])


@dataclass(frozen=True)
class Milestone:
    """A dated step that can repeat (a resolution, a reopening), with its input event id."""

    at: datetime
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {"at": format_utc(self.at), "by": self.by}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Milestone":
        return cls(parse_rfc3339(raw["at"]), raw["by"])


@dataclass(frozen=True)
class Rating:
    rated_at: datetime
    satisfaction: str  # satisfied | basic | unsatisfied
    resolved: bool

    def to_dict(self) -> dict[str, Any]:
        return {"rated_at": format_utc(self.rated_at), "satisfaction": self.satisfaction, "resolved": self.resolved}

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Rating":
        return cls(parse_rfc3339(raw["rated_at"]), raw["satisfaction"], raw["resolved"])


@dataclass(frozen=True)
class OrderState:
    """One work order as of every fact applied so far (see the module docstring).

    `status` is the lifecycle stage: received, answered, dispatched, signed, returned,
    resolved, reopened, closed ("unknown" until a stage-setting fact arrives).
    Suspension is orthogonal (`suspended`): a suspended order keeps its stage.
    `resolved_at` is the resolution of the current cycle (cleared by a reopening);
    `resolutions` keeps every cycle's.
    """

    order_id: str
    status: str = "unknown"
    urgency: str | None = None
    category: str | None = None
    channel: str | None = None
    source: str | None = None
    district: str | None = None
    verdict_status: str | None = None
    verdict_reasons: tuple[str, ...] = ()
    received_at: datetime | None = None
    received_by: str | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    dispatched_at: datetime | None = None
    signed_at: datetime | None = None
    first_reply_at: datetime | None = None
    first_reply_by: str | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    closed_by: str | None = None
    last_event_at: datetime | None = None
    current_office_id: str | None = None
    office_history: tuple[Assignment, ...] = ()
    returns_count: int = 0
    transfers_count: int = 0
    reopen_count: int = 0
    rating: Rating | None = None
    suspensions: tuple[Suspension, ...] = ()
    extensions: tuple[Extension, ...] = ()
    resolutions: tuple[Milestone, ...] = ()
    reopenings: tuple[Milestone, ...] = ()
    source_due_at: datetime | None = None
    facts: tuple[Fact, ...] = ()
    base: "OrderState | None" = None
    compacted_ids: tuple[str, ...] = ()

    @property
    def suspended(self) -> bool:
        return bool(self.suspensions) and self.suspensions[-1].ended_at is None

    @property
    def handoffs_count(self) -> int:
        """Returns plus transfers: how often the order bounced between offices."""
        return self.returns_count + self.transfers_count

    def has_applied(self, input_event_id: str) -> bool:
        if any(fact.event_id == input_event_id for fact in self.facts):
            return True
        if input_event_id in self.compacted_ids:
            return True
        return self.base is not None and self.base.has_applied(input_event_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "order_id": self.order_id,
            "status": self.status,
            "suspended": self.suspended,
            "urgency": self.urgency,
            "category": self.category,
            "channel": self.channel,
            "source": self.source,
            "district": self.district,
            "verdict_status": self.verdict_status,
            "verdict_reasons": list(self.verdict_reasons),
            "received_at": _text(self.received_at),
            "received_by": self.received_by,
            "answered_at": _text(self.answered_at),
            "answered_by": self.answered_by,
            "dispatched_at": _text(self.dispatched_at),
            "signed_at": _text(self.signed_at),
            "first_reply_at": _text(self.first_reply_at),
            "first_reply_by": self.first_reply_by,
            "resolved_at": _text(self.resolved_at),
            "closed_at": _text(self.closed_at),
            "closed_by": self.closed_by,
            "last_event_at": _text(self.last_event_at),
            "current_office_id": self.current_office_id,
            "office_history": [assignment.to_dict() for assignment in self.office_history],
            "returns_count": self.returns_count,
            "transfers_count": self.transfers_count,
            "reopen_count": self.reopen_count,
            "rating": None if self.rating is None else self.rating.to_dict(),
            "suspensions": [suspension.to_dict() for suspension in self.suspensions],
            "extensions": [extension.to_dict() for extension in self.extensions],
            "resolutions": [milestone.to_dict() for milestone in self.resolutions],
            "reopenings": [milestone.to_dict() for milestone in self.reopenings],
            "source_due_at": _text(self.source_due_at),
            "facts": [fact.to_dict() for fact in self.facts],
            "base": None if self.base is None else self.base.to_dict(),
            "compacted_ids": list(self.compacted_ids),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "OrderState":
        return cls(
            order_id=raw["order_id"],
            status=raw["status"],
            urgency=raw["urgency"],
            category=raw["category"],
            channel=raw["channel"],
            source=raw["source"],
            district=raw["district"],
            verdict_status=raw["verdict_status"],
            verdict_reasons=tuple(raw["verdict_reasons"]),
            received_at=_instant(raw["received_at"]),
            received_by=raw["received_by"],
            answered_at=_instant(raw["answered_at"]),
            answered_by=raw["answered_by"],
            dispatched_at=_instant(raw["dispatched_at"]),
            signed_at=_instant(raw["signed_at"]),
            first_reply_at=_instant(raw["first_reply_at"]),
            first_reply_by=raw["first_reply_by"],
            resolved_at=_instant(raw["resolved_at"]),
            closed_at=_instant(raw["closed_at"]),
            closed_by=raw["closed_by"],
            last_event_at=_instant(raw["last_event_at"]),
            current_office_id=raw["current_office_id"],
            office_history=tuple(Assignment.from_dict(item) for item in raw["office_history"]),
            returns_count=raw["returns_count"],
            transfers_count=raw["transfers_count"],
            reopen_count=raw["reopen_count"],
            rating=None if raw["rating"] is None else Rating.from_dict(raw["rating"]),
            suspensions=tuple(Suspension.from_dict(item) for item in raw["suspensions"]),
            extensions=tuple(Extension.from_dict(item) for item in raw["extensions"]),
            resolutions=tuple(Milestone.from_dict(item) for item in raw["resolutions"]),
            reopenings=tuple(Milestone.from_dict(item) for item in raw["reopenings"]),
            source_due_at=_instant(raw["source_due_at"]),
            facts=tuple(Fact.from_dict(item) for item in raw["facts"]),
            base=None if raw["base"] is None else cls.from_dict(raw["base"]),
            compacted_ids=tuple(raw["compacted_ids"]),
        )


def evolve(state: OrderState | None, event: Mapping[str, Any]) -> OrderState:
    """The order after one more screened event; unchanged when its input id was already applied."""
    if event["type"] not in EVENT_TYPES:
        raise ValueError(f"event {event.get('event_id')!r} has unknown type {event['type']!r}")
    if state is None:
        state = OrderState(order_id=event["order_id"])
    elif event["order_id"] != state.order_id:
        raise ValueError(f"event for order {event['order_id']!r} applied to order {state.order_id!r}")
    if state.has_applied(event["caused_by"]):
        return state
    fact = Fact.from_screened(event)
    if state.facts and fact.sort_key > state.facts[-1].sort_key and len(state.facts) < MAX_FACTS:
        # The usual case, a fact later than every other: the state already is the fold
        # of the others, so folding on from it gives what re-deriving all of them would.
        derivation = _Derivation.starting_from(state)
        derivation.apply(fact)
        return derivation.result(state.order_id, state.base, (*state.facts, fact))
    facts = tuple(sorted((*state.facts, fact), key=lambda fact: fact.sort_key))
    base = state.base
    if len(facts) > MAX_FACTS:
        older, facts = facts[: MAX_FACTS // 2], facts[MAX_FACTS // 2 :]
        snapshot = _derive(state.order_id, base, older)
        remembered = (*(base.compacted_ids if base else ()), *(fact.event_id for fact in older))
        base = evolved(snapshot, facts=(), base=None, compacted_ids=remembered[-MAX_COMPACTED_IDS:])
    return _derive(state.order_id, base, facts)


def restore(order_id: str, facts: tuple[Fact, ...], base: OrderState | None = None) -> OrderState:
    """The order whose applied facts are `facts` (after the snapshot `base`, if any): the
    state `evolve` built from them, so a stored order needs to keep only its facts."""
    return _derive(order_id, base, facts)


def fold(events: list[Mapping[str, Any]], state: OrderState | None = None) -> OrderState | None:
    """Apply events in the given (arrival) order; a convenience for replays and tests."""
    for event in events:
        state = evolve(state, event)
    return state


# The fields a derivation carries on from the state it starts from (the rest it rebuilds).
_CARRIED_FIELDS = tuple(
    "status urgency category channel source district verdict_status verdict_reasons received_at received_by "
    "answered_at answered_by dispatched_at signed_at first_reply_at first_reply_by resolved_at closed_at "
    "closed_by last_event_at "
    "returns_count transfers_count reopen_count rating source_due_at".split()
)


# Each event type's method of `_Derivation`: "order.signed" -> "_order_signed".
_HANDLER_NAMES = {event_type: "_" + event_type.replace(".", "_") for event_type in EVENT_TYPES}


@dataclass
class _Derivation:
    """Mutable scratch state of one derivation; never leaves this module."""

    fields: dict[str, Any] = field(default_factory=dict)
    history: list[Assignment] = field(default_factory=list)
    current: int | None = None
    suspensions: list[Suspension] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    resolutions: list[Milestone] = field(default_factory=list)
    reopenings: list[Milestone] = field(default_factory=list)

    @classmethod
    def starting_from(cls, base: OrderState | None) -> "_Derivation":
        if base is None:
            return cls(
                fields={
                    "status": "unknown",
                    "returns_count": 0,
                    "transfers_count": 0,
                    "reopen_count": 0,
                    "verdict_reasons": (),
                }
            )
        history = list(base.office_history)
        open_stints = [index for index, stint in enumerate(history) if stint.left_at is None]
        attributes = base.__dict__
        return cls(
            fields={name: attributes[name] for name in _CARRIED_FIELDS},
            history=history,
            current=open_stints[-1] if open_stints else None,
            suspensions=list(base.suspensions),
            extensions=list(base.extensions),
            resolutions=list(base.resolutions),
            reopenings=list(base.reopenings),
        )

    def first(self, name: str, value: Any) -> None:
        if self.fields.get(name) is None:
            self.fields[name] = value

    def leave_current(self, fact: Fact, via: str) -> None:
        if self.current is not None:
            self.history[self.current] = evolved(
                self.history[self.current], left_at=fact.occurred_at, left_by=fact.event_id, left_via=via
            )
            self.current = None

    def assign(self, office_id: str, fact: Fact, via: str) -> None:
        if self.current is not None:
            if self.history[self.current].office_id == office_id:
                return
            self.leave_current(fact, "redispatched")
        self.history.append(Assignment(office_id, fact.occurred_at, fact.event_id, via))
        self.current = len(self.history) - 1
        self.first("dispatched_at", fact.occurred_at)

    def apply(self, fact: Fact) -> None:
        at = fact.occurred_at
        handler = getattr(self, _HANDLER_NAMES[fact.type])
        handler(fact, at)
        self.fields["last_event_at"] = max(filter(None, (self.fields.get("last_event_at"), at)))

    def _appeal_received(self, fact: Fact, at: datetime) -> None:
        if self.fields.get("received_at") is None:
            self.fields.update(received_at=at, received_by=fact.event_id)
        for name in ("urgency", "category", "channel", "source"):
            if fact.get(name) is not None:
                self.fields[name] = fact.get(name)
        if fact.get("location_district") is not None:
            self.fields["district"] = fact.get("location_district")
        self.fields["verdict_status"] = fact.verdict_status
        self.fields["verdict_reasons"] = fact.verdict_reasons
        if fact.get("due_at") is not None:
            self.fields["source_due_at"] = parse_rfc3339(fact.get("due_at"))
        if self.fields["status"] == "unknown":
            self.fields["status"] = "received"
        if fact.get("office_id") is not None:
            # The source (a 311 agency) already named the office: receipt is the dispatch.
            self.assign(fact.get("office_id"), fact, "received")
            if self.fields["status"] == "received":
                self.fields["status"] = "dispatched"

    def _appeal_answered(self, fact: Fact, at: datetime) -> None:
        if self.fields.get("answered_at") is None:
            self.fields.update(answered_at=at, answered_by=fact.event_id)
        self.fields["status"] = "answered"

    def _order_dispatched(self, fact: Fact, at: datetime) -> None:
        if fact.get("due_at") is not None:
            self.fields["source_due_at"] = parse_rfc3339(fact.get("due_at"))
        self.assign(fact.get("office_id"), fact, "dispatched")
        self.fields["status"] = "dispatched"

    def _order_signed(self, fact: Fact, at: datetime) -> None:
        office_id = fact.get("office_id")
        if self.current is None or self.history[self.current].office_id != office_id:
            # Signed by an office whose dispatch is not (yet) known: it holds the order now.
            self.assign(office_id, fact, "signed")
        stint = self.history[self.current]
        if stint.signed_at is None:
            self.history[self.current] = evolved(stint, signed_at=at, signed_by=fact.event_id)
        self.first("signed_at", at)
        if self.fields["status"] in ("unknown", "received", "dispatched", "returned"):
            self.fields["status"] = "signed"

    def _order_returned(self, fact: Fact, at: datetime) -> None:
        self.leave_current(fact, "returned")
        self.fields["returns_count"] += 1
        self.fields["status"] = "returned"

    def _order_transferred(self, fact: Fact, at: datetime) -> None:
        self.leave_current(fact, "transferred")
        self.assign(fact.get("to_office_id"), fact, "transferred")
        self.fields["transfers_count"] += 1
        self.fields["status"] = "dispatched"

    def _order_replied(self, fact: Fact, at: datetime) -> None:
        if self.fields.get("first_reply_at") is None:
            self.fields.update(first_reply_at=at, first_reply_by=fact.event_id)

    def _order_suspended(self, fact: Fact, at: datetime) -> None:
        if not self.suspensions or self.suspensions[-1].ended_at is not None:
            self.suspensions.append(Suspension(at, fact.event_id))

    def _order_resumed(self, fact: Fact, at: datetime) -> None:
        if self.suspensions and self.suspensions[-1].ended_at is None:
            self.suspensions[-1] = evolved(self.suspensions[-1], ended_at=at, ended_by=fact.event_id)

    def _order_extended(self, fact: Fact, at: datetime) -> None:
        self.extensions.append(
            Extension(at, fact.event_id, fact.get("extension_working_days"), fact.get("extension_hours"))
        )

    def _order_resolved(self, fact: Fact, at: datetime) -> None:
        self.resolutions.append(Milestone(at, fact.event_id))
        self.fields["resolved_at"] = at
        self.fields["status"] = "resolved"

    def _order_rated(self, fact: Fact, at: datetime) -> None:
        self.fields["rating"] = Rating(at, fact.get("satisfaction"), fact.get("resolved"))

    def _order_reopened(self, fact: Fact, at: datetime) -> None:
        self.reopenings.append(Milestone(at, fact.event_id))
        self.fields["reopen_count"] += 1
        self.fields["resolved_at"] = None
        self.fields.update(closed_at=None, closed_by=None)
        self.fields["status"] = "reopened"

    def _order_closed(self, fact: Fact, at: datetime) -> None:
        self.fields.update(closed_at=at, closed_by=fact.event_id)
        self.fields["status"] = "closed"

    def result(self, order_id: str, base: OrderState | None, facts: tuple[Fact, ...]) -> OrderState:
        current_office_id = None if self.current is None else self.history[self.current].office_id
        return built(
            OrderState,
            order_id=order_id,
            current_office_id=current_office_id,
            office_history=tuple(self.history),
            suspensions=tuple(self.suspensions),
            extensions=tuple(self.extensions),
            resolutions=tuple(self.resolutions),
            reopenings=tuple(self.reopenings),
            facts=facts,
            base=base,
            **self.fields,
        )


def _derive(order_id: str, base: OrderState | None, facts: tuple[Fact, ...]) -> OrderState:
    derivation = _Derivation.starting_from(base)
    for fact in facts:
        derivation.apply(fact)
    return derivation.result(order_id, base, facts)
