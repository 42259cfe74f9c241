"""The orders handler: which orders wait for a link, what a watermark advance checks and
forgets, what is sent where, and the clock promised downstream."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.core.escalation import EscalationPolicy
from hotline.core.stages.orders import DEADLINES, CaseLink, OrdersPartition, ScreenedEvent, Tick
from hotline.core.stages.state import OFFICE_FACTS, Failed, StateView, Written
from hotline.rules import load_deadline_policy, load_dedupe_settings

OFFICES = {
    "city": {"level": "city", "parent_id": None},
    "d-1": {"level": "district", "parent_id": "city"},
    "s-1": {"level": "street", "parent_id": "d-1"},
    "c-1": {"level": "community", "parent_id": "s-1"},
}
RULES = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), EscalationPolicy(daily_budget_per_office=None), OFFICES)
LINKS = load_dedupe_settings()
RETENTION = timedelta(days=14)
START = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)


def at(hours: float) -> str:
    return (START + timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


def screened(input_id: str, event_type: str, hours: float, order_id: str = "o-1", status: str = "accepted", **data) -> ScreenedEvent:
    event = {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": order_id,
        "occurred_at": at(hours),
        "schema": 1,
        "data": data,
        "verdict": {"status": status, "reasons": [] if status == "accepted" else ["non_actionable"]},
    }
    return ScreenedEvent(event, ("hotline.screened.v1", 0, int(hours * 10)))


def appeal(hours: float = 0, order_id: str = "o-1", status: str = "accepted") -> ScreenedEvent:
    location = {"district": "d", "street": "s", "community": "c"}
    return screened(f"in-{order_id}", "appeal.received", hours, order_id, status, channel="phone", title="t", text="x", category="noise", urgency="normal", location=location)


def dispatch(hours: float, order_id: str = "o-1") -> ScreenedEvent:
    return screened(f"in-dispatch-{order_id}", "order.dispatched", hours, order_id, office_id="c-1")


def link(order_id: str = "o-1") -> CaseLink:
    return CaseLink({"type": "case.opened", "event_id": f"link-{order_id}", "order_id": order_id, "case_id": order_id, "occurred_at": at(0)})


def tick(hours: float) -> Tick:
    return Tick((START + timedelta(hours=hours)).timestamp())


def run(handler: OrdersPartition, items: list, table: dict) -> list:
    steps = handler.handle(items, StateView(table.get))
    for step in steps:
        for write in step.written:
            if write.value is None:
                table.pop(write.key, None)
            else:
                table[write.key] = write.value
    return steps


def handler(case_links=LINKS, retention=RETENTION) -> OrdersPartition:
    return OrdersPartition(RULES, case_links, retention, 2)


def test_a_linkable_appeal_waits_for_its_link_and_holds_the_downstream_clock():
    # given a partition whose dedupe stage links accepted appeals
    orders, table = handler(), {}
    # when the appeal and then its dispatch arrive, before the link
    waiting = run(orders, [appeal(0), dispatch(1)], table)
    # then nothing is sent, the order waits since the appeal, and the clock stays there
    assert [step.sent for step in waiting] == [[], []]
    assert dict(orders.waiting.items()) == {"o-1": START}
    assert orders.watermark == START + timedelta(hours=1)
    assert orders.promised_seconds == START.timestamp()
    # when the link comes
    [linked] = run(orders, [link()], table)
    # then the appeal and the dispatch are applied: sign-for deadline facts go out
    assert dict(orders.waiting.items()) == {}
    assert orders.promised_seconds == (START + timedelta(hours=1)).timestamp()
    assert {sent.topic for sent in linked.sent} == {OFFICE_FACTS}
    assert order_flow.record_of(table["o-1"]).order.status == "dispatched"


def test_the_promised_clock_follows_the_oldest_order_still_waiting():
    # given two orders waiting for their links, the first since hour 0, the second since hour 2
    orders, table = handler(), {}
    run(orders, [appeal(0, "o-1"), appeal(2, "o-2"), dispatch(3, "o-2")], table)
    assert orders.promised_seconds == START.timestamp()
    # when the first order's link comes, then the second's
    run(orders, [link("o-1")], table)
    # then the clock moves to the second order's wait, and then to the watermark
    assert orders.promised_seconds == (START + timedelta(hours=2)).timestamp()
    run(orders, [link("o-2")], table)
    assert (len(orders.waiting), orders.promised_seconds) == (0, (START + timedelta(hours=3)).timestamp())


def test_without_case_links_or_with_a_verdict_dedupe_skips_an_appeal_is_applied_at_once():
    skipping = replace(LINKS, skip_verdicts=frozenset({"rejected", "flagged"}))
    for orders, status in ((handler(case_links=None), "accepted"), (handler(case_links=skipping), "flagged")):
        table: dict = {}
        [step] = run(orders, [appeal(0, status=status)], table)
        assert (dict(orders.waiting.items()), order_flow.record_of(table["o-1"]).order.received_at is not None) == ({}, True)
        assert [write.key for write in step.written] == ["o-1", "__watermark__/2"]


def test_a_duplicate_changes_no_order_but_still_moves_the_watermark():
    orders, table = handler(case_links=None), {}
    run(orders, [appeal(0)], table)
    again = replace(appeal(0), event={**appeal(0).event, "occurred_at": at(2)})
    [step] = run(orders, [again], table)
    assert (step.duplicate, step.sent, step.written) == (True, [], [Written("__watermark__/2", {"at": "2025-03-03T03:00:00+00:00"})])


def test_an_event_past_the_calendar_is_rejected_and_moves_nothing():
    # given an order received past the calendar's last year
    orders, table = handler(case_links=None), {}
    run(orders, [replace(appeal(0), event={**appeal(0).event, "occurred_at": "2031-06-02T01:00:00Z"})], table)
    stored = dict(table)
    # when it is dispatched there, with a deadline counted in working days
    [step] = run(orders, [replace(dispatch(0), event={**dispatch(0).event, "occurred_at": "2031-06-02T02:00:00Z"})], table)
    # then the dispatch is rejected and changes nothing
    assert (step.rejected.reason, step.written, orders.watermark, table) == ("beyond_calendar", [], datetime(2031, 6, 2, 1, tzinfo=timezone.utc), stored)


def test_a_watermark_advance_checks_due_orders_and_stores_the_watermark_last():
    # given a dispatched order on a partition with no dedupe stage
    orders, table = handler(case_links=None), {}
    run(orders, [appeal(0), dispatch(1)], table)
    # when event time moves twenty days on
    [step] = run(orders, [tick(480)], table)
    # then its deadline warnings and breaches go out keyed by the order, the order is stored, then the watermark
    deadline_keys = {sent.key for sent in step.sent if sent.topic == DEADLINES}
    assert (deadline_keys, {event["type"] for event in step.deadline_events} >= {"deadline.breached"}) == ({"o-1"}, True)
    assert (step.due_checks, [write.key for write in step.written]) == (1, ["o-1", "__watermark__/2"])
    # and a tick behind the watermark does nothing
    assert run(orders, [tick(100)], table)[0].written == []


def test_a_finished_order_leaves_the_table_after_its_retention():
    orders, table = handler(case_links=None), {}
    run(orders, [appeal(0), screened("in-answer", "appeal.answered", 1)], table)
    assert order_flow.record_of(table["o-1"]).order.status == "answered"
    [kept] = run(orders, [tick(1 + 24 * 13)], table)
    [forgotten] = run(orders, [tick(1 + 24 * 15)], table)
    assert (kept.forgotten, forgotten.forgotten, forgotten.written[0], "o-1" in table) == (0, 1, Written("o-1", None), False)
    # offline (no retention) it stays
    offline, offline_table = handler(case_links=None, retention=None), {}
    run(offline, [appeal(0), screened("in-answer", "appeal.answered", 1), tick(24 * 30)], offline_table)
    assert "o-1" in offline_table


def test_a_rebuilt_partition_holds_the_same_watermark_and_indexes():
    orders, table = handler(), {}
    run(orders, [appeal(0, "o-1"), appeal(1, "o-2", status="rejected"), dispatch(2, "o-2")], table)
    [rebuilt] = OrdersPartition.from_stored(RULES, LINKS, RETENTION, table.items()).values()
    assert (rebuilt.partition, rebuilt.watermark, dict(rebuilt.waiting.items()), rebuilt.promised_seconds) == (2, orders.watermark, {"o-1": START}, START.timestamp())
    # and both check the same orders when event time moves on
    original_table = dict(table)
    [original] = run(orders, [tick(480)], original_table)
    [again] = run(rebuilt, [tick(480)], table)
    assert (again.sent, again.written) == (original.sent, original.written)


def test_an_input_that_raises_comes_back_failed_with_its_writes_dropped():
    orders = handler()
    broken = ScreenedEvent({**appeal(0).event, "verdict": None})
    [step] = orders.handle([broken], StateView({}.get))
    assert (type(step), type(step.error)) == (Failed, TypeError)


def test_a_steps_stored_records_give_the_contributions_their_table_values_give():
    # The rates stage reads what an orders step stored from the step itself (with the
    # deadline stage's clocks); it must see what reading the table value would give.
    from hotline.contract import codec
    from hotline.core.assessment import contribution_of
    from hotline.rules import load_assessment_settings
    from hotline.sim import SimulationSpec, simulate

    simulation = simulate(SimulationSpec(days=6, seed=7, scenario="target-substitution", appeals_per_day=120))
    offices = {office["office_id"]: office for office in simulation.offices}
    rules = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), EscalationPolicy(daily_budget_per_office=None), offices)
    policy, settings = load_deadline_policy(), load_assessment_settings()
    handler = OrdersPartition(rules, None, RETENTION, 0)
    table: dict = {}
    compared = with_known_clocks = 0
    for number, event in enumerate(simulation.events):
        event = {**codec.decode(codec.encode(event)), "caused_by": f"in-{number}", "verdict": {"status": "accepted", "reasons": []}}
        [step] = handler.handle([ScreenedEvent(event, ("hotline.screened.v1", 0, number))], StateView(table.get))
        for write in step.written:
            if write.value is None:
                table.pop(write.key, None)
            else:
                table[write.key] = codec.decode(codec.encode(write.value))
        for order_id, record in step.records.items():
            known = record.deadlines.clocks if record.deadlines is not None and record.deadlines.clocks else ()
            with_known_clocks += bool(known)
            from_table = order_flow.record_of(table[order_id]).order
            assert contribution_of(record.order, policy, settings, known) == contribution_of(from_table, policy, settings)
            compared += 1
    assert compared > 5_000 and with_known_clocks > compared // 2
