"""An order waits for its case link, so the link's timing never changes what it publishes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.core.escalation import EscalationPolicy
from hotline.rules import load_deadline_policy

OFFICES = {
    "city": {"level": "city", "parent_id": None},
    "d-1": {"level": "district", "parent_id": "city"},
    "s-1": {"level": "street", "parent_id": "d-1"},
    "c-1": {"level": "community", "parent_id": "s-1"},
}
RULES = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), EscalationPolicy(daily_budget_per_office=None), OFFICES)
START = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)
LATER = START + timedelta(days=20)


def screened(input_id: str, event_type: str, hours: float, **data) -> dict:
    return {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": "o-1",
        "occurred_at": (START + timedelta(hours=hours)).isoformat().replace("+00:00", "Z"),
        "schema": 1,
        "data": data,
        "verdict": {"status": "accepted", "reasons": []},
    }


APPEAL = screened("in-1", "appeal.received", 0, channel="phone", title="t", text="x", category="noise", urgency="normal", location={})
DISPATCH = screened("in-2", "order.dispatched", 1, office_id="c-1")
LINK = {
    "type": "case.linked",
    "event_id": "link-1",
    "order_id": "o-1",
    "case_id": "o-0",
    "repeat_count": 3,
    "occurred_at": APPEAL["occurred_at"],
}


def outputs(steps: list[order_flow.OrderStep]) -> tuple:
    return (
        [event["event_id"] for step in steps for event in step.deadline_events],
        [(p.reason, p.to_office_id, p.occurred_at) for step in steps for p in step.proposals],
        [at for step in steps for at in step.proposal_merge_at],
        [
            (key, at, fact.kind, fact.office_id)
            for step in steps
            for key, at, fact in zip(step.fact_keys, step.fact_merge_at, step.facts, strict=True)
        ],
    )


def link_right_after_appeal() -> tuple[list[order_flow.OrderStep], order_flow.OrderRecord]:
    appeal = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True)
    assert appeal.record.waiting_for_link
    linked = order_flow.on_case_link(appeal.record, "o-1", LINK, RULES, watermark=START)
    dispatched = order_flow.on_screened_event(linked.record, DISPATCH, START, RULES)
    checked = order_flow.on_watermark(dispatched.record, LATER, RULES)
    return [appeal, linked, dispatched, checked], checked.record


def test_a_late_link_publishes_what_a_prompt_link_publishes():
    prompt_steps, prompt_record = link_right_after_appeal()
    appeal = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True)
    held = order_flow.on_screened_event(appeal.record, DISPATCH, START, RULES)
    deferred = order_flow.on_watermark(held.record, LATER, RULES)
    late = order_flow.on_case_link(deferred.record, "o-1", LINK, RULES, watermark=LATER)
    assert outputs([held, deferred]) == ([], [], [], [])
    assert held.record.next_check_at is None
    assert outputs([appeal, late]) == outputs(prompt_steps)
    assert late.record == prompt_record


def test_a_repeat_linked_before_dispatch_escalates_at_the_dispatch_ahead_of_the_breach():
    steps, record = link_right_after_appeal()
    _, proposals, merge_at, facts = outputs(steps)
    assert [key for key, *_ in facts] == [f"o-1|{index}" for index in range(len(facts))] and len(facts) >= 3
    dispatched_at = START + timedelta(hours=1)
    assert proposals == [("repeated_appeals", "s-1", dispatched_at), ("resolution_breached", "d-1", proposals[1][2])]
    assert proposals[1][2] > dispatched_at
    assert merge_at == [dispatched_at, proposals[1][2]]
    assert [item.level for item in record.escalations.records] == ["street", "district"]


def test_a_link_that_overtakes_its_appeal_is_applied_right_after_it():
    prompt_steps, prompt_record = link_right_after_appeal()
    early = order_flow.on_case_link(None, "o-1", LINK, RULES, watermark=None)
    assert outputs([early]) == ([], [], [], [])
    appeal = order_flow.on_screened_event(early.record, APPEAL, None, RULES, awaits_link=True)
    assert not appeal.record.waiting_for_link and appeal.record.linked
    dispatched = order_flow.on_screened_event(appeal.record, DISPATCH, START, RULES)
    checked = order_flow.on_watermark(dispatched.record, LATER, RULES)
    assert outputs([appeal, dispatched, checked]) == outputs(prompt_steps)
    assert checked.record == prompt_record


def test_a_redelivered_link_changes_nothing():
    _, record = link_right_after_appeal()
    again = order_flow.on_case_link(record, "o-1", LINK, RULES, watermark=LATER)
    assert again.duplicate and again.record == record


def test_the_waiting_state_survives_the_table_round_trip():
    appeal = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True)
    held = order_flow.on_screened_event(appeal.record, DISPATCH, START, RULES, position=("hotline.screened.v1", 2, 41))
    restored = order_flow.OrderRecord.from_dict(held.record.to_dict())
    assert restored == held.record
    assert [held.event["type"] for held in restored.held] == ["appeal.received", "order.dispatched"]
    assert restored.held[1].position == ("hotline.screened.v1", 2, 41)


def test_only_a_finished_order_is_forgotten_and_only_after_its_retention():
    _, open_record = link_right_after_appeal()
    retention = timedelta(days=14)
    assert open_record.forget_at(retention) is None
    closed_at = START + timedelta(days=3)
    closing = screened("in-9", "order.closed", 72, office_id="c-1")
    closed = order_flow.on_screened_event(open_record, closing, LATER, RULES).record
    assert closed.order.status == "closed"
    assert closed.forget_at(retention) == closed_at + retention
    waiting = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True).record
    assert waiting.forget_at(retention) is None


OPENED = {**LINK, "type": "case.opened", "case_id": "o-1", "repeat_count": 0}
FREQUENT_OPENED = {**OPENED, "verdict": {"status": "flagged", "reasons": ["frequent_caller"]}}


def test_a_waiting_appeal_publishes_nothing_and_takes_the_verdict_its_link_carries():
    appeal = order_flow.on_screened_event(None, APPEAL, None, RULES, awaits_link=True)
    assert outputs([appeal]) == ([], [], [], []) and appeal.record.order.received_at is None
    opened = order_flow.on_case_link(appeal.record, "o-1", FREQUENT_OPENED, RULES, watermark=START)
    order = opened.record.order
    assert (order.status, order.verdict_status, order.verdict_reasons) == ("received", "flagged", ("frequent_caller",))
    # the appeal's office facts follow the final verdict: a flagged appeal that opens a
    # case is counted apart, one the screen stage accepted and nobody flagged is not
    dispatched = order_flow.on_screened_event(opened.record, DISPATCH, START, RULES)
    plain = order_flow.on_case_link(appeal.record, "o-1", OPENED, RULES, watermark=START)
    plain_dispatched = order_flow.on_screened_event(plain.record, DISPATCH, START, RULES)
    assert [fact.kind for fact in (*opened.facts, *dispatched.facts) if fact.kind == "flagged"] == ["flagged"]
    assert [fact.kind for fact in (*plain.facts, *plain_dispatched.facts) if fact.kind == "flagged"] == []


def test_a_link_that_overtakes_its_appeal_brings_its_verdict_too():
    early = order_flow.on_case_link(None, "o-1", FREQUENT_OPENED, RULES, watermark=None)
    appeal = order_flow.on_screened_event(early.record, APPEAL, None, RULES, awaits_link=True)
    assert (appeal.record.linked, appeal.record.order.verdict_status) == (True, "flagged")
