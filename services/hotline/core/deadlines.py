"""Deadline clocks of a work order: policies, due instants, warnings, breaches, met targets.

Consumes an `OrderState` (hotline.core.orders), the deadline policy (config/deadlines.toml)
and an event-time horizon (the screened event's time or the partition watermark).
Produces `hotline.deadlines.v1` events as dicts (deadline.warning, deadline.breached,
deadline.met, deadline.cancelled) and a JSON-able `DeadlineState` that remembers which
of them were already emitted, so replay and redelivery never emit one twice.

Targets and their clocks (one clock per responsibility, identified by
`clock_id = "<order_id>:<target>:<input event id that started it>"`, stable when events
arrive out of order):

- sign_for: starts at each hand-over to an office (order.dispatched, or the receiving
  side of order.transferred); met when that office signs (order.signed); cancelled when
  the office returns or passes the order on, or the order is answered or closed first.
  A receipt whose source already named the office (311 imports) starts no sign_for
  clock: those sources have no signing step.
- first_response: starts at the order's first hand-over to an office; met by the first
  order.replied or order.resolved after it; cancelled if the order is answered or closed
  first.
- resolution: starts at the first assignment to an office (order.dispatched, or
  appeal.received naming the office) — the office cannot act before it holds the order,
  and returns or transfers do NOT restart it, so bouncing an order never buys time. A
  reopening starts a new cycle with a fresh clock. Satisfied by the cycle's first
  order.resolved, or by order.closed when the cycle has no resolution; cancelled by
  appeal.answered or by a reopening before either. A due time carried by the source
  (data.due_at on appeal.received / order.dispatched) replaces the policy for the first
  cycle: that clock starts at receipt (the source's own origin), counts calendar time
  and is due at the source's due_at.

Every clock pauses while the order is suspended and resumes after; approved extensions
(order.extended) approved during a resolution cycle lengthen that cycle's clock: an
extension in working days adds 86 400 working seconds per day to a working-day clock
and 24 h per day to a calendar-hours clock; one in hours adds that many hours of the
clock's own time. Working-day clocks count working seconds on the Chinese calendar
(hotline.core.workcalendar).

Working-day counting (per target, config `working_days_counting`): `civil_code` (the
default) does not count the day the clock starts and ends the period at 24:00 of its
last working day, as Chinese law counts periods in days (Civil Code arts. 200-204):
dispatched Monday 10:25, 5 working days are due at 24:00 of the fifth working day after
Monday. The clock gets the working time left in its start day on top of its allowance,
so `allowed_seconds` is the working time from the start to that 24:00 and everything
else is measured from the start as for an `elapsed` clock (which counts from the start
instant itself: due at 10:25 of the fifth working day): warnings fire at their fraction
of that working time, a suspension moves the due instant by exactly the working time it
held (it may then fall inside a day), an extension of n working days moves it by n
working days.

Outcomes: warnings fire at fractions of the allowed time, in the clock's own time; a
breach fires at the due instant. An instant fires once the horizon has passed it
(horizon > instant), because a target satisfied exactly at its due instant is met; a clock satisfied at or before its due instant is met
(occurred_at = when it was satisfied), one satisfied later is breached (occurred_at =
the due instant), so a closed order is met exactly when it closed at or before the due
instant. Each (clock, kind) is emitted once; after a breach no met or cancelled follows.

Limits: working-day arithmetic raises CalendarRangeError (a ValueError) for dates past
the calendar library's last known year; `deadline_events` then raises before changing
anything, so the caller can dead-letter that event and keep the previous DeadlineState
(the clocks are recomputed from the whole order on its next event). Breaches are
decided against the horizon given: pass the watermark less any allowed lateness, or a
closure that arrives after the watermark passed its due instant is already breached.

Event identity: event_id = derived_event_id(clock_id, kind) with kind one of
"deadline.warning:<fraction>", "deadline.breached", "deadline.met",
"deadline.cancelled". caused_by is the input event that ended the clock for met and
cancelled events, and the clock_id (order id + target + starting event) for warnings
and breaches, which no single input event causes.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple

from hotline.core.config_tables import check, reject_unknown_keys
from hotline.core.ids import derived_event_id
from hotline.core.orders import OrderState
from hotline.core.records import built, evolved
from hotline.core.timeutil import format_utc, parse_rfc3339
from hotline.core.workcalendar import (
    WORKING_DAY_SECONDS,
    add_working_seconds,
    end_of_local_day,
    working_seconds_between,
)

TARGETS = ("sign_for", "first_response", "resolution")
URGENCIES = ("normal", "urgent", "emergency")
DEFAULT_WARNING_FRACTIONS = (0.5, 0.75)
DEADLINES_SCHEMA_VERSION = 1

CALENDAR = "calendar"
WORKING = "working"
CIVIL_CODE = "civil_code"
ELAPSED = "elapsed"
WORKING_DAYS_COUNTINGS = (CIVIL_CODE, ELAPSED)
POLICY = "policy"
SOURCE_DUE = "source_due"
SATISFIED = "satisfied"
CANCELLED = "cancelled"


# --- policy -------------------------------------------------------------------------


@dataclass(frozen=True)
class Allowance:
    """How long a target may take: `seconds` of calendar time or of working time.

    `working_days_counting` says where a working-day allowance starts counting:
    civil_code (from 24:00 of the day the clock starts) or elapsed (from the start
    itself). A calendar allowance ignores it.
    """

    unit: str  # calendar | working
    seconds: float
    warning_fractions: tuple[float, ...] = DEFAULT_WARNING_FRACTIONS
    working_days_counting: str = CIVIL_CODE


@dataclass(frozen=True)
class DeadlinePolicy:
    """Allowances by (target, urgency), with optional (target, category, urgency) overrides."""

    allowances: Mapping[tuple[str, str], Allowance]
    category_allowances: Mapping[tuple[str, str, str], Allowance] = field(default_factory=dict)

    def allowance(self, target: str, urgency: str | None, category: str | None) -> Allowance:
        urgency = urgency if urgency in URGENCIES else "normal"
        specific = self.category_allowances.get((target, category or "", urgency))
        return specific if specific is not None else self.allowances[(target, urgency)]


def _fractions(value: Any, path: Path, field_name: str) -> tuple[float, ...]:
    check(isinstance(value, list), path, field_name, f"expected a list of fractions, got {value!r}")
    for item in value:
        check(
            isinstance(item, (int, float)) and not isinstance(item, bool) and 0 < item < 1,
            path,
            field_name,
            f"every fraction must be a number between 0 and 1 (exclusive), got {item!r}",
        )
    check(list(value) == sorted(set(value)), path, field_name, f"fractions must increase strictly, got {value!r}")
    return tuple(float(item) for item in value)


def _counting(value: Any, path: Path, field_name: str) -> str:
    check(
        value in WORKING_DAYS_COUNTINGS,
        path,
        field_name,
        f"expected one of {', '.join(repr(name) for name in WORKING_DAYS_COUNTINGS)}, got {value!r}",
    )
    return value


def _allowance(
    table: Any, path: Path, field_name: str, default_fractions: tuple[float, ...], counting: str = CIVIL_CODE
) -> Allowance:
    check(isinstance(table, dict), path, field_name, f"expected a table such as {{ hours = 2 }}, got {table!r}")
    reject_unknown_keys(table, ("hours", "working_days", "warning_fractions"), path, field_name)
    check(("hours" in table) != ("working_days" in table), path, field_name, "needs exactly one of hours or working_days")
    fractions = (
        _fractions(table["warning_fractions"], path, f"{field_name}.warning_fractions")
        if "warning_fractions" in table
        else default_fractions
    )
    if "hours" in table:
        hours = table["hours"]
        check(
            isinstance(hours, (int, float)) and not isinstance(hours, bool) and hours > 0,
            path,
            f"{field_name}.hours",
            f"expected a positive number of hours, got {hours!r}",
        )
        return Allowance(CALENDAR, float(hours) * 3600, fractions)
    days = table["working_days"]
    check(
        isinstance(days, int) and not isinstance(days, bool) and days >= 1,
        path,
        f"{field_name}.working_days",
        f"expected a positive whole number of working days, got {days!r}",
    )
    return Allowance(WORKING, float(days * WORKING_DAY_SECONDS), fractions, counting)


def parse_deadline_policy(raw: Mapping[str, Any], path: Path | str) -> DeadlinePolicy:
    path = Path(path)
    reject_unknown_keys(raw, ("warning_fractions", "working_days_counting", *TARGETS), path)
    default_fractions = _fractions(raw.get("warning_fractions", list(DEFAULT_WARNING_FRACTIONS)), path, "warning_fractions")
    default_counting = _counting(raw.get("working_days_counting", CIVIL_CODE), path, "working_days_counting")
    allowances: dict[tuple[str, str], Allowance] = {}
    category_allowances: dict[tuple[str, str, str], Allowance] = {}
    for target in TARGETS:
        check(target in raw, path, target, "is missing")
        table = raw[target]
        check(isinstance(table, dict), path, target, f"expected a table, got {table!r}")
        reject_unknown_keys(table, (*URGENCIES, "categories", "working_days_counting"), path, target)
        counting = (
            _counting(table["working_days_counting"], path, f"{target}.working_days_counting")
            if "working_days_counting" in table
            else default_counting
        )
        for urgency in URGENCIES:
            check(urgency in table, path, f"{target}.{urgency}", "is missing")
            allowances[(target, urgency)] = _allowance(
                table[urgency], path, f"{target}.{urgency}", default_fractions, counting
            )
        categories = table.get("categories", {})
        # Its keys are category names (data, free); the tables under them are settings.
        check(isinstance(categories, dict), path, f"{target}.categories", "expected a table of categories")
        for category, by_urgency in categories.items():
            prefix = f"{target}.categories.{category}"
            check(isinstance(by_urgency, dict) and by_urgency, path, prefix, "expected a table of urgencies")
            reject_unknown_keys(by_urgency, URGENCIES, path, prefix)
            for urgency, allowance in by_urgency.items():
                category_allowances[(target, category, urgency)] = _allowance(
                    allowance, path, f"{prefix}.{urgency}", default_fractions, counting
                )
    return DeadlinePolicy(allowances, category_allowances)


# --- clock arithmetic ---------------------------------------------------------------

Interval = tuple[datetime, datetime | None]


def _measure(unit: str, start: datetime, end: datetime) -> float:
    if end <= start:
        return 0.0
    if unit == WORKING:
        return working_seconds_between(start, end)
    return (end - start).total_seconds()


def _advance(unit: str, start: datetime, seconds: float) -> datetime:
    if unit == WORKING:
        return add_working_seconds(start, seconds)
    return start + timedelta(seconds=seconds)


def _instant_after(unit: str, start: datetime, budget_seconds: float, pauses: tuple[Interval, ...]) -> datetime | None:
    """When `budget_seconds` of the clock's time have run since `start`; None while paused for good."""
    cursor = start
    remaining = budget_seconds
    for pause_start, pause_end in pauses:
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            running = _measure(unit, cursor, pause_start)
            if remaining <= running:
                return _advance(unit, cursor, remaining)
            remaining -= running
        if pause_end is None:
            return None
        cursor = max(cursor, pause_end)
    return _advance(unit, cursor, remaining)


def _elapsed(unit: str, start: datetime, end: datetime, pauses: tuple[Interval, ...]) -> float:
    total = _measure(unit, start, end)
    for pause_start, pause_end in pauses:
        overlap_start = max(pause_start, start)
        overlap_end = end if pause_end is None else min(pause_end, end)
        total -= _measure(unit, overlap_start, overlap_end)
    return total


# --- clocks -------------------------------------------------------------------------


@dataclass(frozen=True)
class Clock:
    """One target's clock, computed from the order's facts.

    `ended_at` / `ended_by` / `outcome` say how it stopped (satisfied or cancelled, with
    `end_reason`), None while it runs. `due_at` is None while an open suspension holds
    the clock. `warnings` pairs each fraction with its instant (None when paused first).
    `inputs` is everything the clock was computed from, as (schedule inputs, ending), so
    that the next event of the order reuses it when they are unchanged, and its due and
    warning instants when only the ending changed; the orders table keeps no clocks (see
    `DeadlineState`).
    """

    clock_id: str
    target: str
    started_at: datetime
    started_by: str
    office_id: str | None
    urgency: str
    category: str | None
    unit: str
    basis: str
    allowed_seconds: float
    due_at: datetime | None
    warnings: tuple[tuple[float, datetime | None], ...]
    ended_at: datetime | None = None
    ended_by: str | None = None
    outcome: str | None = None
    end_reason: str | None = None
    elapsed_at_end_seconds: float | None = None
    inputs: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clock_id": self.clock_id,
            "target": self.target,
            "started_at": format_utc(self.started_at),
            "started_by": self.started_by,
            "office_id": self.office_id,
            "urgency": self.urgency,
            "category": self.category,
            "unit": self.unit,
            "basis": self.basis,
            "allowed_seconds": self.allowed_seconds,
            "due_at": None if self.due_at is None else format_utc(self.due_at),
            "warnings": [[fraction, None if at is None else format_utc(at)] for fraction, at in self.warnings],
            "ended_at": None if self.ended_at is None else format_utc(self.ended_at),
            "ended_by": self.ended_by,
            "outcome": self.outcome,
            "end_reason": self.end_reason,
            "elapsed_at_end_seconds": self.elapsed_at_end_seconds,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Clock":
        def instant(text: str | None) -> datetime | None:
            return None if text is None else parse_rfc3339(text)

        return cls(
            clock_id=raw["clock_id"],
            target=raw["target"],
            started_at=parse_rfc3339(raw["started_at"]),
            started_by=raw["started_by"],
            office_id=raw["office_id"],
            urgency=raw["urgency"],
            category=raw["category"],
            unit=raw["unit"],
            basis=raw["basis"],
            allowed_seconds=raw["allowed_seconds"],
            due_at=instant(raw["due_at"]),
            warnings=tuple((fraction, instant(at)) for fraction, at in raw["warnings"]),
            ended_at=instant(raw["ended_at"]),
            ended_by=raw["ended_by"],
            outcome=raw["outcome"],
            end_reason=raw["end_reason"],
            elapsed_at_end_seconds=raw["elapsed_at_end_seconds"],
        )


class _Ending(NamedTuple):
    # A tuple: clock reuse compares endings on every event, and tuples compare cheaply.
    at: datetime
    by: str
    outcome: str
    reason: str


def _first_ending(start: datetime, candidates: Iterable[_Ending | None]) -> _Ending | None:
    # Satisfaction wins a tie with a cancellation: the office did what was asked in time.
    first = None
    for ending in candidates:
        if ending is None or ending.at < start:
            continue
        if first is None or ending.at < first.at or (ending.at == first.at and first.outcome != SATISFIED and ending.outcome == SATISFIED):
            first = ending
    return first


def _ending(at: datetime | None, by: str | None, outcome: str, reason: str) -> _Ending | None:
    return None if at is None or by is None else _Ending(at, by, outcome, reason)


def _extension_seconds(working_days: int | None, hours: float | None) -> float:
    if working_days is not None:
        return float(working_days * WORKING_DAY_SECONDS)
    return float(hours or 0) * 3600


class _Shared(NamedTuple):
    """What every clock of one order reads alike, taken once per `clocks_of`."""

    order: OrderState
    urgency: str
    pauses: tuple[tuple[datetime, datetime | None], ...]
    known: Mapping[str, Clock]
    left_out: frozenset[str]


def _shared(order: OrderState, previous: Iterable[Clock], left_out: frozenset[str]) -> _Shared:
    return _Shared(
        order,
        order.urgency if order.urgency in URGENCIES else "normal",
        tuple((pause.started_at, pause.ended_at) for pause in order.suspensions),
        {clock.clock_id: clock for clock in previous if clock.inputs is not None},
        left_out,
    )


def _build_clock(
    shared: _Shared,
    target: str,
    started_at: datetime,
    started_by: str,
    office_id: str | None,
    allowance: Allowance,
    basis: str,
    ending: _Ending | None,
    extra_seconds: float = 0.0,
) -> Clock | None:
    """The clock of `target` started by `started_by`; the one `shared.known` holds under
    its id when it was computed from the same inputs (or that one with the new ending
    when only the ending changed); None when its id is left out."""
    order = shared.order
    clock_id = f"{order.order_id}:{target}:{started_by}"
    if clock_id in shared.left_out:
        return None
    pauses, urgency = shared.pauses, shared.urgency
    schedule = (started_at, office_id, urgency, order.category, allowance, basis, extra_seconds, pauses)
    known = shared.known.get(clock_id)
    if known is not None and known.inputs[0] == schedule:
        if known.inputs[1] == ending:
            return known
        # Signed, replied, resolved or closed: the clock ends, its instants stay.
        return evolved(known, **_ending_fields(allowance.unit, started_at, ending, pauses), inputs=(known.inputs[0], ending))
    allowed = allowance.seconds + extra_seconds
    if allowance.unit == WORKING and allowance.working_days_counting == CIVIL_CODE:
        # The day the clock starts is not counted (Civil Code art. 201): its remaining
        # working time is added to the allowance, so the due instant is 24:00 of the
        # last counted working day and every other rule (warnings, pauses, extensions,
        # elapsed time) measures the clock from its start as an elapsed clock does.
        allowed += working_seconds_between(started_at, end_of_local_day(started_at))
    return built(
        Clock,
        clock_id=clock_id,
        target=target,
        started_at=started_at,
        started_by=started_by,
        office_id=office_id,
        urgency=urgency,
        category=order.category,
        unit=allowance.unit,
        basis=basis,
        allowed_seconds=allowed,
        due_at=_instant_after(allowance.unit, started_at, allowed, pauses),
        warnings=tuple(
            (fraction, _instant_after(allowance.unit, started_at, fraction * allowed, pauses))
            for fraction in allowance.warning_fractions
        ),
        **_ending_fields(allowance.unit, started_at, ending, pauses),
        inputs=(schedule, ending),
    )


def _ending_fields(unit: str, started_at: datetime, ending: _Ending | None, pauses: tuple[Interval, ...]) -> dict[str, Any]:
    """A clock's fields that say how it stopped."""
    if ending is None:
        return {"ended_at": None, "ended_by": None, "outcome": None, "end_reason": None, "elapsed_at_end_seconds": None}
    return {
        "ended_at": ending.at,
        "ended_by": ending.by,
        "outcome": ending.outcome,
        "end_reason": ending.reason,
        "elapsed_at_end_seconds": _elapsed(unit, started_at, ending.at, pauses),
    }


def _order_endings(order: OrderState) -> list[_Ending | None]:
    return [
        _ending(order.answered_at, order.answered_by, CANCELLED, "answered"),
        _ending(order.closed_at, order.closed_by, CANCELLED, "closed"),
    ]


def clocks_of(
    order: OrderState, policy: DeadlinePolicy, previous: Iterable[Clock] = (), left_out: frozenset[str] = frozenset()
) -> tuple[Clock, ...]:
    """Every clock the order's facts define, in start order (see the module docstring),
    but those whose ids are `left_out`.

    A clock of `previous` (the order's clocks before its latest event) computed from the
    same inputs is reused rather than computed again."""
    shared = _shared(order, previous, left_out)
    clocks: list[Clock | None] = []
    handovers = [stint for stint in order.office_history if stint.via in ("dispatched", "transferred")]
    for stint in handovers:
        ending = _first_ending(
            stint.assigned_at,
            [
                _ending(stint.signed_at, stint.signed_by, SATISFIED, "signed"),
                _ending(stint.left_at, stint.left_by, CANCELLED, stint.left_via or "left"),
                *_order_endings(order),
            ],
        )
        allowance = policy.allowance("sign_for", order.urgency, order.category)
        clocks.append(
            _build_clock(shared, "sign_for", stint.assigned_at, stint.assigned_by, stint.office_id, allowance, POLICY, ending)
        )
    if handovers:
        first = handovers[0]
        first_resolution = next((m for m in order.resolutions if m.at >= first.assigned_at), None)
        ending = _first_ending(
            first.assigned_at,
            [
                _ending(order.first_reply_at, order.first_reply_by, SATISFIED, "replied"),
                None if first_resolution is None else _Ending(first_resolution.at, first_resolution.by, SATISFIED, "resolved"),
                *_order_endings(order),
            ],
        )
        allowance = policy.allowance("first_response", order.urgency, order.category)
        clocks.append(
            _build_clock(shared, "first_response", first.assigned_at, first.assigned_by, None, allowance, POLICY, ending)
        )
    clocks.extend(_resolution_clocks(shared, policy))
    return tuple(clock for clock in clocks if clock is not None)


def clock_inputs(order: OrderState, policy: DeadlinePolicy) -> tuple[Any, ...]:
    """Everything `clocks_of` reads of an order, and the policy: orders with equal
    inputs have equal clocks. Some events change none of them (a reply after the first,
    a rating), and comparing these is far cheaper than deriving every clock's own
    inputs."""
    return (
        policy,
        order.order_id,
        order.urgency,
        order.category,
        order.office_history,
        order.suspensions,
        order.extensions,
        order.resolutions,
        order.reopenings,
        order.first_reply_at,
        order.first_reply_by,
        order.answered_at,
        order.answered_by,
        order.closed_at,
        order.closed_by,
        order.received_at,
        order.received_by,
        order.source_due_at,
    )


def _resolution_clocks(shared: _Shared, policy: DeadlinePolicy) -> list[Clock | None]:
    # Asked on nearly every event of every order: plain loops, no closures or generators.
    order = shared.order
    history = order.office_history
    if not history:
        return []
    first_assignment = history[0]  # the first of the earliest assignments, as min() picks
    for stint in history:
        if stint.assigned_at < first_assignment.assigned_at:
            first_assignment = stint
    first_at = first_assignment.assigned_at
    cycle_starts: list[tuple[datetime, str]] = [(first_at, first_assignment.assigned_by)]
    cycle_starts += [(reopening.at, reopening.by) for reopening in order.reopenings if reopening.at > first_at]
    policy_allowance = policy.allowance("resolution", order.urgency, order.category)
    answered = _ending(order.answered_at, order.answered_by, CANCELLED, "answered")
    last = len(cycle_starts) - 1
    clocks = []
    for index, (started_at, started_by) in enumerate(cycle_starts):
        next_start = cycle_starts[index + 1] if index < last else None
        end_limit = None if next_start is None else next_start[0]
        resolution = None
        for milestone in order.resolutions:
            at = milestone.at
            if at >= started_at and (end_limit is None or at < end_limit):
                resolution = milestone
                break
        candidates = [
            None if resolution is None else _Ending(resolution.at, resolution.by, SATISFIED, "resolved"),
            answered,
            None if next_start is None else _Ending(next_start[0], next_start[1], CANCELLED, "reopened"),
        ]
        if next_start is None and resolution is None:
            candidates.append(_ending(order.closed_at, order.closed_by, SATISFIED, "closed"))
        extra_seconds = 0.0
        allowance = policy_allowance
        basis = POLICY
        if index == 0 and order.source_due_at is not None:
            # The source's own due time counts from its own origin, the receipt.
            if order.received_at is not None and order.received_by is not None:
                started_at, started_by = order.received_at, order.received_by
            basis = SOURCE_DUE
            allowance = _source_due_allowance(max(0.0, (order.source_due_at - started_at).total_seconds()), allowance.warning_fractions)
        # An extension counts in the cycle it was approved in (from the clock's start,
        # the receipt for a source's due time).
        for extension in order.extensions:
            approved_at = extension.approved_at
            if approved_at >= started_at and (end_limit is None or approved_at < end_limit):
                extra_seconds += _extension_seconds(extension.working_days, extension.hours)
        ending = _first_ending(started_at, candidates)
        clocks.append(_build_clock(shared, "resolution", started_at, started_by, None, allowance, basis, ending, extra_seconds))
    return clocks


@lru_cache(maxsize=4096)
def _source_due_allowance(seconds: float, warning_fractions: tuple[float, ...]) -> Allowance:
    """The calendar allowance up to a source's due time: one record per value, so that a
    clock's unchanged schedule compares by identity on the next event."""
    return Allowance(CALENDAR, seconds, warning_fractions)


# --- emission -----------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineState:
    """What the deadline stage remembers per order: its clocks, the (clock, kind) pairs
    already emitted and the next instant a due check has something to do.

    `clocks` is None in a state read back from the orders table: the clocks are a
    function of the order and the policy (`clocks_of`), so the table does not keep them
    and the tracker computes them when it needs them.
    """

    clocks: tuple[Clock, ...] | None = ()
    fired: frozenset[str] = frozenset()
    next_check_at: datetime | None = None
    # `clock_inputs` of the order `clocks` were computed for (None: not known).
    clocks_from: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clocks": None if self.clocks is None else [clock.to_dict() for clock in self.clocks],
            "fired": sorted(self.fired),
            "next_check_at": None if self.next_check_at is None else format_utc(self.next_check_at),
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "DeadlineState":
        return cls(
            clocks=None if raw["clocks"] is None else tuple(Clock.from_dict(item) for item in raw["clocks"]),
            fired=frozenset(raw["fired"]),
            next_check_at=None if raw["next_check_at"] is None else parse_rfc3339(raw["next_check_at"]),
        )


def _split_fired(key: str) -> tuple[str, str, str]:
    """A fired key's clock id, separator and kind."""
    return key.rpartition("|")


# The stored form of `DeadlineState.fired`: each clock id with the kinds it emitted, a
# kind by its code, a warning by its fraction as written in its kind ("0.5").
_KIND_CODES = {"deadline.breached": "b", "deadline.met": "m", "deadline.cancelled": "c"}
_KINDS_BY_CODE = {code: kind for kind, code in _KIND_CODES.items()}
_WARNING_PREFIX = "deadline.warning:"


def fired_by_clock(fired: frozenset[str]) -> dict[str, list[str]]:
    """`fired` grouped by clock id, each kind by its code (`fired_from_clocks` reverses it)."""
    grouped: dict[str, list[str]] = {}
    for key in sorted(fired):
        clock_id, _, kind = _split_fired(key)
        code = _KIND_CODES.get(kind)
        if code is None:
            if not kind.startswith(_WARNING_PREFIX):
                raise ValueError(f"fired key {key!r} names no deadline kind")
            code = kind[len(_WARNING_PREFIX) :]
        grouped.setdefault(clock_id, []).append(code)
    return grouped


def fired_from_clocks(grouped: Mapping[str, list[str]]) -> frozenset[str]:
    return frozenset(
        f"{clock_id}|{_KINDS_BY_CODE.get(code) or _WARNING_PREFIX + code}" for clock_id, codes in grouped.items() for code in codes
    )


@dataclass(frozen=True)
class DeadlineStep:
    """The outcome of handling one event or one watermark: events to send, the new state,
    and when this order next needs a due check (None: nothing pending)."""

    events: tuple[dict[str, Any], ...]
    state: DeadlineState
    next_check_at: datetime | None


_TERMINAL_KINDS = ("deadline.breached", "deadline.met", "deadline.cancelled")


@lru_cache(maxsize=64)  # a policy has a handful of fractions, asked for on every event
def _warning_kind(fraction: float) -> str:
    return f"deadline.warning:{fraction:g}"


def _office_at(order: OrderState, instant: datetime) -> str | None:
    """The office holding the order at `instant` (the last one assigned before it)."""
    holder = None
    for stint in sorted(order.office_history, key=lambda stint: stint.assigned_at):
        if stint.assigned_at <= instant:
            holder = stint.office_id
    return holder


class DeadlineTracker:
    """The deadline rules bound to one policy. Methods are pure: state in, state out."""

    def __init__(self, policy: DeadlinePolicy):
        self.policy = policy

    def deadline_events(
        self,
        order: OrderState,
        state: DeadlineState | None,
        event: Mapping[str, Any],
        watermark: datetime | None = None,
        offices: Mapping[str, Mapping[str, Any]] | None = None,
        previous_order: OrderState | None = None,
    ) -> DeadlineStep:
        """After `order` has absorbed the screened `event`: recompute the clocks and emit
        met / cancelled for clocks it ended, plus any warning or breach whose instant
        max(event time, watermark) has passed. `previous_order` is the order before the
        event, whose clocks a state read back from the table (clocks None) lacks."""
        state = state or DeadlineState()
        occurred_at = parse_rfc3339(event["occurred_at"])
        horizon = occurred_at if watermark is None else max(occurred_at, watermark)
        inputs = clock_inputs(order, self.policy)
        if state.clocks is not None and state.clocks_from == inputs:
            clocks = state.clocks
        else:
            clocks = clocks_of(order, self.policy, state.clocks or ())
        current_ids = {clock.clock_id for clock in clocks}
        # A late event can move a clock's start (an earlier dispatch turns up): the old
        # clock no longer exists. If it already said something, say it is cancelled.
        previous_clocks = state.clocks
        if previous_clocks is None:
            fired_clock_ids = {_split_fired(key)[0] for key in state.fired}
            if fired_clock_ids <= current_ids:
                previous_clocks = ()
            elif previous_order is None:
                raise ValueError(f"order {order.order_id!r}: the clocks before {event['caused_by']!r} need previous_order")
            else:
                previous_clocks = clocks_of(previous_order, self.policy)
        pauses = tuple((pause.started_at, pause.ended_at) for pause in order.suspensions)
        superseded = tuple(
            evolved(
                clock,
                ended_at=max(occurred_at, clock.started_at),
                ended_by=event["caused_by"],
                outcome=CANCELLED,
                end_reason="superseded",
                elapsed_at_end_seconds=_elapsed(clock.unit, clock.started_at, max(occurred_at, clock.started_at), pauses),
            )
            for clock in previous_clocks
            if clock.clock_id not in current_ids and self._emitted_any(clock, state.fired)
        )
        return self._emit(order, clocks, superseded, state.fired, horizon, offices or {}, inputs)

    def due_checks(
        self,
        order: OrderState,
        state: DeadlineState,
        watermark: datetime,
        offices: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> DeadlineStep:
        """Warnings and breaches whose instant the watermark has passed, each once."""
        if state.clocks is not None:
            return self._emit(order, state.clocks, (), state.fired, watermark, offices or {}, state.clocks_from)
        # Read back from the table: only the clocks with no outcome emitted yet can say
        # anything, so only they are computed, and the state's clocks stay unknown.
        ended = frozenset(clock_id for clock_id, _, kind in map(_split_fired, state.fired) if kind in _TERMINAL_KINDS)
        step = self._emit(order, clocks_of(order, self.policy, left_out=ended), (), state.fired, watermark, offices or {})
        return evolved(step, state=evolved(step.state, clocks=None))

    @staticmethod
    def _emitted_any(clock: Clock, fired: frozenset[str]) -> bool:
        prefix = clock.clock_id + "|"
        return any(key.startswith(prefix) for key in fired)

    def _emit(
        self,
        order: OrderState,
        clocks: tuple[Clock, ...],
        superseded: tuple[Clock, ...],
        fired: frozenset[str],
        horizon: datetime,
        offices: Mapping[str, Mapping[str, Any]],
        clocks_from: tuple[Any, ...] | None = None,
    ) -> DeadlineStep:
        fired_now = set(fired)
        timed_events: list[tuple[datetime, dict[str, Any]]] = []
        pending: list[datetime] = []

        # The clocks that emitted an outcome: a set kept beside `fired_now`, since every
        # clock of every event asks.
        ended_ids = {clock_id for clock_id, _, kind in map(_split_fired, fired) if kind in _TERMINAL_KINDS}

        def fire(clock: Clock, kind: str, at: datetime, **extra: Any) -> None:
            key = f"{clock.clock_id}|{kind}"
            if key in fired_now:
                return
            fired_now.add(key)
            if kind in _TERMINAL_KINDS:
                ended_ids.add(clock.clock_id)
            timed_events.append((at, self._event(order, clock, kind, at, offices, **extra)))

        def ended(clock: Clock) -> bool:
            return clock.clock_id in ended_ids

        for clock in superseded:
            if not ended(clock):
                fire(clock, "deadline.cancelled", clock.ended_at, reason=clock.end_reason)
        for clock in clocks:
            if ended(clock):
                continue
            end = clock.ended_at
            for fraction, warning_at in clock.warnings:
                if warning_at is None or (end is not None and warning_at >= end):
                    continue
                if warning_at < horizon:
                    fire(clock, _warning_kind(fraction), warning_at, fraction=fraction)
                elif f"{clock.clock_id}|{_warning_kind(fraction)}" not in fired_now:
                    pending.append(warning_at)
            late = clock.due_at is not None and (end is None or end > clock.due_at)
            if late and clock.due_at < horizon:
                fire(clock, "deadline.breached", clock.due_at)
            elif late:
                pending.append(clock.due_at)
            elif clock.outcome == SATISFIED:
                fire(clock, "deadline.met", clock.ended_at)
            elif clock.outcome == CANCELLED:
                fire(clock, "deadline.cancelled", clock.ended_at, reason=clock.end_reason)
        next_check_at = min(pending, default=None)
        # Event-time order, then a fixed order for events at the same instant.
        timed_events.sort(key=lambda item: (item[0], item[1]["type"], item[1]["target"], item[1]["clock_id"]))
        events = tuple(payload for _, payload in timed_events)
        new_state = built(DeadlineState, clocks=clocks, fired=frozenset(fired_now), next_check_at=next_check_at, clocks_from=clocks_from)
        return built(DeadlineStep, events=events, state=new_state, next_check_at=next_check_at)

    @staticmethod
    def _event(
        order: OrderState,
        clock: Clock,
        kind: str,
        at: datetime,
        offices: Mapping[str, Mapping[str, Any]],
        fraction: float | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        event_type = kind.split(":", 1)[0]
        office_id = clock.office_id or _office_at(order, at)
        office = offices.get(office_id, {}) if office_id else {}
        if event_type in ("deadline.met", "deadline.cancelled"):
            caused_by = clock.ended_by
            elapsed = clock.elapsed_at_end_seconds
        else:
            caused_by = clock.clock_id
            elapsed = clock.allowed_seconds * (fraction if fraction is not None else 1.0)
        payload = {
            "event_id": derived_event_id(clock.clock_id, kind),
            "caused_by": caused_by,
            "type": event_type,
            "order_id": order.order_id,
            "occurred_at": format_utc(at),
            "schema": DEADLINES_SCHEMA_VERSION,
            "target": clock.target,
            "clock_id": clock.clock_id,
            "clock_started_at": format_utc(clock.started_at),
            "office_id": office_id,
            "office_level": office.get("level"),
            "urgency": clock.urgency,
            "category": clock.category,
            "basis": clock.basis,
            "unit": clock.unit,
            "due_at": None if clock.due_at is None else format_utc(clock.due_at),
            "allowed_seconds": clock.allowed_seconds,
            "elapsed_seconds": elapsed,
        }
        if fraction is not None:
            payload["fraction"] = fraction
        if reason is not None:
            payload["reason"] = reason
        return payload


# --- due index ----------------------------------------------------------------------


class DueIndex:
    """Order ids by the instant of their next due check, so a watermark advance touches
    only the orders with something due. A heap with lazy deletion: rescheduling pushes a
    new entry and leaves the old one to be skipped when it surfaces.

    It is a worker-local cache of every order's `DeadlineState.next_check_at`; rebuild it
    from the table at start-up with `schedule` for each stored state.
    """

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str]] = []
        self._next_at: dict[str, datetime] = {}

    def __len__(self) -> int:
        return len(self._next_at)

    def schedule(self, order_id: str, at: datetime | None) -> None:
        """Set (or clear, with None) the order's next check instant."""
        if at is None:
            self._next_at.pop(order_id, None)
            return
        if self._next_at.get(order_id) == at:
            return
        self._next_at[order_id] = at
        heapq.heappush(self._heap, (at, order_id))
        # Stale entries are garbage; rebuild once they outnumber the live ones.
        if len(self._heap) > 2 * len(self._next_at) + 64:
            self._heap = [(instant, key) for key, instant in self._next_at.items()]
            heapq.heapify(self._heap)

    def items(self):
        """(order id, instant) pairs, in no particular order."""
        return self._next_at.items()

    def next_at(self) -> datetime | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, watermark: datetime) -> list[str]:
        """Order ids whose check instant the watermark has passed, earliest first;
        they leave the index (reschedule each with its new next_check_at)."""
        due: list[str] = []
        while self._heap and self._heap[0][0] < watermark:
            at, order_id = heapq.heappop(self._heap)
            if self._next_at.get(order_id) == at:
                del self._next_at[order_id]
                due.append(order_id)
        return due

    def _drop_stale(self) -> None:
        while self._heap and self._next_at.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)

