"""The order state machine: lifecycle fold, duplicates, out-of-order arrival, JSON round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core.orders import (
    MAX_FACTS,
    Assignment,
    Extension,
    Fact,
    Milestone,
    OrderState,
    Rating,
    Suspension,
    evolve,
    fold,
)

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def screened(input_id: str, event_type: str, minutes: float, verdict: str = "accepted", order_id: str = "o-1", **data) -> dict:
    return {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": order_id,
        "occurred_at": at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "schema": 1,
        "data": data,
        "verdict": {"status": verdict, "reasons": [] if verdict == "accepted" else ["abusive_language"]},
    }


def received(input_id: str = "in-1", minutes: float = 0, **data) -> dict:
    appeal = {
        "channel": "phone",
        "caller_id": "pseudonym-1",
        "title": "Noise at night",
        "text": "Call me on 138****0000",
        "category": "noise",
        "urgency": "urgent",
        "location": {"district": "Haidian", "street": "Zhongguancun"},
    }
    appeal.update(data)
    return screened(input_id, "appeal.received", minutes, **appeal)


LIFECYCLE = [
    received("in-1", 0),
    screened("in-2", "order.dispatched", 10, office_id="c-1"),
    screened("in-3", "order.returned", 20, office_id="c-1", reason="not ours"),
    screened("in-4", "order.dispatched", 30, office_id="c-2"),
    screened("in-5", "order.transferred", 40, from_office_id="c-2", to_office_id="s-1"),
    screened("in-6", "order.signed", 50, office_id="s-1"),
    screened("in-7", "order.replied", 60, office_id="s-1", kind="first_contact", text="on our way"),
    screened("in-8", "order.suspended", 70, reason="waiting for the owner"),
    screened("in-9", "order.resumed", 130),
    screened("in-10", "order.extended", 140, extension_working_days=2, reason="parts"),
    screened("in-11", "order.resolved", 200, office_id="s-1", summary="fixed"),
    screened("in-12", "order.rated", 300, satisfaction="unsatisfied", resolved=False),
    screened("in-13", "order.reopened", 310, reason="still noisy"),
    screened("in-14", "order.resolved", 400, office_id="s-1"),
    screened("in-15", "order.closed", 500, status="done"),
]


def test_the_whole_lifecycle_is_folded_into_exact_fields():
    state = fold(LIFECYCLE)

    assert state.status == "closed"
    assert state.suspended is False
    assert (state.urgency, state.category, state.channel, state.district) == ("urgent", "noise", "phone", "Haidian")
    assert (state.verdict_status, state.verdict_reasons) == ("accepted", ())
    assert (state.received_at, state.received_by) == (at(0), "in-1")
    assert state.dispatched_at == at(10)
    assert state.signed_at == at(50)
    assert (state.first_reply_at, state.first_reply_by) == (at(60), "in-7")
    assert state.resolved_at == at(400)
    assert (state.closed_at, state.closed_by) == (at(500), "in-15")
    assert state.last_event_at == at(500)
    assert state.current_office_id == "s-1"
    assert state.office_history == (
        Assignment("c-1", at(10), "in-2", "dispatched", left_at=at(20), left_by="in-3", left_via="returned"),
        Assignment("c-2", at(30), "in-4", "dispatched", left_at=at(40), left_by="in-5", left_via="transferred"),
        Assignment("s-1", at(40), "in-5", "transferred", signed_at=at(50), signed_by="in-6"),
    )
    assert (state.returns_count, state.transfers_count, state.handoffs_count) == (1, 1, 2)
    assert state.reopen_count == 1
    assert state.rating == Rating(at(300), "unsatisfied", False)
    assert state.suspensions == (Suspension(at(70), "in-8", at(130), "in-9"),)
    assert state.extensions == (Extension(at(140), "in-10", working_days=2),)
    assert state.resolutions == (Milestone(at(200), "in-11"), Milestone(at(400), "in-14"))
    assert state.reopenings == (Milestone(at(310), "in-13"),)
    assert state.source_due_at is None


def test_signed_before_dispatched_yields_the_state_of_the_natural_order():
    # given a signing that overtook its dispatch on the way
    dispatched = screened("in-2", "order.dispatched", 10, office_id="c-1")
    signed = screened("in-3", "order.signed", 15, office_id="c-1")

    # when only the signing has arrived, the signing office holds the order
    early = fold([received(), signed])
    assert early.status == "signed"
    assert early.office_history == (Assignment("c-1", at(15), "in-3", "signed", signed_at=at(15), signed_by="in-3"),)

    # then once the dispatch arrives the state is the one the natural order gives
    late = evolve(early, dispatched)
    assert late == fold([received(), dispatched, signed])
    assert late.status == "signed"
    assert late.office_history == (Assignment("c-1", at(10), "in-2", "dispatched", signed_at=at(15), signed_by="in-3"),)


def test_a_late_resolution_does_not_undo_a_later_closure():
    resolved = screened("in-3", "order.resolved", 30, office_id="c-1")
    closed = screened("in-4", "order.closed", 40)
    state = fold([received(), screened("in-2", "order.dispatched", 10, office_id="c-1"), closed, resolved])
    assert state.status == "closed"
    assert state.resolved_at == at(30)


def test_a_redelivered_event_leaves_the_state_unchanged():
    state = fold(LIFECYCLE[:6])
    again = evolve(state, {**LIFECYCLE[3], "event_id": "screened-again"})
    assert again is state


def test_an_event_of_another_order_is_refused():
    with pytest.raises(ValueError, match="o-2"):
        evolve(fold([received()]), screened("in-2", "order.dispatched", 10, order_id="o-2", office_id="c-1"))


def test_a_flagged_appeal_keeps_its_verdict():
    state = fold([received(verdict="flagged")])
    assert (state.verdict_status, state.verdict_reasons) == ("flagged", ("abusive_language",))


def test_a_311_receipt_naming_the_agency_assigns_the_order_and_carries_the_due_time():
    state = fold([received(office_id="nyc-dot", due_at="2025-03-10T12:00:00-04:00", source="nyc311")])
    assert state.status == "dispatched"
    assert state.current_office_id == "nyc-dot"
    assert state.office_history == (Assignment("nyc-dot", at(0), "in-1", "received"),)
    assert state.source_due_at == datetime(2025, 3, 10, 16, 0, tzinfo=timezone.utc)
    assert state.source == "nyc311"


def test_a_dispatch_carrying_a_due_time_sets_the_source_due():
    state = fold([received(), screened("in-2", "order.dispatched", 10, office_id="c-1", due_at="2025-03-05T00:00:00Z")])
    assert state.source_due_at == datetime(2025, 3, 5, tzinfo=timezone.utc)


def test_an_unmatched_resume_and_a_second_suspend_are_ignored():
    state = fold(
        [
            received(),
            screened("in-2", "order.resumed", 5),
            screened("in-3", "order.suspended", 10, reason="a"),
            screened("in-4", "order.suspended", 20, reason="b"),
        ]
    )
    assert state.suspensions == (Suspension(at(10), "in-3"),)
    assert state.suspended is True


def test_free_text_and_caller_ids_are_not_kept():
    state = fold(LIFECYCLE)
    stored = json.dumps(state.to_dict())
    for secret in ("pseudonym-1", "Noise at night", "138****0000", "on our way", "not ours", "Zhongguancun"):
        assert secret not in stored


def test_a_runaway_order_keeps_a_bounded_history_and_still_spots_duplicates():
    # given an order bounced back and forth far more often than any real one
    events = [received(), screened("in-d", "order.dispatched", 1, office_id="c-1")]
    for index in range(MAX_FACTS + 40):
        source, target = ("c-1", "c-2") if index % 2 == 0 else ("c-2", "c-1")
        events.append(screened(f"t-{index}", "order.transferred", 2 + index, from_office_id=source, to_office_id=target))

    # when it is folded
    state = fold(events)

    # then it keeps at most MAX_FACTS facts, counts every hand-off, and a redelivered
    # event that was compacted away is still recognised
    assert len(state.facts) <= MAX_FACTS
    assert state.transfers_count == MAX_FACTS + 40
    assert state.current_office_id == "c-1"
    assert evolve(state, events[5]) is state
    assert OrderState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


EVENT_KINDS = [
    ("appeal.received", {"channel": "web", "title": "t", "text": "x", "category": "roads", "urgency": "normal", "location": {}}),
    ("appeal.received", {"channel": "app", "title": "t", "text": "x", "category": "heating", "urgency": "emergency", "location": {"district": "D"}, "office_id": "c-9", "due_at": "2025-03-04T00:00:00Z"}),
    ("appeal.answered", {"summary": "told them"}),
    ("order.dispatched", {"office_id": "c-1"}),
    ("order.dispatched", {"office_id": "c-2", "due_at": "2025-03-09T08:00:00+08:00"}),
    ("order.signed", {"office_id": "c-1"}),
    ("order.signed", {"office_id": "c-2"}),
    ("order.returned", {"office_id": "c-1", "reason": "r"}),
    ("order.transferred", {"from_office_id": "c-1", "to_office_id": "s-1"}),
    ("order.replied", {"office_id": "c-1", "kind": "interim"}),
    ("order.suspended", {"reason": "r"}),
    ("order.resumed", {}),
    ("order.extended", {"extension_hours": 1.5}),
    ("order.extended", {"extension_working_days": 3}),
    ("order.resolved", {"office_id": "c-1"}),
    ("order.rated", {"satisfaction": "basic", "resolved": True}),
    ("order.reopened", {}),
    ("order.closed", {}),
]


@st.composite
def event_lists(draw, distinct_times: bool = False):
    count = draw(st.integers(min_value=0, max_value=14))
    kinds = draw(st.lists(st.sampled_from(range(len(EVENT_KINDS))), min_size=count, max_size=count))
    if distinct_times:
        minutes = draw(st.lists(st.integers(min_value=0, max_value=10_000), min_size=count, max_size=count, unique=True))
    else:
        minutes = draw(st.lists(st.integers(min_value=0, max_value=50), min_size=count, max_size=count))
    return [
        screened(f"in-{index}", EVENT_KINDS[kind][0], minute, **EVENT_KINDS[kind][1])
        for index, (kind, minute) in enumerate(zip(kinds, minutes))
    ]


@settings(max_examples=150, deadline=None)
@given(event_lists())
def test_the_state_survives_a_json_round_trip(events):
    state = fold(events, OrderState("o-1"))
    assert OrderState.from_dict(json.loads(json.dumps(state.to_dict()))) == state


@settings(max_examples=150, deadline=None)
@given(event_lists(), st.randoms(use_true_random=False))
def test_the_state_depends_on_the_set_of_facts_not_their_arrival_order(events, random):
    shuffled = list(events)
    random.shuffle(shuffled)
    assert fold(shuffled, OrderState("o-1")) == fold(events, OrderState("o-1"))


@settings(max_examples=100, deadline=None)
@given(event_lists())
def test_applying_every_event_twice_changes_nothing(events):
    once = fold(events, OrderState("o-1"))
    assert fold(events, once) == once


@settings(max_examples=300, deadline=None)
@given(event_lists())
def test_folding_on_from_the_state_equals_deriving_it_from_every_fact(events):
    # given the events in fact order: each is later than all before it, so the state folds on
    in_order = sorted(events, key=lambda event: Fact.from_screened(event).sort_key)
    # when they arrive in reverse instead, each sorts first and the state is derived again
    # from all its facts; then both states are the same
    assert fold(in_order, OrderState("o-1")) == fold(list(reversed(in_order)), OrderState("o-1"))
