"""Each scenario produces what it claims, in the events and in the ground truth."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime

from simulator_runs import events_by_order, run, truth_of

from hotline.sim.lifecycle import RUSH_CLOSURE_LEAD_SECONDS
from hotline.sim.truth import PING_PONG_MIN_HANDOFFS


def _first(events: list[dict], event_type: str) -> dict | None:
    return next((event for event in events if event["type"] == event_type), None)


def _hours_between(earlier: dict, later: dict) -> float:
    return (datetime.fromisoformat(later["occurred_at"]) - datetime.fromisoformat(earlier["occurred_at"])).total_seconds() / 3600


def test_overload_truth_names_only_the_surging_office_during_the_surge():
    simulation = run("overload")
    dispatched = Counter(event["data"]["office_id"] for event in simulation.events if event["type"] == "order.dispatched")
    busiest_street = max((office for office in dispatched if office.count("-s") == 1 and "-c" not in office), key=dispatched.__getitem__)
    intervals = truth_of(simulation, "overload")
    # then only the surging street is overloaded, from the surge (09:00 local on day two) on
    assert {interval["office_id"] for interval in intervals} == {busiest_street}
    assert "2026-03-03T01:00:00Z" <= intervals[0]["start"] <= "2026-03-03T12:00:00Z"
    assert intervals[0]["end"] >= "2026-03-04T12:00:00Z"


def test_overloaded_office_signs_and_replies_much_later_than_the_others():
    simulation = run("overload")
    surging = truth_of(simulation, "overload")[0]["office_id"]
    sign_hours: dict[bool, list[float]] = {True: [], False: []}
    for events in events_by_order(simulation).values():
        dispatched, signed = _first(events, "order.dispatched"), _first(events, "order.signed")
        if dispatched is not None and signed is not None and dispatched["occurred_at"] >= "2026-03-03T12":
            sign_hours[dispatched["data"]["office_id"] == surging].append(_hours_between(dispatched, signed))
    assert statistics.median(sign_hours[True]) > 5 * statistics.median(sign_hours[False])


def test_ping_pong_orders_bounce_between_two_offices_and_are_in_the_truth():
    simulation = run("ping-pong")
    orders = events_by_order(simulation)
    truths = truth_of(simulation, "order")
    assert len(truths) >= 15 and all(truth["ping_pong"] and not truth["rush_closure"] for truth in truths)
    for truth in truths:
        events = orders[truth["order_id"]]
        handoffs = [event for event in events if event["type"] in ("order.returned", "order.transferred")]
        offices = {event["data"]["office_id"] for event in events if event["type"] in ("order.dispatched", "order.signed")}
        assert len(handoffs) >= PING_PONG_MIN_HANDOFFS and len(offices) == 2
        assert "ping_pong" in truth["expected_escalations"]
    # and a breach is expected exactly when the resolution came after the due time
    # (orders without pauses or extensions, whose due time is the dispatched one)
    end_of_run = "2026-03-10T00:00:00+08:00"
    for truth in truths:
        events = orders[truth["order_id"]]
        if any(event["type"] in ("order.suspended", "order.extended") for event in events):
            continue
        due_at = _first(events, "order.dispatched")["data"]["due_at"]
        resolved = _first(events, "order.resolved")
        breached = resolved["occurred_at"] > due_at if resolved is not None else due_at < end_of_run
        assert breached == ("resolution_breached" in truth["expected_escalations"])
    # and no order outside the truth bounced that often
    flagged = {truth["order_id"] for truth in truths}
    bounced = {order_id for order_id, events in orders.items() if sum(event["type"] in ("order.returned", "order.transferred") for event in events) >= PING_PONG_MIN_HANDOFFS}
    assert bounced == flagged


def test_repeat_storm_drives_many_repeats_of_one_issue_from_many_callers():
    simulation = run("repeat-storm")
    appeals = {event["order_id"]: event["data"] for event in simulation.events if event["type"] == "appeal.received"}
    records = truth_of(simulation, "appeal")
    storm_issue, appeals_about_it = Counter(record["issue_id"] for record in records).most_common(1)[0]
    storm = [record for record in records if record["issue_id"] == storm_issue]
    relations = Counter(record["relation"] for record in storm)
    assert appeals_about_it >= 80 and relations[None] == 1
    assert relations["other_caller_same_issue"] >= 50 and relations["same_caller_same_issue"] >= 5 and relations["exact_resubmission"] >= 5
    assert len({appeals[record["order_id"]]["caller_id"] for record in storm}) >= 50
    assert {appeals[record["order_id"]]["location"]["address"] for record in storm} == {appeals[storm[0]["order_id"]]["location"]["address"]}
    # and the outage stays unresolved while the storm lasts (three days from 10:00 on day one)
    orders = events_by_order(simulation)
    resolved = [_first(orders[record["order_id"]], "order.resolved") for record in storm]
    assert all(event["occurred_at"] >= "2026-03-05T10:00:00+08:00" for event in resolved if event is not None)


def test_target_substitution_resolves_just_before_the_deadline_with_coaxed_ratings_and_the_problems_come_back():
    simulation = run("target-substitution")
    orders = events_by_order(simulation)
    truths = truth_of(simulation, "order")
    assert len(truths) == 24 and all(truth["rush_closure"] and not truth["ping_pong"] for truth in truths)
    offices = set()
    first_ratings: Counter[str] = Counter()
    for truth in truths:
        events = orders[truth["order_id"]]
        due_at = datetime.fromisoformat(_first(events, "order.dispatched")["data"]["due_at"])
        resolved = _first(events, "order.resolved")
        lead_seconds = (due_at - datetime.fromisoformat(resolved["occurred_at"])).total_seconds()
        assert RUSH_CLOSURE_LEAD_SECONDS[0] <= lead_seconds <= RUSH_CLOSURE_LEAD_SECONDS[1]
        offices.add(resolved["data"]["office_id"])
        dissatisfied = any(event["type"] == "order.rated" and (event["data"]["satisfaction"] == "unsatisfied" or not event["data"]["resolved"]) for event in events)
        assert dissatisfied == ("dissatisfied_after_resolution" in truth["expected_escalations"])
        assert "resolution_breached" not in truth["expected_escalations"]
        rating = _first(events, "order.rated")
        if rating is not None:
            first_ratings[rating["data"]["satisfaction"]] += 1
    assert len(offices) == 1
    # the callers were coaxed: the first ratings are nearly all satisfied ...
    assert first_ratings == {"satisfied": 10, "basic": 1}
    # ... yet the problem stays: the centre reopens the order, or the caller calls again
    rush_order_ids = {truth["order_id"] for truth in truths}
    reopened = {order_id for order_id in rush_order_ids if _first(orders[order_id], "order.reopened") is not None}
    called_again = {
        appeal["repeat_of"] for appeal in truth_of(simulation, "appeal") if appeal["repeat_of"] in rush_order_ids and appeal["relation"] == "same_caller_same_issue"
    }
    assert (len(reopened), len(called_again), len(reopened | called_again)) == (5, 8, 12)
