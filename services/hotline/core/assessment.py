"""Official assessment rates of offices, and the same rates with involution taken out.

Consumes folded work orders (`hotline.core.orders.OrderState`, with the appeal's final
verdict in `verdict_status`), the deadline policy (`hotline.core.deadlines`), the office
registry (office id -> level), the case of each order (order id -> case id, from the
dedupe stage) and a period of event time in the city's time zone. Produces one
`OfficeAssessment` per office that had work in the period: the official rates the
city ranks offices by, a composite score, the rank among offices of the same level, and
the adjusted view of the same rates with its rank and the rank shift.

Official rates (what an assessment office computes from the order log):

- response: hand-overs to the office in the period (order.dispatched or the receiving
  side of order.transferred; an order counts once per office, by its first hand-over to
  it in the period) that the office signed within the `sign_for` target, or answered
  with a first reply while it held the order within the `first_response` target. A
  hand-over not yet responded to whose sign-for clock is still running at `as_of` is
  left out: its outcome is not known yet.
- resolution: rated orders whose latest rating falls in the period and says resolved,
  over rated orders. A rating belongs to the office of the latest resolution before it.
- satisfaction: the same rated orders whose latest rating's satisfaction is one of
  `satisfied_values`, over rated orders.
- composite: the weighted sum of the three rates (weights sum to 1); None when a rate
  with a positive weight has no denominator. Ranks: among offices of the same level,
  highest composite first, ties by office id; offices without a composite are unranked.

Adjusted view: the same rates after three corrections.

- Repeats count once with their case: the orders of one case at one office make one
  unit. Its response outcome is that of the case's earliest hand-over to the office in
  the period; its rating is the case's latest rating there in the period.
- Appeals whose final verdict is in `excluded_verdicts` (flagged, rejected) are left
  out: the office could not resolve what was not a service problem.
- A rush closure (a resolution met after `RUSH_CLOSURE_MIN_ELAPSED_RATIO` of its allowed
  time, as the `rush_closure` indicator counts it) followed by a reopening or an
  unsatisfied rating makes its order unresolved, whatever a later rating says; a unit
  with such an order is unresolved.

`rank_shift` = adjusted rank - official rank: positive when the official ranking
flatters the office (it ranks better, a smaller number, officially than adjusted).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from hotline.core.config_tables import check, reject_unknown_keys
from hotline.core.deadlines import SATISFIED, Clock, DeadlinePolicy, clocks_of
from hotline.core.office_facts import RUSH_CLOSURE_MIN_ELAPSED_RATIO
from hotline.core.orders import OrderState
from hotline.core.workcalendar import SHANGHAI

SATISFACTION_VALUES = ("satisfied", "basic", "unsatisfied")
VERDICT_STATUSES = ("accepted", "flagged", "rejected")
RATE_NAMES = ("response", "resolution", "satisfaction")
WEIGHT_SUM_TOLERANCE = 1e-9
HANDOVER_VIAS = ("dispatched", "transferred")


# --- settings -----------------------------------------------------------------------


@dataclass(frozen=True)
class AssessmentSettings:
    """Weights of the composite (summing to 1), the satisfaction values that count as
    satisfied, and the verdicts the adjusted view leaves out."""

    response_weight: float = 0.1
    resolution_weight: float = 0.45
    satisfaction_weight: float = 0.45
    satisfied_values: frozenset[str] = frozenset({"satisfied", "basic"})
    excluded_verdicts: frozenset[str] = frozenset({"flagged", "rejected"})


def _string_set(value: Any, allowed: tuple[str, ...], path: Path, field_name: str, may_be_empty: bool) -> frozenset[str]:
    check(isinstance(value, list), path, field_name, f"expected a list of strings, got {value!r}")
    check(may_be_empty or bool(value), path, field_name, "must name at least one value")
    for item in value:
        check(item in allowed, path, field_name, f"expected values among {', '.join(allowed)}, got {item!r}")
    return frozenset(value)


def parse_assessment_settings(raw: Mapping[str, Any], path: Path | str) -> AssessmentSettings:
    path = Path(path)
    defaults = AssessmentSettings()
    reject_unknown_keys(raw, ("satisfied_values", "weights", "adjusted"), path)
    weights = raw.get("weights", {})
    check(isinstance(weights, dict), path, "weights", f"expected a table, got {weights!r}")
    reject_unknown_keys(weights, RATE_NAMES, path, "weights")
    values = {
        "response": defaults.response_weight,
        "resolution": defaults.resolution_weight,
        "satisfaction": defaults.satisfaction_weight,
    }
    for name in RATE_NAMES:
        if name in weights:
            weight = weights[name]
            check(
                isinstance(weight, (int, float)) and not isinstance(weight, bool) and weight >= 0,
                path,
                f"weights.{name}",
                f"expected a number >= 0, got {weight!r}",
            )
            values[name] = float(weight)
    total = sum(values.values())
    check(abs(total - 1.0) <= WEIGHT_SUM_TOLERANCE, path, "weights", f"the weights must sum to 1, got {total!r}")
    satisfied = defaults.satisfied_values
    if "satisfied_values" in raw:
        satisfied = _string_set(raw["satisfied_values"], SATISFACTION_VALUES, path, "satisfied_values", may_be_empty=False)
    adjusted = raw.get("adjusted", {})
    check(isinstance(adjusted, dict), path, "adjusted", f"expected a table, got {adjusted!r}")
    reject_unknown_keys(adjusted, ("excluded_verdicts",), path, "adjusted")
    excluded = defaults.excluded_verdicts
    if "excluded_verdicts" in adjusted:
        excluded = _string_set(adjusted["excluded_verdicts"], VERDICT_STATUSES, path, "adjusted.excluded_verdicts", may_be_empty=True)
    return AssessmentSettings(values["response"], values["resolution"], values["satisfaction"], satisfied, excluded)


# --- periods ------------------------------------------------------------------------

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """A stretch of event time: [starts_at, ends_at), local midnights in the city's zone."""

    label: str
    kind: str  # day | week | month
    starts_at: datetime
    ends_at: datetime

    def contains(self, instant: datetime) -> bool:
        return self.starts_at <= instant < self.ends_at


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=SHANGHAI)


# A period is immutable and a stage asks for the same few again and again (an
# order's periods on each of its messages, the periods the clock is in, the ones to flush).
@functools.lru_cache(maxsize=1 << 12)
def parse_period(text: str) -> Period:
    """`YYYY-MM` (natural month), `YYYY-Www` (ISO week, Monday to Sunday) or `YYYY-MM-DD`
    (day); raises ValueError for anything else."""
    try:
        if match := _MONTH.match(text):
            year, month = int(match[1]), int(match[2])
            first = date(year, month, 1)
            following = date(year + (month == 12), month % 12 + 1, 1)
            return Period(text, "month", _local_midnight(first), _local_midnight(following))
        if match := _WEEK.match(text):
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
            return Period(text, "week", _local_midnight(monday), _local_midnight(monday + timedelta(days=7)))
        if match := _DAY.match(text):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return Period(text, "day", _local_midnight(day), _local_midnight(day + timedelta(days=1)))
    except ValueError as error:
        raise ValueError(f"period {text!r}: {error}") from None
    raise ValueError(f"period {text!r}: expected YYYY-MM, YYYY-Www or YYYY-MM-DD")


PERIOD_KINDS = ("day", "week", "month")


def period_of(instant: datetime, kind: str) -> Period:
    """The day, ISO week or natural month (city time) that holds `instant`."""
    return _period_of_day(instant.astimezone(SHANGHAI).date(), kind)


@functools.lru_cache(maxsize=1 << 12)
def _period_of_day(local: date, kind: str) -> Period:
    if kind == "day":
        return parse_period(local.isoformat())
    if kind == "week":
        year, week, _ = local.isocalendar()
        return parse_period(f"{year}-W{week:02d}")
    if kind == "month":
        return parse_period(f"{local.year}-{local.month:02d}")
    raise ValueError(f"period kind {kind!r}: expected one of {', '.join(PERIOD_KINDS)}")


# --- what one order contributes -----------------------------------------------------


@dataclass(frozen=True)
class Handover:
    """An order handed to an office, and whether the office responded in time.

    `responded` is None while the outcome is unknown (not responded yet, the sign-for
    clock still running); `pending_until` is then the clock's due instant, after which
    the hand-over counts as not responded (None: no due instant, unknown for good)."""

    order_id: str
    office_id: str
    assigned_at: datetime
    responded: bool | None
    pending_until: datetime | None = None

    def at(self, as_of: datetime) -> "Handover":
        """The outcome as known at `as_of`."""
        if self.responded is None and self.pending_until is not None and self.pending_until <= as_of:
            return Handover(self.order_id, self.office_id, self.assigned_at, False)
        return self


@dataclass(frozen=True)
class RatedOrder:
    """An order's latest rating, the office it is held against, and whether a rush
    closure of the order failed (reopened or rated unsatisfied after it)."""

    order_id: str
    office_id: str
    rated_at: datetime
    satisfaction: str
    resolved: bool
    failed_rush_closure: bool


def _met_in_time(clock: Clock) -> bool:
    return clock.outcome == SATISFIED and clock.due_at is not None and clock.ended_at is not None and clock.ended_at <= clock.due_at


def handovers(order: OrderState, clocks: tuple[Clock, ...], as_of: datetime) -> list[Handover]:
    """Every hand-over of the order to an office with its response outcome at `as_of`."""
    return [handover.at(as_of) for handover in open_handovers(order, clocks)]


def open_handovers(order: OrderState, clocks: tuple[Clock, ...]) -> list[Handover]:
    """Every hand-over of the order to an office with its response outcome as far as the
    order's events tell: a hand-over whose sign-for clock still runs is pending until
    the clock's due instant."""
    sign_for = {clock.started_by: clock for clock in clocks if clock.target == "sign_for"}
    first_response = next((clock for clock in clocks if clock.target == "first_response"), None)
    result = []
    for stint in order.office_history:
        if stint.via not in HANDOVER_VIAS:
            continue
        clock = sign_for.get(stint.assigned_by)
        signed = clock is not None and _met_in_time(clock)
        replied = (
            first_response is not None
            and _met_in_time(first_response)
            and stint.assigned_at <= first_response.ended_at
            and (stint.left_at is None or first_response.ended_at < stint.left_at)
        )
        responded: bool | None = signed or replied
        pending_until = None
        if not responded and clock is not None and clock.ended_at is None:
            responded, pending_until = None, clock.due_at
        result.append(Handover(order.order_id, stint.office_id, stint.assigned_at, responded, pending_until))
    return result


def rush_closures(clocks: tuple[Clock, ...]) -> list[Clock]:
    """Resolution clocks met by a resolution in the last 10 % of their allowed time."""
    return [
        clock
        for clock in clocks
        if clock.target == "resolution"
        and clock.outcome == SATISFIED
        and clock.end_reason == "resolved"
        and clock.allowed_seconds > 0
        and clock.elapsed_at_end_seconds is not None
        and clock.elapsed_at_end_seconds >= RUSH_CLOSURE_MIN_ELAPSED_RATIO * clock.allowed_seconds
    ]


def has_failed_rush_closure(order: OrderState, clocks: tuple[Clock, ...]) -> bool:
    """A rush closure followed (at or after it) by a reopening or an unsatisfied rating."""
    for rush in rush_closures(clocks):
        if any(reopening.at >= rush.ended_at for reopening in order.reopenings):
            return True
        if any(
            fact.type == "order.rated" and fact.get("satisfaction") == "unsatisfied" and fact.occurred_at >= rush.ended_at
            for fact in order.facts
        ):
            return True
    return False


def rated_order(order: OrderState, clocks: tuple[Clock, ...]) -> RatedOrder | None:
    """The order's latest rating and the office that resolved before it; None when the
    order has no rating or no office."""
    rating = order.rating
    if rating is None or rating.satisfaction is None:
        return None
    resolving = [
        fact.get("office_id")
        for fact in order.facts
        if fact.type == "order.resolved" and fact.occurred_at <= rating.rated_at and fact.get("office_id") is not None
    ]
    office_id = resolving[-1] if resolving else (order.office_history[-1].office_id if order.office_history else None)
    if office_id is None:
        return None
    return RatedOrder(
        order.order_id, office_id, rating.rated_at, rating.satisfaction, bool(rating.resolved), has_failed_rush_closure(order, clocks)
    )


# --- counting -----------------------------------------------------------------------


@dataclass(frozen=True)
class RateCounts:
    """Numerators and denominators of one office's three rates in a period."""

    dispatched: int = 0  # hand-overs (official) or case units (adjusted) with a known response outcome
    responded: int = 0
    rated: int = 0
    resolved: int = 0
    satisfied: int = 0

    @property
    def response_ratio(self) -> float | None:
        return self.responded / self.dispatched if self.dispatched else None

    @property
    def resolution_ratio(self) -> float | None:
        return self.resolved / self.rated if self.rated else None

    @property
    def satisfaction_ratio(self) -> float | None:
        return self.satisfied / self.rated if self.rated else None


def composite_score(counts: RateCounts, settings: AssessmentSettings) -> float | None:
    """Σ weight x rate; None when a rate with a positive weight is unknown."""
    terms = (
        (settings.response_weight, counts.response_ratio),
        (settings.resolution_weight, counts.resolution_ratio),
        (settings.satisfaction_weight, counts.satisfaction_ratio),
    )
    if any(weight > 0 and ratio is None for weight, ratio in terms):
        return None
    return sum(weight * ratio for weight, ratio in terms if weight > 0)


def rank_by_score(scores: Mapping[str, float | None], levels: Mapping[str, str | None]) -> dict[str, int | None]:
    """1 = best composite among offices of the same level; ties go to the lower office
    id; offices without a score get None."""
    ranks: dict[str, int | None] = {office_id: None for office_id in scores}
    by_level: dict[str | None, list[str]] = {}
    for office_id, score in scores.items():
        if score is not None:
            by_level.setdefault(levels.get(office_id), []).append(office_id)
    for office_ids in by_level.values():
        for position, office_id in enumerate(sorted(office_ids, key=lambda office_id: (-scores[office_id], office_id)), 1):
            ranks[office_id] = position
    return ranks


def _unit_counts(
    handover_list: Iterable[Handover],
    ratings: Iterable[RatedOrder],
    case_of: Mapping[str, str],
    settings: AssessmentSettings,
    failed_rush_unresolved: bool,
) -> dict[str, RateCounts]:
    """Per office, one unit per case (`case_of`; an order without one is its own case):
    the case's earliest hand-over to the office, and its latest rating there."""
    first: dict[tuple[str, str], Handover] = {}
    for handover in sorted(handover_list, key=lambda handover: (handover.assigned_at, handover.order_id)):
        first.setdefault((case_of.get(handover.order_id, handover.order_id), handover.office_id), handover)
    units: dict[tuple[str, str], list[RatedOrder]] = {}
    for rating in ratings:
        units.setdefault((case_of.get(rating.order_id, rating.order_id), rating.office_id), []).append(rating)
    dispatched: dict[str, int] = {}
    responded: dict[str, int] = {}
    for (_, office_id), handover in first.items():
        if handover.responded is not None:
            dispatched[office_id] = dispatched.get(office_id, 0) + 1
            responded[office_id] = responded.get(office_id, 0) + handover.responded
    rated: dict[str, int] = {}
    resolved: dict[str, int] = {}
    satisfied: dict[str, int] = {}
    for (_, office_id), unit in units.items():
        latest = max(unit, key=lambda rating: (rating.rated_at, rating.order_id))
        failed = failed_rush_unresolved and any(rating.failed_rush_closure for rating in unit)
        rated[office_id] = rated.get(office_id, 0) + 1
        resolved[office_id] = resolved.get(office_id, 0) + (latest.resolved and not failed)
        satisfied[office_id] = satisfied.get(office_id, 0) + (latest.satisfaction in settings.satisfied_values)
    office_ids = {office_id for _, office_id in first} | {office_id for _, office_id in units}
    return {
        office_id: RateCounts(
            dispatched.get(office_id, 0),
            responded.get(office_id, 0),
            rated.get(office_id, 0),
            resolved.get(office_id, 0),
            satisfied.get(office_id, 0),
        )
        for office_id in office_ids
    }


def official_counts(handover_list: Iterable[Handover], ratings: Iterable[RatedOrder], settings: AssessmentSettings) -> dict[str, RateCounts]:
    """Per office: each order's first hand-over to it and each rated order (both already
    restricted to the period), as the rates are officially counted."""
    return _unit_counts(handover_list, ratings, {}, settings, failed_rush_unresolved=False)


def adjusted_counts(
    handover_list: Iterable[Handover],
    ratings: Iterable[RatedOrder],
    case_of: Mapping[str, str],
    settings: AssessmentSettings,
) -> dict[str, RateCounts]:
    """Per office, one unit per case, unresolved when any of its rated orders had a failed
    rush closure. Excluded appeals are left out by the caller."""
    return _unit_counts(handover_list, ratings, case_of, settings, failed_rush_unresolved=True)


# --- the assessment -----------------------------------------------------------------


@dataclass(frozen=True)
class OfficeAssessment:
    """One office in one period: official and adjusted counts (rates are their
    properties), composite scores, ranks within `level` and `rank_shift` (adjusted rank
    - official rank, positive when the official rank flatters; None unless both ranks
    are known)."""

    office_id: str
    level: str | None
    official: RateCounts
    adjusted: RateCounts
    official_score: float | None
    adjusted_score: float | None
    official_rank: int | None
    adjusted_rank: int | None

    @property
    def rank_shift(self) -> int | None:
        if self.official_rank is None or self.adjusted_rank is None:
            return None
        return self.adjusted_rank - self.official_rank


@dataclass(frozen=True)
class Assessment:
    period: Period
    as_of: datetime
    offices: tuple[OfficeAssessment, ...]  # by level, then official rank (unranked last), then office id


@dataclass(frozen=True)
class OrderContribution:
    """What one order brings to the assessment of any period: its hand-overs (pending
    ones with their due instant), its latest rating, and whether the adjusted view keeps
    it (its final verdict is not excluded)."""

    order_id: str
    kept: bool
    handovers: tuple[Handover, ...]
    rating: RatedOrder | None
    last_event_at: datetime | None


def contribution_of(order: OrderState, policy: DeadlinePolicy, settings: AssessmentSettings, known_clocks: Iterable[Clock] = ()) -> OrderContribution:
    """What the order adds to its offices' rates. `known_clocks`: clocks the deadline
    stage already computed for the order; those whose inputs are unchanged are reused."""
    clocks = clocks_of(order, policy, known_clocks)
    return OrderContribution(
        order.order_id,
        order.verdict_status not in settings.excluded_verdicts,
        tuple(open_handovers(order, clocks)),
        rated_order(order, clocks),
        order.last_event_at,
    )


def assess(
    orders: Iterable[OrderState],
    policy: DeadlinePolicy,
    levels: Mapping[str, str | None],
    case_of: Mapping[str, str],
    period: Period,
    settings: AssessmentSettings,
    as_of: datetime | None = None,
) -> Assessment:
    """Official and adjusted rates, scores and ranks of every office with work in `period`.

    `levels`: office id -> level from the registry (offices missing from it rank among
    themselves under level None). `case_of`: order id -> case id (an order without one
    is a case of its own). `as_of`: when the log was read; default the latest event of
    any order."""
    return assess_contributions([contribution_of(order, policy, settings) for order in orders], levels, case_of, period, settings, as_of)


def assess_contributions(
    contributions: Iterable[OrderContribution],
    levels: Mapping[str, str | None],
    case_of: Mapping[str, str],
    period: Period,
    settings: AssessmentSettings,
    as_of: datetime | None = None,
) -> Assessment:
    """`assess` from the orders' contributions: the live rates stage keeps these, not
    the orders (hotline.core.stages.rates)."""
    contributions = list(contributions)
    if as_of is None:
        as_of = max((item.last_event_at for item in contributions if item.last_event_at is not None), default=period.ends_at)
    official_handovers: list[Handover] = []
    official_ratings: list[RatedOrder] = []
    kept_handovers: list[Handover] = []
    kept_ratings: list[RatedOrder] = []
    for item in contributions:
        for handover in item.handovers:
            if period.contains(handover.assigned_at):
                handover = handover.at(as_of)
                official_handovers.append(handover)
                if item.kept:
                    kept_handovers.append(handover)
        rating = item.rating
        if rating is not None and period.contains(rating.rated_at):
            official_ratings.append(rating)
            if item.kept:
                kept_ratings.append(rating)
    official = official_counts(official_handovers, official_ratings, settings)
    adjusted = adjusted_counts(kept_handovers, kept_ratings, case_of, settings)
    office_ids = sorted(official)
    official_scores = {office_id: composite_score(official[office_id], settings) for office_id in office_ids}
    adjusted_scores = {office_id: composite_score(adjusted.get(office_id, RateCounts()), settings) for office_id in office_ids}
    official_ranks = rank_by_score(official_scores, levels)
    adjusted_ranks = rank_by_score(adjusted_scores, levels)
    rows = [
        OfficeAssessment(
            office_id,
            levels.get(office_id),
            official[office_id],
            adjusted.get(office_id, RateCounts()),
            official_scores[office_id],
            adjusted_scores[office_id],
            official_ranks[office_id],
            adjusted_ranks[office_id],
        )
        for office_id in office_ids
    ]
    rows.sort(key=lambda row: (row.level or "", row.official_rank is None, row.official_rank or 0, row.office_id))
    return Assessment(period, as_of, tuple(rows))
