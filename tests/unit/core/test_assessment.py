"""Official assessment rates, composite, ranks and the adjusted view, on hand-built orders.

The deadline policy here counts calendar hours (sign-for 2 h, first response 4 h,
resolution 100 h), so every due instant is plain arithmetic.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hotline.core.config_tables import ConfigFileError
from hotline.core.assessment import (
    AssessmentSettings,
    RateCounts,
    assess,
    composite_score,
    parse_assessment_settings,
    PERIOD_KINDS,
    parse_period,
    period_of,
    rank_by_score,
)
from hotline.core.deadlines import parse_deadline_policy
from hotline.core.orders import OrderState, fold
from hotline.core.workcalendar import SHANGHAI

POLICY = parse_deadline_policy(
    {
        "sign_for": {urgency: {"hours": 2} for urgency in ("normal", "urgent", "emergency")},
        "first_response": {urgency: {"hours": 4} for urgency in ("normal", "urgent", "emergency")},
        "resolution": {urgency: {"hours": 100} for urgency in ("normal", "urgent", "emergency")},
    },
    "test-deadlines.toml",
)
SETTINGS = AssessmentSettings()
# Monday 2026-03-02 09:00 in the city.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
MARCH = parse_period("2026-03")
LEVELS = {"s-1": "street", "s-2": "street", "s-3": "street", "dept-1": "department"}


def _event(order_id: str, number: int, event_type: str, hours: float, verdict: str = "accepted", **data) -> dict:
    return {
        "event_id": f"screened-{order_id}-{number}",
        "caused_by": f"{order_id}-{number:02d}",
        "type": event_type,
        "order_id": order_id,
        "occurred_at": (T0 + timedelta(hours=hours)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schema": 1,
        "data": data,
        "verdict": {"status": verdict, "reasons": []},
    }


def order(order_id: str, office_id: str, *steps: tuple, start: float = 0.0, verdict: str = "accepted") -> OrderState:
    """An appeal at `start` hours, dispatched to `office_id` at once, then `steps`:
    (event type, hours after start, data...) tuples."""
    events = [
        _event(order_id, 1, "appeal.received", start, verdict, category="noise", urgency="normal"),
        _event(order_id, 2, "order.dispatched", start, office_id=office_id),
    ]
    for number, (event_type, hours, *data) in enumerate(steps, 3):
        events.append(_event(order_id, number, event_type, start + hours, **dict(data)))
    return fold(events)


def signed(hours: float, office_id: str) -> tuple:
    return ("order.signed", hours, ("office_id", office_id))


def replied(hours: float, office_id: str) -> tuple:
    return ("order.replied", hours, ("office_id", office_id), ("kind", "first_contact"))


def resolved(hours: float, office_id: str) -> tuple:
    return ("order.resolved", hours, ("office_id", office_id))


def rated(hours: float, satisfaction: str, is_resolved: bool) -> tuple:
    return ("order.rated", hours, ("satisfaction", satisfaction), ("resolved", is_resolved))


def reopened(hours: float) -> tuple:
    return ("order.reopened", hours)


def handled(order_id: str, office_id: str, satisfaction: str = "satisfied", is_resolved: bool = True, start: float = 0.0, verdict: str = "accepted") -> OrderState:
    """Signed after 1 h, resolved after 20 h (well before the 100 h), rated after 30 h."""
    return order(
        order_id,
        office_id,
        signed(1, office_id),
        resolved(20, office_id),
        rated(30, satisfaction, is_resolved),
        start=start,
        verdict=verdict,
    )


def by_office(assessment) -> dict:
    return {row.office_id: row for row in assessment.offices}


# --- periods ------------------------------------------------------------------------


def test_a_month_runs_from_local_midnight_of_its_first_day_to_that_of_the_next_month():
    period = parse_period("2026-12")
    assert (period.kind, period.starts_at, period.ends_at) == (
        "month",
        datetime(2026, 12, 1, tzinfo=SHANGHAI),
        datetime(2027, 1, 1, tzinfo=SHANGHAI),
    )
    assert period.contains(datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc))  # 00:00 on 1 December in the city
    assert not period.contains(datetime(2026, 11, 30, 15, 59, 59, tzinfo=timezone.utc))


def test_an_iso_week_runs_monday_to_sunday_and_a_day_is_one_local_day():
    week = parse_period("2026-W10")
    assert (week.kind, week.starts_at, week.ends_at) == ("week", datetime(2026, 3, 2, tzinfo=SHANGHAI), datetime(2026, 3, 9, tzinfo=SHANGHAI))
    day = parse_period("2026-03-02")
    assert (day.kind, day.starts_at, day.ends_at) == ("day", datetime(2026, 3, 2, tzinfo=SHANGHAI), datetime(2026, 3, 3, tzinfo=SHANGHAI))


@pytest.mark.parametrize("text", ["2026-3", "2026-13", "2026-W54", "2026-02-30", "March", "2026-03-02T00:00"])
def test_a_malformed_period_is_refused(text):
    with pytest.raises(ValueError, match=f"period '{text}'"):
        parse_period(text)


def test_every_instant_falls_in_its_own_periods_across_a_year_end():
    # every 20 minutes from 28 December to 6 January (UTC), asked twice: the periods are
    # kept once made, so a second answer must be the same and still hold the instant
    start = datetime(2026, 12, 28, tzinfo=timezone.utc)
    for _ in range(2):
        for step in range(9 * 72):
            instant = start + timedelta(minutes=20 * step)
            for kind in PERIOD_KINDS:
                period = period_of(instant, kind)
                assert period.kind == kind and period.contains(instant), (instant, kind, period)
                assert parse_period(period.label) == period
    assert period_of(datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc), "week").label == "2026-W53"  # Friday 1 January 2027 in the city
    assert period_of(datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc), "month").label == "2026-12"


def test_a_malformed_period_is_refused_each_time_it_is_asked():
    for _ in range(2):
        with pytest.raises(ValueError, match="period '2026-13'"):
            parse_period("2026-13")


# --- official rates -----------------------------------------------------------------


def test_response_counts_orders_signed_or_first_contacted_within_the_target():
    orders = [
        order("o-1", "s-1", signed(1, "s-1")),  # signed in time
        order("o-2", "s-1", signed(3, "s-1"), replied(3.5, "s-1")),  # signed late, replied within 4 h
        order("o-3", "s-1", signed(3, "s-1"), replied(5, "s-1")),  # late on both counts
        order("o-4", "s-1", start=100),  # not signed, its 2 h still running when the log ends
        order("o-5", "s-1", start=-48),  # dispatched in February: another period
        order("o-6", "s-2", signed(1, "s-2"), start=100.5),  # the log ends with its signing
    ]
    assessment = assess(orders, POLICY, LEVELS, {}, MARCH, SETTINGS)
    rows = by_office(assessment)
    assert assessment.as_of == T0 + timedelta(hours=101.5)
    assert (rows["s-1"].official.dispatched, rows["s-1"].official.responded) == (3, 2)
    assert rows["s-1"].official.response_ratio == pytest.approx(2 / 3)
    assert (rows["s-2"].official.dispatched, rows["s-2"].official.responded) == (1, 1)


def test_an_unsigned_order_past_its_sign_for_target_counts_as_not_responded():
    orders = [order("o-1", "s-1", start=0), order("o-2", "s-1", signed(1, "s-1"), start=10)]
    row = by_office(assess(orders, POLICY, LEVELS, {}, MARCH, SETTINGS))["s-1"]
    assert (row.official.dispatched, row.official.responded) == (2, 1)


def test_resolution_and_satisfaction_count_the_latest_rating_of_each_order_in_the_period():
    orders = [
        handled("o-1", "s-1", "satisfied", True),
        handled("o-2", "s-1", "basic", True),
        handled("o-3", "s-1", "unsatisfied", False),
        handled("o-4", "s-1", "unsatisfied", True),
        handled("o-5", "s-1", "satisfied", True, start=-100),  # rated in February
    ]
    row = by_office(assess(orders, POLICY, LEVELS, {}, MARCH, SETTINGS))["s-1"]
    assert (row.official.rated, row.official.resolved, row.official.satisfied) == (4, 3, 2)
    assert (row.official.resolution_ratio, row.official.satisfaction_ratio) == (0.75, 0.5)
    strict = AssessmentSettings(satisfied_values=frozenset({"satisfied"}))
    assert by_office(assess(orders, POLICY, LEVELS, {}, MARCH, strict))["s-1"].official.satisfied == 1


def test_a_rating_is_held_against_the_office_that_resolved_the_order():
    # given an order handed from s-1 to s-2, which resolves it
    transferred = order(
        "o-1",
        "s-1",
        signed(1, "s-1"),
        ("order.transferred", 2, ("from_office_id", "s-1"), ("to_office_id", "s-2")),
        signed(2.5, "s-2"),
        resolved(20, "s-2"),
        rated(30, "unsatisfied", False),
    )
    rows = by_office(assess([transferred], POLICY, LEVELS, {}, MARCH, SETTINGS))
    assert (rows["s-1"].official.dispatched, rows["s-1"].official.responded, rows["s-1"].official.rated) == (1, 1, 0)
    assert (rows["s-2"].official.dispatched, rows["s-2"].official.responded, rows["s-2"].official.rated) == (1, 1, 1)


def test_the_composite_weighs_the_three_rates():
    counts = RateCounts(dispatched=10, responded=9, rated=4, resolved=3, satisfied=2)
    assert composite_score(counts, SETTINGS) == pytest.approx(0.1 * 0.9 + 0.45 * 0.75 + 0.45 * 0.5)
    assert composite_score(counts, SETTINGS) == pytest.approx(0.6525)


def test_the_composite_is_unknown_without_ratings_unless_their_weight_is_zero():
    unrated = RateCounts(dispatched=10, responded=9)
    assert composite_score(unrated, SETTINGS) is None
    response_only = AssessmentSettings(response_weight=1.0, resolution_weight=0.0, satisfaction_weight=0.0)
    assert composite_score(unrated, response_only) == 0.9


def test_ranks_are_per_level_best_first_ties_by_office_id():
    scores = {"s-2": 0.9, "s-1": 0.9, "s-3": 0.95, "s-4": None, "dept-1": 0.5}
    levels = {**LEVELS, "s-4": "street"}
    assert rank_by_score(scores, levels) == {"s-3": 1, "s-1": 2, "s-2": 3, "s-4": None, "dept-1": 1}


# --- the adjusted view --------------------------------------------------------------


def test_repeats_of_one_case_count_once_with_the_case_latest_rating():
    # given a first appeal rated unresolved and a repeat of it, resolved and rated satisfied later
    orders = [
        handled("o-1", "s-1", "unsatisfied", False),
        handled("o-2", "s-1", "satisfied", True, start=40),
        handled("o-3", "s-1", "basic", True),
    ]
    cases = {"o-1": "case-1", "o-2": "case-1", "o-3": "case-3"}
    row = by_office(assess(orders, POLICY, LEVELS, cases, MARCH, SETTINGS))["s-1"]
    assert (row.official.dispatched, row.official.rated, row.official.resolved, row.official.satisfied) == (3, 3, 2, 2)
    assert (row.adjusted.dispatched, row.adjusted.rated, row.adjusted.resolved, row.adjusted.satisfied) == (2, 2, 2, 2)


def test_flagged_and_rejected_appeals_are_left_out_of_the_adjusted_view():
    orders = [
        handled("o-1", "s-1", "satisfied", True),
        handled("o-2", "s-1", "unsatisfied", False, verdict="flagged"),
        handled("o-3", "s-1", "unsatisfied", False, verdict="rejected"),
    ]
    row = by_office(assess(orders, POLICY, LEVELS, {}, MARCH, SETTINGS))["s-1"]
    assert (row.official.dispatched, row.official.rated, row.official.resolved) == (3, 3, 1)
    assert (row.adjusted.dispatched, row.adjusted.rated, row.adjusted.resolved) == (1, 1, 1)
    only_flagged = AssessmentSettings(excluded_verdicts=frozenset({"flagged"}))
    row = by_office(assess(orders, POLICY, LEVELS, {}, MARCH, only_flagged))["s-1"]
    assert (row.adjusted.rated, row.adjusted.resolved) == (2, 1)


def test_a_rush_closure_reopened_or_rated_unsatisfied_counts_as_unresolved():
    orders = [
        # resolved at 95 h of 100 h, reopened, resolved again, finally rated resolved
        order("o-1", "s-1", signed(1, "s-1"), resolved(95, "s-1"), rated(96, "unsatisfied", False), reopened(97), resolved(110, "s-1"), rated(120, "satisfied", True)),
        # resolved at 92 h, rated unsatisfied though "resolved"
        order("o-2", "s-1", signed(1, "s-1"), resolved(92, "s-1"), rated(100, "unsatisfied", True)),
        # resolved at 95 h and rated satisfied: a rush closure that held
        order("o-3", "s-1", signed(1, "s-1"), resolved(95, "s-1"), rated(100, "satisfied", True)),
        # resolved at 50 h, reopened, resolved again: no rush closure
        order("o-4", "s-1", signed(1, "s-1"), resolved(50, "s-1"), reopened(60), resolved(70, "s-1"), rated(80, "basic", True)),
    ]
    row = by_office(assess(orders, POLICY, LEVELS, {}, MARCH, SETTINGS))["s-1"]
    assert (row.official.rated, row.official.resolved, row.official.satisfied) == (4, 4, 3)
    assert (row.adjusted.rated, row.adjusted.resolved, row.adjusted.satisfied) == (4, 2, 3)


def test_the_rank_shift_is_positive_where_the_official_rank_flatters():
    # given s-1 resolving everything in a rush that fails, s-2 and s-3 honest but slower to please
    rushed = [
        order(f"r-{n}", "s-1", signed(1, "s-1"), resolved(95, "s-1"), reopened(96), resolved(98, "s-1"), rated(99, "satisfied", True))
        for n in range(4)
    ]
    honest = [handled(f"h-{n}", "s-2", "satisfied" if n < 3 else "unsatisfied", n < 3) for n in range(4)]
    middling = [handled(f"m-{n}", "s-3", "basic" if n < 2 else "unsatisfied", n < 3) for n in range(4)]
    assessment = assess([*rushed, *honest, *middling], POLICY, LEVELS, {}, MARCH, SETTINGS)
    rows = by_office(assessment)
    assert [(row.office_id, row.official_rank, row.adjusted_rank, row.rank_shift) for row in assessment.offices] == [
        ("s-1", 1, 3, 2),
        ("s-2", 2, 1, -1),
        ("s-3", 3, 2, -1),
    ]
    assert (rows["s-1"].official_score, rows["s-1"].adjusted_score) == (pytest.approx(1.0), pytest.approx(0.55))
    assert (rows["s-2"].official_score, rows["s-2"].adjusted_score) == (pytest.approx(0.775), pytest.approx(0.775))
    assert (rows["s-3"].official_score, rows["s-3"].adjusted_score) == (pytest.approx(0.6625), pytest.approx(0.6625))


# --- settings -----------------------------------------------------------------------


def test_the_shipped_assessment_file_holds_the_documented_defaults():
    from hotline.rules import load_assessment_settings

    assert load_assessment_settings() == AssessmentSettings(0.1, 0.45, 0.45, frozenset({"satisfied", "basic"}), frozenset({"flagged", "rejected"}))


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"weights": {"response": 0.2, "resolution": 0.45, "satisfaction": 0.45}}, "a.toml: weights: the weights must sum to 1, got 1.1"),
        ({"weights": {"response": -0.1, "resolution": 0.65, "satisfaction": 0.45}}, "a.toml: weights.response: expected a number >= 0, got -0.1"),
        ({"satisfied_values": ["happy"]}, "a.toml: satisfied_values: expected values among satisfied, basic, unsatisfied, got 'happy'"),
        ({"satisfied_values": []}, "a.toml: satisfied_values: must name at least one value"),
        ({"adjusted": {"excluded_verdicts": ["spam"]}}, "a.toml: adjusted.excluded_verdicts: expected values among accepted, flagged, rejected, got 'spam'"),
        ({"weight": {}}, "a.toml: weight: unknown key, did you mean 'weights'? (expected one of: adjusted, satisfied_values, weights)"),
    ],
)
def test_a_wrong_assessment_setting_names_the_file_and_the_field(raw, message):
    with pytest.raises(ConfigFileError) as raised:
        parse_assessment_settings(raw, "a.toml")
    assert str(raised.value) == message
