"""Rates stage: the official and adjusted assessment rates of every office, live, per
day, ISO week and natural month of event time.

Consumes, on one stream in arrival order, what the orders stage tells about each order
(`order_message`: the order's `OrderContribution` when it changed, `ForwardFilter`), its case
(`case_message`: order id -> case id, from hotline.cases.v1) and the orders stage's
event-time clock (`clock_message`: a tick, or the end of a replay). Produces rows for
hotline.office-rates.v1 (`rates_event`, key office|period), one per office and period,
through the same function `hotline report` ranks with
(`hotline.core.assessment.assess_contributions`), so a replayed period and the live one
agree.

Ranks compare every office of a level, so the stage sees every order: its input has one
key. It keeps each order's contribution and case (`Entry`, the table value) and marks
the periods a change touches. When event time enters a new hour it re-assesses the
marked periods and those in which a pending hand-over's sign-for deadline passed, at
each kind's pace (a day every hour, a week and a month every 6 hours, a period the clock
has just left at once), and returns the rows whose figures changed; the clock message
that ends a replay sends every change at once, and so does every change after it (the
case links that end releases upstream, gathered by `flush_settled`) until events move
event time on again. An order leaves the table `RETENTION`
after its last event: by then every period it counted in has ended and been sent for
good.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Iterable, Mapping

from hotline.core.assessment import (
    PERIOD_KINDS,
    AssessmentSettings,
    Handover,
    OfficeAssessment,
    OrderContribution,
    Period,
    RateCounts,
    RatedOrder,
    assess_contributions,
    parse_period,
    period_of,
)
from hotline.core.ids import derived_event_id
from hotline.core.timeutil import compact_epoch, format_utc, from_epoch

SCHEMA_VERSION = 1
EVENT_TYPE = "rates.assessed"
# The longest period is a month: an order quiet for longer counts in no period still open.
RETENTION = timedelta(days=62)
HOUR_SECONDS = 3600
# How often, in event time, a changed period of each kind is assessed again: a month's
# figures move slowly and re-assessing one costs all of its orders.
REASSESS_EVERY_SECONDS = {"day": HOUR_SECONDS, "week": 6 * HOUR_SECONDS, "month": 6 * HOUR_SECONDS}

ORDER, CASE, CLOCK = "order", "case", "clock"


# --- messages and stored values -------------------------------------------------------


def _instant(seconds: float | None) -> datetime | None:
    return None if seconds is None else from_epoch(seconds)


def _seconds(instant: datetime | None) -> int | float | None:
    return None if instant is None else compact_epoch(instant)


def contribution_to_dict(item: OrderContribution) -> dict[str, Any]:
    rating = item.rating
    return {
        "order_id": item.order_id,
        "kept": item.kept,
        "handovers": [
            [handover.office_id, _seconds(handover.assigned_at), handover.responded, _seconds(handover.pending_until)]
            for handover in item.handovers
        ],
        "rating": None
        if rating is None
        else [rating.office_id, _seconds(rating.rated_at), rating.satisfaction, rating.resolved, rating.failed_rush_closure],
        "last_event_at": _seconds(item.last_event_at),
    }


def contribution_from_dict(raw: Mapping[str, Any]) -> OrderContribution:
    order_id = raw["order_id"]
    rating = raw["rating"]
    return OrderContribution(
        order_id,
        bool(raw["kept"]),
        tuple(
            Handover(order_id, office_id, from_epoch(assigned_at), responded, _instant(pending_until))
            for office_id, assigned_at, responded, pending_until in raw["handovers"]
        ),
        None if rating is None else RatedOrder(order_id, rating[0], from_epoch(rating[1]), rating[2], bool(rating[3]), bool(rating[4])),
        _instant(raw["last_event_at"]),
    )


def order_message(item: OrderContribution) -> dict[str, Any]:
    return {"kind": ORDER, "order": contribution_to_dict(item)}


def case_message(order_id: str, case_id: str) -> dict[str, Any]:
    return {"kind": CASE, "order_id": order_id, "case_id": case_id}


def clock_message(now: datetime, every_change: bool = True) -> dict[str, Any]:
    """Event time reached `now` upstream; `every_change`: send every change at once (the
    end of a replay) rather than at each period kind's pace (live mode's idle ticks)."""
    return {"kind": CLOCK, "at": _seconds(now), "every_change": every_change}


# Orders a worker remembers having forwarded; past that it starts afresh (and forwards
# each order's next contribution again, which the stage takes as it takes any).
FORWARDED_ORDERS_LIMIT = 200_000


class ForwardFilter:
    """Which contributions the orders stage forwards: an order's, when its hand-overs,
    rating or verdict changed since this worker last forwarded it, and the first one of
    each new hour of event time whatever it holds (its latest event moves the stage's
    clock). About four events in ten change none of them (the demo city: 2,347 of
    4,048 order writes forwarded) and stay home.

    Kept per worker: `forget` when partitions move, since another worker may have
    forwarded later contributions of the same orders meanwhile."""

    def __init__(self, limit: int = FORWARDED_ORDERS_LIMIT) -> None:
        self.limit = limit
        self.forwarded: dict[str, int] = {}  # order id -> fingerprint of what was forwarded
        self.hour: int | None = None

    def should_forward(self, item: OrderContribution) -> bool:
        fingerprint = hash((item.kept, item.handovers, item.rating))
        hour = None if item.last_event_at is None else int(item.last_event_at.timestamp() // HOUR_SECONDS)
        new_hour = hour is not None and (self.hour is None or hour > self.hour)
        if not new_hour and self.forwarded.get(item.order_id) == fingerprint:
            return False
        if item.order_id not in self.forwarded and len(self.forwarded) >= self.limit:
            self.forwarded.clear()
        self.forwarded[item.order_id] = fingerprint
        if new_hour:
            self.hour = hour
        return True

    def forget(self) -> None:
        self.forwarded.clear()
        self.hour = None


@dataclass(frozen=True)
class Entry:
    """One order as the stage keeps it: its latest contribution and its case."""

    contribution: OrderContribution | None = None
    case_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "order": None if self.contribution is None else contribution_to_dict(self.contribution),
            "case_id": self.case_id,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> "Entry":
        order = raw.get("order")
        return cls(None if order is None else contribution_from_dict(order), raw.get("case_id"))


def periods_of(item: OrderContribution | None) -> set[str]:
    """The labels of every period (each kind) the order counts in."""
    if item is None:
        return set()
    instants = [handover.assigned_at for handover in item.handovers]
    if item.rating is not None:
        instants.append(item.rating.rated_at)
    return {period_of(instant, kind).label for instant in instants for kind in PERIOD_KINDS}


# --- the rows ----------------------------------------------------------------------------


def _view(counts: RateCounts, score: float | None, rank: int | None) -> dict[str, Any]:
    return {
        "dispatched": counts.dispatched,
        "responded": counts.responded,
        "rated": counts.rated,
        "resolved": counts.resolved,
        "satisfied": counts.satisfied,
        "response_ratio": counts.response_ratio,
        "resolution_ratio": counts.resolution_ratio,
        "satisfaction_ratio": counts.satisfaction_ratio,
        "score": score,
        "rank": rank,
    }


def rates_key(office_id: str, period: Period) -> str:
    return f"{office_id}|{period.label}"


def rates_figures(row: OfficeAssessment, period: Period, as_of: datetime, ranked_in_level: int) -> dict[str, Any]:
    """What a row says, without its identity and instant: a row is sent again only when
    these change."""
    return {
        "office_id": row.office_id,
        "level": row.level,
        "period": {
            "kind": period.kind,
            "label": period.label,
            "starts_at": format_utc(period.starts_at),
            "ends_at": format_utc(period.ends_at),
        },
        "final": as_of >= period.ends_at,
        "ranked_in_level": ranked_in_level,
        "official": _view(row.official, row.official_score, row.official_rank),
        "adjusted": _view(row.adjusted, row.adjusted_score, row.adjusted_rank),
        "rank_shift": row.rank_shift,
    }


def rates_event(figures: Mapping[str, Any], as_of: datetime) -> dict[str, Any]:
    """A hotline.office-rates.v1 event: the row's figures as of `as_of`."""
    caused_by = f"{figures['office_id']}|{figures['period']['label']}:{format_utc(as_of)}"
    return {
        "event_id": derived_event_id(caused_by, EVENT_TYPE),
        "caused_by": caused_by,
        "type": EVENT_TYPE,
        "occurred_at": format_utc(as_of),
        "schema": SCHEMA_VERSION,
        **figures,
    }


def assessed_rows(
    entries: Iterable[Entry], levels: Mapping[str, str | None], period: Period, settings: AssessmentSettings, as_of: datetime
) -> list[dict[str, Any]]:
    """The figures of every office with work in `period`, as of `as_of`."""
    entries = [entry for entry in entries if entry.contribution is not None]
    case_of = {entry.contribution.order_id: entry.case_id for entry in entries if entry.case_id is not None}
    assessment = assess_contributions((entry.contribution for entry in entries), levels, case_of, period, settings, as_of)
    ranked: dict[str | None, int] = {}
    for row in assessment.offices:
        if row.official_rank is not None:
            ranked[row.level] = ranked.get(row.level, 0) + 1
    return [rates_figures(row, period, as_of, ranked.get(row.level, 0)) for row in assessment.offices]


# --- the stage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RatesStep:
    """What one message led to: rows to send (key, event), table writes (order id ->
    stored entry, None to delete) and the event-time clock after it."""

    sent: tuple[tuple[str, dict[str, Any]], ...] = ()
    written: tuple[tuple[str, dict[str, Any] | None], ...] = ()
    clock: datetime | None = None


@dataclass
class RatesBook:
    """The stage's state: entries by order, the periods they count in, what was sent."""

    settings: AssessmentSettings
    entries: dict[str, Entry] = field(default_factory=dict)
    by_period: dict[str, set[str]] = field(default_factory=dict)
    dirty: set[str] = field(default_factory=set)
    pending: list[tuple[float, str]] = field(default_factory=list)  # (sign-for due, order id)
    sent_figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    clock: datetime | None = None
    current: dict[str, str] = field(default_factory=dict)  # kind -> label at the last flush
    assessed_in: dict[str, int] = field(default_factory=dict)  # label -> cadence step it was last assessed in
    # The clock of a replay's end: what arrives after it (case links the end released)
    # goes out at once, until events move event time on again.
    settled_at: datetime | None = None

    @classmethod
    def from_stored(cls, settings: AssessmentSettings, stored: Iterable[tuple[str, Mapping[str, Any]]]) -> "RatesBook":
        """Rebuilt from the table: every period is marked, so the next flush sends the
        rows once more (they are the same rows; the topic is compacted)."""
        book = cls(settings)
        for order_id, value in stored:
            book._put(order_id, Entry.from_dict(value))
            contribution = book.entries[order_id].contribution
            if contribution is not None and contribution.last_event_at is not None:
                book.clock = max(book.clock or contribution.last_event_at, contribution.last_event_at)
        return book

    def _put(self, order_id: str, entry: Entry | None) -> None:
        old = self.entries.get(order_id)
        old_periods = periods_of(None if old is None else old.contribution)
        new_periods = periods_of(None if entry is None else entry.contribution)
        for label in old_periods - new_periods:
            self.by_period.get(label, set()).discard(order_id)
        for label in new_periods:
            self.by_period.setdefault(label, set()).add(order_id)
        self.dirty |= old_periods | new_periods
        if entry is None:
            self.entries.pop(order_id, None)
            return
        self.entries[order_id] = entry
        for handover in entry.contribution.handovers if entry.contribution is not None else ():
            if handover.responded is None and handover.pending_until is not None:
                heapq.heappush(self.pending, (handover.pending_until.timestamp(), order_id))

    def handle(self, message: Mapping[str, Any], levels: Mapping[str, str | None]) -> RatesStep:
        """One message; raises KeyError / ValueError / TypeError for one that is not a
        rates message."""
        kind = message["kind"]
        written: list[tuple[str, dict[str, Any] | None]] = []
        before = self.clock
        if kind == ORDER:
            contribution = contribution_from_dict(message["order"])
            entry = Entry(contribution, self.entries.get(contribution.order_id, Entry()).case_id)
            self._put(contribution.order_id, entry)
            written.append((contribution.order_id, entry.to_dict()))
            self._advance(contribution.last_event_at)
        elif kind == CASE:
            order_id = message["order_id"]
            entry = Entry(self.entries.get(order_id, Entry()).contribution, str(message["case_id"]))
            self._put(order_id, entry)
            written.append((order_id, entry.to_dict()))
        elif kind == CLOCK:
            self._advance(from_epoch(message["at"]))
        else:
            raise ValueError(f"unknown rates message kind {kind!r}")
        if self.clock is None:
            return RatesStep(written=tuple(written))
        moved = before is not None and self.clock > before
        # The end of a replay sends everything marked; otherwise event time entering a new
        # hour does, at each period kind's pace.
        if moved and kind != CLOCK:
            self.settled_at = None
        if kind == CLOCK and moved and message.get("every_change", True):
            self.settled_at = self.clock
            written += self._forget_quiet()
            return RatesStep(tuple(self.flush(levels, every_change=True)), tuple(written), self.clock)
        if kind != CLOCK and self.settled_at is not None:
            # Sent by `flush_settled`, once for a burst of such changes: re-assessing a
            # month per change would cost all of the month's orders each time.
            return RatesStep(written=tuple(written), clock=self.clock)
        if moved and self.clock.timestamp() // HOUR_SECONDS > before.timestamp() // HOUR_SECONDS:
            written += self._forget_quiet()
            return RatesStep(tuple(self.flush(levels)), tuple(written), self.clock)
        return RatesStep(written=tuple(written), clock=self.clock)

    def flush_settled(self, levels: Mapping[str, str | None]) -> RatesStep:
        """After a replay's end, the rows the changes since the last call touched (the
        case links that end released upstream), all at once; nothing otherwise."""
        if self.settled_at is None or not self.dirty:
            return RatesStep()
        return RatesStep(tuple(self.flush(levels, every_change=True)), clock=self.clock)

    def _advance(self, instant: datetime | None) -> None:
        if instant is not None and (self.clock is None or instant > self.clock):
            self.clock = instant

    def _forget_quiet(self) -> list[tuple[str, None]]:
        horizon = self.clock - RETENTION
        quiet = [
            order_id
            for order_id, entry in self.entries.items()
            if entry.contribution is not None and entry.contribution.last_event_at is not None and entry.contribution.last_event_at < horizon
        ]
        for order_id in quiet:
            # Its periods ended long ago: forgetting it must not send them again.
            labels = periods_of(self.entries[order_id].contribution)
            self._put(order_id, None)
            self.dirty -= labels
        for label in {key.rsplit("|", 1)[1] for key in self.sent_figures}:
            if parse_period(label).ends_at < horizon:
                self.by_period.pop(label, None)
                self.assessed_in.pop(label, None)
                for key in [key for key in self.sent_figures if key.endswith(f"|{label}")]:
                    del self.sent_figures[key]
        return [(order_id, None) for order_id in quiet]

    def flush(self, levels: Mapping[str, str | None], every_change: bool = False) -> list[tuple[str, dict[str, Any]]]:
        """Re-assess, as of the clock, the marked periods (those a change, a passed sign-for
        deadline or the clock's leaving touched) that are due by `REASSESS_EVERY_SECONDS`,
        or all of them with `every_change`; the rows whose figures changed, as (key, event)."""
        if self.clock is None:
            return []
        now_seconds = self.clock.timestamp()
        current = current_periods(self.clock)
        # A period the clock has left is sent once more, now final.
        just_left = {label for kind, label in self.current.items() if current[kind] != label and label in self.by_period}
        self.dirty |= just_left
        self.current = current
        while self.pending and self.pending[0][0] <= now_seconds:
            _, order_id = heapq.heappop(self.pending)
            entry = self.entries.get(order_id)
            if entry is not None:
                self.dirty |= periods_of(entry.contribution)
        sent = []
        for label in sorted(self.dirty, key=_period_order):
            period = parse_period(label)
            step = int(now_seconds // REASSESS_EVERY_SECONDS[period.kind])
            # A period waits for its kind's next step, but one the clock has just left goes out now.
            if not every_change and label not in just_left and self.assessed_in.get(label) == step:
                continue
            self.assessed_in[label] = step
            self.dirty.discard(label)
            entries = [self.entries[order_id] for order_id in sorted(self.by_period.get(label, ()))]
            for figures in assessed_rows(entries, levels, period, self.settings, self.clock):
                key = rates_key(figures["office_id"], period)
                if self.sent_figures.get(key) != figures:
                    self.sent_figures[key] = figures
                    sent.append((key, rates_event(figures, self.clock)))
        return sent


def _period_order(label: str) -> tuple[str, int, str]:
    period = parse_period(label)
    return (period.starts_at.isoformat(), PERIOD_KINDS.index(period.kind), label)


def current_periods(clock: datetime) -> dict[str, str]:
    """Kind -> label of the periods that hold `clock`: the ones the gauges show."""
    return {kind: period_of(clock, kind).label for kind in PERIOD_KINDS}
