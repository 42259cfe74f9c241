"""Escalation up the ladder community -> street -> district -> city, and its damping."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.contract.schemas import topic_validator
from hotline.core.config_tables import ConfigFileError
from hotline.core.escalation import (
    Damped,
    EscalationPolicy,
    HeldBack,
    OfficeBudget,
    OfficeDay,
    OrderEscalations,
    Proposal,
    Trigger,
    admit,
    close_days,
    parse_escalation_policy,
    propose,
    triggers_for,
)
from hotline.core.ids import derived_event_id
from hotline.core.orders import OrderState, evolve, fold
from hotline.core.workcalendar import SHANGHAI
from hotline.rules import load_escalation_policy

OFFICES = {
    "city": {"level": "city", "parent_id": None},
    "dept-water": {"level": "department", "parent_id": "city"},
    "d-1": {"level": "district", "parent_id": "city"},
    "s-1": {"level": "street", "parent_id": "d-1"},
    "c-1": {"level": "community", "parent_id": "s-1"},
    "c-2": {"level": "community", "parent_id": "s-1"},
}
POLICY = EscalationPolicy(daily_budget_per_office=None)
VALIDATOR = topic_validator("hotline.escalations.v1")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def screened(input_id: str, event_type: str, when: str, order_id: str = "o-1", verdict: str = "accepted", **data) -> dict:
    return {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": order_id,
        "occurred_at": when + "Z",
        "schema": 1,
        "data": data,
        "verdict": {"status": verdict, "reasons": [] if verdict == "accepted" else ["unreasonable_demand"]},
    }


def order_at(office_id: str, order_id: str = "o-1", urgency: str = "normal", verdict: str = "accepted") -> OrderState:
    appeal = {"channel": "phone", "title": "t", "text": "x", "category": "noise", "urgency": urgency, "location": {}}
    return fold(
        [
            screened(f"{order_id}-in-1", "appeal.received", "2025-03-03T01:00:00", order_id, verdict, **appeal),
            screened(f"{order_id}-in-2", "order.dispatched", "2025-03-03T02:00:00", order_id, office_id=office_id),
        ]
    )


def trigger(reason: str, when: str = "2025-03-03T03:00:00", cause: str = "cause-1") -> Trigger:
    return Trigger(reason, cause, utc(when))


@dataclass(frozen=True)
class Ledger:
    """What the orders stage keeps per order (levels reached) and the escalate stage per
    receiving office (its daily budget)."""

    orders: dict = field(default_factory=dict)
    offices: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Escalated:
    events: tuple = ()
    ledger: Ledger = Ledger()
    damped: tuple = ()


def escalate(order: OrderState, trigger: Trigger, offices, ledger: Ledger | None, policy: EscalationPolicy) -> Escalated:
    """`propose` as the orders stage calls it, then `admit` as the escalate stage does."""
    ledger = ledger or Ledger()
    outcome, order_escalations = propose(order, trigger, offices, ledger.orders.get(order.order_id), policy)
    if isinstance(outcome, Damped):
        return Escalated((), ledger, (outcome,))
    events, budget = admit(outcome, ledger.offices.get(outcome.to_office_id), policy)
    new_ledger = Ledger({**ledger.orders, order.order_id: order_escalations}, {**ledger.offices, outcome.to_office_id: budget})
    return Escalated(tuple(events), new_ledger)


def close_ledger_days(ledger: Ledger, watermark: datetime, policy: EscalationPolicy, offices) -> tuple[list[dict], Ledger]:
    events: list[dict] = []
    budgets = {}
    for office_id, budget in ledger.offices.items():
        summaries, budgets[office_id] = close_days(budget, watermark, policy, offices)
        events.extend(summaries)
    return events, Ledger(ledger.orders, budgets)


def valid(events) -> list[dict]:
    for event in events:
        assert VALIDATOR.validate(event) is None, event
    return list(events)


# --- policy -------------------------------------------------------------------------


def test_the_shipped_policy_loads():
    assert load_escalation_policy() == EscalationPolicy(
        repeated_appeals_threshold=3,
        ping_pong_handoffs=3,
        daily_budget_per_office=20,
        highest_level="city",
        summary_order_ids_limit=50,
        closed_day_retention_days=7,
    )


def test_a_budget_of_zero_means_no_limit_and_a_reason_can_be_switched_off():
    policy = parse_escalation_policy({"daily_budget_per_office": 0, "reasons": {"ping_pong": False}}, "escalation.toml")
    assert policy.daily_budget_per_office is None
    assert "ping_pong" not in policy.enabled_reasons
    outcome, _ = propose(order_at("c-1"), trigger("ping_pong"), OFFICES, None, policy)
    assert outcome == Damped("ping_pong", "reason_disabled")


@pytest.mark.parametrize(
    ("table", "field", "problem"),
    [
        ({"ping_pong_handoffs": 0}, "ping_pong_handoffs", ">= 1"),
        ({"daily_budget_per_office": -1}, "daily_budget_per_office", ">= 0"),
        ({"repeated_appeals_threshold": True}, "repeated_appeals_threshold", "whole number"),
        ({"highest_level": "province"}, "highest_level", "street, district or city"),
        ({"reasons": {"bad_weather": True}}, "reasons.bad_weather", "unknown key"),
        ({"reasons": {"ping_pong": "yes"}}, "reasons.ping_pong", "true or false"),
        ({"daily_budget": 3}, "daily_budget", "unknown key"),
        ({"closed_day_retention_days": 0}, "closed_day_retention_days", ">= 1"),
        ({"closed_day_retention_days": 1.5}, "closed_day_retention_days", "whole number"),
    ],
)
def test_a_wrong_policy_names_the_file_and_the_field(table, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        parse_escalation_policy(table, "config/escalation.toml")
    assert (raised.value.path, raised.value.field) == ("config/escalation.toml", field)
    assert problem in raised.value.problem


# --- the ladder ---------------------------------------------------------------------


def test_each_reason_lifts_supervision_one_rung_up_the_ladder():
    # given an order held by a community office
    order = order_at("c-1")
    ledger = None
    raised = []
    # when four different reasons fire one after the other
    for reason, when in (
        ("resolution_breached", "2025-03-03T03:00:00"),
        ("dissatisfied_after_resolution", "2025-03-04T03:00:00"),
        ("ping_pong", "2025-03-05T03:00:00"),
        ("repeated_appeals", "2025-03-06T03:00:00"),
    ):
        step = escalate(order, trigger(reason, when, cause=f"cause-{reason}"), OFFICES, ledger, POLICY)
        ledger = step.ledger
        raised.extend(valid(step.events))
    # then supervision climbs community -> street -> district -> city, and no further
    assert [(e["reason"], e["from_level"], e["to_level"], e["to_office_id"]) for e in raised] == [
        ("resolution_breached", "community", "street", "s-1"),
        ("dissatisfied_after_resolution", "street", "district", "d-1"),
        ("ping_pong", "district", "city", "city"),
    ]
    assert step.damped == (Damped("repeated_appeals", "top_of_ladder"),)
    assert raised[0] == {
        "event_id": derived_event_id("o-1:street", "escalation.raised"),
        "caused_by": "cause-resolution_breached",
        "type": "escalation.raised",
        "order_id": "o-1",
        "occurred_at": "2025-03-03T03:00:00Z",
        "schema": 1,
        "reason": "resolution_breached",
        "from_level": "community",
        "from_office_id": "c-1",
        "to_level": "street",
        "to_office_id": "s-1",
        "urgency": "normal",
        "category": "noise",
    }


def test_a_department_escalates_straight_to_the_city():
    step = escalate(order_at("dept-water"), trigger("emergency_urgency"), OFFICES, None, POLICY)
    assert [(e["from_level"], e["to_level"], e["to_office_id"]) for e in valid(step.events)] == [("department", "city", "city")]


def test_a_flagged_appeal_is_never_escalated():
    step = escalate(order_at("c-1", verdict="flagged"), trigger("resolution_breached"), OFFICES, None, POLICY)
    assert step.events == ()
    assert step.damped == (Damped("resolution_breached", "flagged_appeal"),)
    assert step.ledger == Ledger()


def test_the_same_reason_lifts_an_order_only_once():
    first = escalate(order_at("c-1"), trigger("resolution_breached", cause="breach-1"), OFFICES, None, POLICY)
    second = escalate(order_at("c-1"), trigger("resolution_breached", "2025-03-09T03:00:00", "breach-2"), OFFICES, first.ledger, POLICY)
    assert len(first.events) == 1
    assert second.events == ()
    assert second.damped == (Damped("resolution_breached", "reason_already_escalated"),)


def test_nothing_is_escalated_above_the_highest_level():
    policy = EscalationPolicy(daily_budget_per_office=None, highest_level="street")
    first = escalate(order_at("c-1"), trigger("ping_pong"), OFFICES, None, policy)
    second = escalate(order_at("c-1"), trigger("resolution_breached"), OFFICES, first.ledger, policy)
    assert [e["to_level"] for e in first.events] == ["street"]
    assert second.damped == (Damped("resolution_breached", "above_highest_level"),)


@pytest.mark.parametrize(
    ("order", "damping"),
    [
        (fold([screened("in-1", "appeal.received", "2025-03-03T01:00:00", channel="web", title="t", text="x", category="noise", urgency="normal", location={})]), "no_office"),
        (order_at("ghost-office"), "unknown_office"),
        (order_at("city"), "top_of_ladder"),
    ],
)
def test_an_order_without_a_known_office_below_the_top_is_not_escalated(order, damping):
    step = escalate(order, trigger("ping_pong"), OFFICES, None, POLICY)
    assert (step.events, step.damped) == ((), (Damped("ping_pong", damping),))


def test_a_cycle_in_the_registry_ends_the_walk():
    offices = {"a": {"level": "community", "parent_id": "b"}, "b": {"level": "community", "parent_id": "a"}}
    step = escalate(order_at("a"), trigger("ping_pong"), offices, None, POLICY)
    assert step.damped == (Damped("ping_pong", "top_of_ladder"),)


# --- daily budget -------------------------------------------------------------------


def test_escalations_beyond_an_office_daily_budget_are_summarised_once_the_day_ends():
    # given a street office that takes two escalations a day
    policy = EscalationPolicy(daily_budget_per_office=2)
    ledger = None
    raised = []
    # when five of its communities' orders breach on the same local day (Mar 3, Asia/Shanghai)
    for number, when in enumerate(
        ["2025-03-03T01:00:00", "2025-03-03T02:00:00", "2025-03-03T03:00:00", "2025-03-03T15:59:59", "2025-03-03T16:00:00"],
        start=1,
    ):
        order = order_at("c-1" if number % 2 else "c-2", order_id=f"o-{number}")
        step = escalate(order, trigger("resolution_breached", when, f"breach-{number}"), OFFICES, ledger, policy)
        ledger = step.ledger
        raised.extend(valid(step.events))

    # then the first two are raised, o-3 and o-4 are held back, and o-5 (00:00 on Mar 4
    # local time) opens a new day's budget
    assert [e["order_id"] for e in raised] == ["o-1", "o-2", "o-5"]
    budget = ledger.offices["s-1"]
    assert budget.next_close_at == utc("2025-03-03T16:00:00")

    # and nothing is summarised before the day is over
    early, ledger = close_ledger_days(ledger, utc("2025-03-03T15:59:59"), policy, OFFICES)
    assert early == []

    summaries, ledger = close_ledger_days(ledger, utc("2025-03-03T16:00:00"), policy, OFFICES)
    assert valid(summaries) == [
        {
            "event_id": derived_event_id("s-1:2025-03-03", "escalation.summarised"),
            "caused_by": "s-1:2025-03-03",
            "type": "escalation.summarised",
            "occurred_at": "2025-03-03T16:00:00Z",
            "schema": 1,
            "to_office_id": "s-1",
            "to_level": "street",
            "day": "2025-03-03",
            "late": False,
            "count": 2,
            "raised_count": 2,
            "reasons": {"resolution_breached": 2},
            "order_ids": ["o-3", "o-4"],
        }
    ]
    # the closed day is kept for late proposals; Mar 4 stays open and, within budget,
    # summarises nothing
    assert [(day, value.closed) for day, value in ledger.offices["s-1"].days] == [("2025-03-03", True), ("2025-03-04", False)]
    assert close_ledger_days(ledger, utc("2025-03-05T00:00:00"), policy, OFFICES)[0] == []


def test_a_held_back_escalation_still_counts_as_the_order_reaching_that_level():
    policy = EscalationPolicy(daily_budget_per_office=1)
    first = escalate(order_at("c-1", order_id="o-1"), trigger("ping_pong"), OFFICES, None, policy)
    held = escalate(order_at("c-2", order_id="o-2"), trigger("ping_pong"), OFFICES, first.ledger, policy)
    assert held.events == ()
    assert held.ledger.orders["o-2"].levels == frozenset({"street"})


def test_a_redelivered_proposal_is_counted_once():
    policy = EscalationPolicy(daily_budget_per_office=1)
    proposal, _ = propose(order_at("c-1"), trigger("ping_pong"), OFFICES, None, policy)
    assert isinstance(proposal, Proposal)
    events, budget = admit(proposal, None, policy)
    again, budget_again = admit(proposal, budget, policy)
    assert len(events) == 1
    assert (again, budget_again) == ([], budget)
    assert Proposal.from_dict(json.loads(json.dumps(proposal.to_dict()))) == proposal


def test_the_summary_lists_a_bounded_number_of_orders_but_counts_all():
    policy = EscalationPolicy(daily_budget_per_office=1, summary_order_ids_limit=2)
    budget = None
    for number in range(1, 6):
        proposal, _ = propose(order_at("c-1", order_id=f"o-{number}"), trigger("ping_pong"), OFFICES, None, policy)
        _, budget = admit(proposal, budget, policy)
    summaries, closed = close_days(budget, utc("2025-03-04T00:00:00"), policy, OFFICES)
    assert [(s["count"], s["order_ids"]) for s in valid(summaries)] == [(4, ["o-2", "o-3"])]
    assert closed.next_close_at == utc("2025-03-10T16:00:00")


def street_proposal(order_id: str, when: str, reason: str = "resolution_breached") -> Proposal:
    return Proposal(order_id, reason, f"breach-{order_id}", utc(when), "community", "c-1", "street", "s-1", "normal", "noise")


def admitted(proposals, budget: OfficeBudget | None, policy: EscalationPolicy) -> tuple[list[dict], OfficeBudget]:
    events = []
    for proposal in proposals:
        new_events, budget = admit(proposal, budget, policy)
        events.extend(valid(new_events))
    return events, budget


def test_a_late_proposal_for_a_closed_day_is_raised_while_that_day_has_budget_left():
    # given a budget of 2 and one escalation raised on Mar 3, a day closed since
    policy = EscalationPolicy(daily_budget_per_office=2)
    _, budget = admitted([street_proposal("o-1", "2025-03-03T01:00:00")], None, policy)
    _, budget = close_days(budget, utc("2025-03-04T01:00:00"), policy, OFFICES)
    # when a lagging partition delivers another escalation of Mar 3
    events, budget = admitted([street_proposal("o-2", "2025-03-03T02:00:00")], budget, policy)
    # then it takes the day's remaining budget
    assert [(event["type"], event["order_id"]) for event in events] == [("escalation.raised", "o-2")]
    assert budget.day("2025-03-03").raised == ("o-1:street", "o-2:street")


def test_a_late_proposal_over_a_closed_day_budget_is_held_back_and_announced_by_a_late_summary():
    # given a budget of 1, used on Mar 3, and the day closed (its summary had nothing to say)
    policy = EscalationPolicy(daily_budget_per_office=1)
    _, budget = admitted([street_proposal("o-1", "2025-03-03T01:00:00")], None, policy)
    summaries, budget = close_days(budget, utc("2025-03-04T01:00:00"), policy, OFFICES)
    assert summaries == []
    # when a lagging partition delivers another escalation of Mar 3, and then redelivers it
    late = street_proposal("o-2", "2025-03-03T02:00:00", "ping_pong")
    events, budget = admitted([late], budget, policy)
    again, budget_again = admit(late, budget, policy)
    # then the day still raises only one; the late one is held back and announced at once
    # by a summary of its own, whose id follows from the office, day and escalation
    caused_by = "s-1:2025-03-03:late:o-2:street"
    assert events == [
        {
            "event_id": derived_event_id(caused_by, "escalation.summarised"),
            "caused_by": caused_by,
            "type": "escalation.summarised",
            "occurred_at": "2025-03-03T16:00:00Z",
            "schema": 1,
            "to_office_id": "s-1",
            "to_level": "street",
            "day": "2025-03-03",
            "late": True,
            "count": 1,
            "raised_count": 1,
            "reasons": {"ping_pong": 1},
            "order_ids": ["o-2"],
        }
    ]
    # and the redelivery changes nothing, nor does closing again
    assert (again, budget_again) == ([], budget)
    assert close_days(budget, utc("2025-03-05T01:00:00"), policy, OFFICES)[0] == []


def test_a_redelivered_proposal_for_a_closed_day_is_counted_once():
    policy = EscalationPolicy(daily_budget_per_office=1)
    first = street_proposal("o-1", "2025-03-03T01:00:00")
    _, budget = admitted([first], None, policy)
    _, budget = close_days(budget, utc("2025-03-04T01:00:00"), policy, OFFICES)
    assert admit(first, budget, policy) == ([], budget)


def test_a_closed_day_is_forgotten_after_its_retention_and_a_proposal_for_it_is_then_held_back():
    # given a budget of 5 that Mar 3 did not use up, kept two days after it ends
    policy = EscalationPolicy(daily_budget_per_office=5, closed_day_retention_days=2)
    _, budget = admitted([street_proposal("o-1", "2025-03-03T01:00:00")], None, policy)
    _, budget = close_days(budget, utc("2025-03-04T01:00:00"), policy, OFFICES)
    assert budget.next_close_at == utc("2025-03-05T16:00:00")
    # when the retention ends
    _, kept = close_days(budget, utc("2025-03-05T15:59:59"), policy, OFFICES)
    _, budget = close_days(budget, utc("2025-03-05T16:00:00"), policy, OFFICES)
    assert [day for day, _ in kept.days] == ["2025-03-03"]
    assert (budget.days, budget.forgotten_through, budget.next_close_at) == ((), "2025-03-03", None)
    # and a proposal of Mar 2 or Mar 3 arrives, twice
    events, budget = admitted([street_proposal("o-2", "2025-03-02T01:00:00"), street_proposal("o-3", "2025-03-03T02:00:00")], budget, policy)
    again, budget_again = admit(street_proposal("o-3", "2025-03-03T02:00:00"), budget, policy)
    # then, the days' counts being unknown, both are held back and announced without a raised count
    assert [(event["type"], event["day"], event["late"], event["raised_count"], event["order_ids"]) for event in events] == [
        ("escalation.summarised", "2025-03-02", True, None, ["o-2"]),
        ("escalation.summarised", "2025-03-03", True, None, ["o-3"]),
    ]
    assert (again, budget_again) == ([], budget)
    # and the next close forgets those days again without announcing them twice
    summaries, budget = close_days(budget, utc("2025-03-06T00:00:00"), policy, OFFICES)
    assert (summaries, budget.days, budget.forgotten_through) == ([], (), "2025-03-03")


def test_without_a_budget_a_late_proposal_for_a_forgotten_day_is_raised():
    policy = EscalationPolicy(daily_budget_per_office=None, closed_day_retention_days=1)
    budget = OfficeBudget("s-1", forgotten_through="2025-03-03")
    events, _ = admitted([street_proposal("o-1", "2025-03-03T02:00:00")], budget, policy)
    assert [event["type"] for event in events] == ["escalation.raised"]


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(12)), st.integers(min_value=1, max_value=3))
def test_the_daily_budget_holds_whatever_order_the_proposals_arrive_in(arrival, limit):
    # given twelve escalations to one office over three local days (four a day)
    policy = EscalationPolicy(daily_budget_per_office=limit)
    proposals = [street_proposal(f"o-{number}", f"2025-03-0{3 + number // 4}T0{number % 4}:00:00") for number in range(12)]
    # when they arrive in any order, each new latest one closing the days that ended,
    # some delivered twice, and the log ends a day later
    budget, watermark, events = None, None, []
    for index in arrival:
        for _ in range(1 + index % 2):
            new_events, budget = admit(proposals[index], budget, policy)
            events.extend(valid(new_events))
        if watermark is None or proposals[index].occurred_at > watermark:
            watermark = proposals[index].occurred_at
            summaries, budget = close_days(budget, watermark, policy, OFFICES)
            events.extend(valid(summaries))
    summaries, budget = close_days(budget, utc("2025-03-06T16:00:00"), policy, OFFICES)
    events.extend(valid(summaries))
    raised = [event for event in events if event["type"] == "escalation.raised"]
    summarised = [event for event in events if event["type"] == "escalation.summarised"]
    # then each day raises exactly its budget, the rest are announced once each, and no
    # event id repeats
    per_day: dict[str, int] = {}
    for event in raised:
        day = datetime.fromisoformat(event["occurred_at"]).astimezone(SHANGHAI).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    assert per_day == {"2025-03-03": limit, "2025-03-04": limit, "2025-03-05": limit}
    assert sorted(order_id for event in summarised for order_id in event["order_ids"]) == sorted(
        {f"o-{number}" for number in range(12)} - {event["order_id"] for event in raised}
    )
    assert len({event["event_id"] for event in events}) == len(events)


def test_an_office_budget_survives_a_json_round_trip_and_reads_dicts_without_kept_days():
    # given a budget with an open day, a closed day and a forgotten one
    policy = EscalationPolicy(daily_budget_per_office=1, closed_day_retention_days=2)
    _, budget = admitted([street_proposal("o-1", "2025-03-01T01:00:00"), street_proposal("o-2", "2025-03-03T01:00:00"), street_proposal("o-3", "2025-03-03T02:00:00")], None, policy)
    _, budget = close_days(budget, utc("2025-03-02T00:00:00"), policy, OFFICES)
    _, budget = admitted([street_proposal("o-4", "2025-03-05T01:00:00")], budget, policy)
    _, budget = close_days(budget, utc("2025-03-04T00:00:00"), policy, OFFICES)
    assert [(day, value.closed) for day, value in budget.days] == [("2025-03-03", True), ("2025-03-05", False)]
    assert budget.forgotten_through == "2025-03-01"
    # then it survives JSON
    assert OfficeBudget.from_dict(json.loads(json.dumps(budget.to_dict()))) == budget
    # and a dict written before closed days were kept reads as open days
    old = {"office_id": "s-1", "days": {"2025-03-03": {"raised": ["o-2:street"], "held_back": [{"order_id": "o-3", "to_level": "street", "reason": "resolution_breached"}]}}}
    assert OfficeBudget.from_dict(old) == OfficeBudget("s-1", (("2025-03-03", OfficeDay(("o-2:street",), (HeldBack("o-3", "street", "resolution_breached"),))),))


def test_both_ledgers_survive_a_json_round_trip():
    policy = EscalationPolicy(daily_budget_per_office=1)
    ledger = None
    for number in range(1, 4):
        ledger = escalate(order_at("c-1", order_id=f"o-{number}"), trigger("ping_pong"), OFFICES, ledger, policy).ledger
    assert sorted(ledger.orders) == ["o-1", "o-2", "o-3"]
    for escalations in ledger.orders.values():
        assert OrderEscalations.from_dict(json.loads(json.dumps(escalations.to_dict()))) == escalations
    budget = ledger.offices["s-1"]
    assert OfficeBudget.from_dict(json.loads(json.dumps(budget.to_dict()))) == budget


# --- triggers -----------------------------------------------------------------------


def _appeal(urgency: str = "normal") -> dict:
    return screened("in-1", "appeal.received", "2025-03-03T01:00:00", channel="phone", title="t", text="x",
                    category="noise", urgency=urgency, location={})


def test_a_resolution_breach_triggers_and_other_deadline_events_do_not():
    order = order_at("c-1")
    event = screened("in-9", "order.replied", "2025-03-10T02:00:00", office_id="c-1", kind="interim")
    deadline_events = [
        {"event_id": "dl-1", "type": "deadline.breached", "target": "resolution", "occurred_at": "2025-03-10T02:00:00Z"},
        {"event_id": "dl-2", "type": "deadline.breached", "target": "sign_for", "occurred_at": "2025-03-04T02:00:00Z"},
        {"event_id": "dl-3", "type": "deadline.warning", "target": "resolution", "occurred_at": "2025-03-08T02:00:00Z"},
    ]
    assert triggers_for(order, order, event, POLICY, deadline_events) == [
        Trigger("resolution_breached", "dl-1", utc("2025-03-10T02:00:00"))
    ]


@pytest.mark.parametrize(("repeat_count", "expected"), [(None, []), (2, []), (3, ["repeated_appeals"]), (7, ["repeated_appeals"])])
def test_repeated_appeals_trigger_at_the_threshold_once_the_order_has_an_office(repeat_count, expected):
    event = _appeal()
    order = evolve(None, event)
    assert triggers_for(None, order, event, POLICY, repeat_count=repeat_count) == []
    dispatch = screened("in-2", "order.dispatched", "2025-03-03T02:00:00", office_id="c-1")
    dispatched = evolve(order, dispatch)
    assert [t.reason for t in triggers_for(order, dispatched, dispatch, POLICY, repeat_count=repeat_count)] == expected
    signed = screened("in-3", "order.signed", "2025-03-03T03:00:00", office_id="c-1")
    assert triggers_for(dispatched, evolve(dispatched, signed), signed, POLICY, repeat_count=repeat_count) == []


def test_an_emergency_triggers_once_when_it_is_first_assigned():
    appeal = _appeal("emergency")
    before = evolve(None, appeal)
    dispatched = screened("in-2", "order.dispatched", "2025-03-03T01:05:00", office_id="c-1")
    after = evolve(before, dispatched)
    assert triggers_for(before, after, dispatched, POLICY) == [Trigger("emergency_urgency", "in-2", utc("2025-03-03T01:05:00"))]
    transferred = screened("in-3", "order.transferred", "2025-03-03T01:10:00", from_office_id="c-1", to_office_id="c-2")
    assert triggers_for(after, evolve(after, transferred), transferred, POLICY) == []


def test_ping_pong_triggers_when_hand_offs_reach_the_threshold():
    order = order_at("c-1")
    moves = [
        screened("in-3", "order.returned", "2025-03-03T03:00:00", office_id="c-1", reason="not ours"),
        screened("in-4", "order.dispatched", "2025-03-03T04:00:00", office_id="c-2"),
        screened("in-5", "order.transferred", "2025-03-03T05:00:00", from_office_id="c-2", to_office_id="c-1"),
        screened("in-6", "order.returned", "2025-03-03T06:00:00", office_id="c-1", reason="not ours"),
        screened("in-7", "order.returned", "2025-03-03T07:00:00", office_id="c-1", reason="still not ours"),
    ]
    fired = []
    for move in moves:
        after = evolve(order, move)
        fired += [(t.reason, t.caused_by) for t in triggers_for(order, after, move, POLICY)]
        order = after
    assert fired == [("ping_pong", "in-6")]


@pytest.mark.parametrize(
    ("satisfaction", "resolved", "expected"),
    [
        ("unsatisfied", True, ["dissatisfied_after_resolution"]),
        ("basic", False, ["dissatisfied_after_resolution"]),
        ("satisfied", True, []),
        ("basic", True, []),
    ],
)
def test_dissatisfaction_after_a_resolution_triggers(satisfaction, resolved, expected):
    order = evolve(order_at("c-1"), screened("in-3", "order.resolved", "2025-03-04T02:00:00", office_id="c-1"))
    rated = screened("in-4", "order.rated", "2025-03-05T02:00:00", satisfaction=satisfaction, resolved=resolved)
    assert [t.reason for t in triggers_for(order, evolve(order, rated), rated, POLICY)] == expected
