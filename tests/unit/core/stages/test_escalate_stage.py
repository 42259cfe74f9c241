"""The escalate handler: budgets, days closed before admitting and at the frontier, and
the office fact of every escalation raised."""

from __future__ import annotations

from datetime import datetime, timezone

from hotline.core.escalation import EscalationPolicy, OfficeBudget, Proposal
from hotline.core.ordering import MergeItem
from hotline.core.stages.escalate import EscalatePartition
from hotline.core.stages.state import ESCALATIONS, OFFICE_FACTS, StateView

OFFICES = {"s-1": {"level": "street", "parent_id": "d-1"}, "c-1": {"level": "community", "parent_id": "s-1"}}
POLICY = EscalationPolicy(daily_budget_per_office=1)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def proposal_item(order_id: str, when: str) -> MergeItem:
    proposal = Proposal(order_id, "resolution_breached", f"breach-{order_id}", utc(when), "community", "c-1", "street", "s-1", "normal", "noise")
    return MergeItem(utc(when).timestamp(), proposal.key, proposal.to_dict())


def run(handler: EscalatePartition, items: list[MergeItem], table: dict) -> list:
    steps = handler.handle(items, StateView(table.get))
    for step in steps:
        table.update((write.key, write.value) for write in step.written)
    return steps


def test_a_day_that_ended_is_summarised_before_the_next_proposal_is_admitted():
    # given a street office taking one escalation a day, and two proposals on Mar 3 (local)
    handler = EscalatePartition(POLICY, OFFICES, 1)
    table: dict = {}
    raised, held = run(handler, [proposal_item("o-1", "2025-03-03T01:00:00"), proposal_item("o-2", "2025-03-03T02:00:00")], table)
    # when a proposal of Mar 4 (local) comes
    [next_day] = run(handler, [proposal_item("o-3", "2025-03-03T17:00:00")], table)
    # then o-1 is raised with its office fact, o-2 held back, and Mar 3's summary goes out before o-3 is raised
    assert [(sent.topic, sent.key) for sent in raised.sent] == [(ESCALATIONS, "o-1"), (OFFICE_FACTS, "c-1")]
    assert raised.sent[1].value == {
        "at_seconds": utc("2025-03-03T01:00:00").timestamp(),
        "key": "escalated|breach-o-1",
        "payload": {"office_id": "c-1", "kind": "escalated", "occurred_at_seconds": utc("2025-03-03T01:00:00").timestamp(), "category": None, "district": None},
    }
    assert (held.sent, [proposal.order_id for proposal in held.held_back]) == ([], ["o-2"])
    assert [(sent.topic, sent.key) for sent in next_day.sent] == [(ESCALATIONS, "s-1"), (ESCALATIONS, "o-3"), (OFFICE_FACTS, "c-1")]
    assert [event["type"] for event in next_day.events] == ["escalation.summarised", "escalation.raised"]
    assert next_day.events[0]["order_ids"] == ["o-2"]
    assert [write.key for write in next_day.written] == ["s-1", "s-1"]
    assert table["s-1"]["partition"] == 1
    assert [day for day, _ in OfficeBudget.from_dict(table["s-1"]["budget"]).days] == ["2025-03-03", "2025-03-04"]


def test_days_are_closed_once_when_the_frontier_passes_their_end():
    handler = EscalatePartition(POLICY, OFFICES, 0)
    table: dict = {}
    run(handler, [proposal_item("o-1", "2025-03-03T01:00:00"), proposal_item("o-2", "2025-03-03T02:00:00")], table)
    before_end = handler.close_through(StateView(table.get), utc("2025-03-03T16:00:00").timestamp() - 1)
    at_end = handler.close_through(StateView(table.get), utc("2025-03-03T16:00:00").timestamp())
    table.update((write.key, write.value) for write in at_end.written)
    again = handler.close_through(StateView(table.get), utc("2025-03-03T16:00:00").timestamp())
    assert (before_end.events, before_end.written) == ([], [])
    assert [(event["type"], event["count"], event["to_level"]) for event in at_end.events] == [("escalation.summarised", 1, "street")]
    assert (again.events, again.written) == ([], [])


def test_a_proposal_admitted_again_raises_nothing():
    handler = EscalatePartition(POLICY, OFFICES, 0)
    table: dict = {}
    run(handler, [proposal_item("o-1", "2025-03-03T01:00:00")], table)
    rebuilt = EscalatePartition.from_stored(POLICY, OFFICES, table.items())[0]
    [again] = run(rebuilt, [proposal_item("o-1", "2025-03-03T01:00:00")], table)
    assert (again.sent, again.events, again.held_back) == ([], [], [])
    assert rebuilt.office_ids == {"s-1"}
