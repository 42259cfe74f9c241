"""Office facts of an order: exact facts per lifecycle, idempotency, and arrival-order independence."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.contract.schemas import topic_validator
from hotline.core.ids import derived_event_id
from hotline.core.office_facts import OfficeMarks, office_facts
from hotline.core.orders import OrderState, evolve
from hotline.core.pressure import LEVEL_DELTAS, OfficeFact
from hotline.core.screening import SCREENED_KIND

T0 = datetime(2025, 3, 3, 1, 0, tzinfo=timezone.utc)
SCREENED = topic_validator("hotline.screened.v1")
DEADLINES = topic_validator("hotline.deadlines.v1")
CASES = topic_validator("hotline.cases.v1")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def utc(minutes: float) -> str:
    return at(minutes).strftime("%Y-%m-%dT%H:%M:%SZ")


def valid(validator, message: dict) -> dict:
    assert validator.validate(message) is None, message
    return message


def screened(input_id: str, event_type: str, minutes: float, verdict: str = "accepted", **data) -> dict:
    return valid(
        SCREENED,
        {
            "event_id": derived_event_id(input_id, SCREENED_KIND),
            "caused_by": input_id,
            "type": event_type,
            "order_id": "o-1",
            "occurred_at": utc(minutes),
            "schema": 1,
            "data": data,
            "verdict": {"status": verdict, "reasons": [] if verdict == "accepted" else ["out_of_scope"]},
        },
    )


def appeal(verdict: str = "accepted", **data) -> dict:
    fields = {
        "channel": "phone",
        "title": "Noise at night",
        "text": "Building site works after midnight",
        "category": "noise",
        "urgency": "normal",
        "location": {"district": "Haidian", "street": "Zhongguancun"},
    }
    fields.update(data)
    return screened("in-1", "appeal.received", 0, verdict, **fields)


def dispatched(input_id: str, minutes: float, office_id: str) -> dict:
    return screened(input_id, "order.dispatched", minutes, office_id=office_id)


def resolved(input_id: str, minutes: float, office_id: str) -> dict:
    return screened(input_id, "order.resolved", minutes, office_id=office_id)


def rated(input_id: str, minutes: float, satisfaction: str) -> dict:
    return screened(input_id, "order.rated", minutes, satisfaction=satisfaction, resolved=satisfaction != "unsatisfied")


def deadline(kind: str, target: str, minutes: float, office_id: str, allowed_seconds: float, elapsed_seconds: float, cause: str) -> dict:
    clock_id = f"o-1:{target}:in-2"
    return valid(
        DEADLINES,
        {
            "event_id": derived_event_id(clock_id, kind),
            "caused_by": cause,
            "type": kind,
            "order_id": "o-1",
            "occurred_at": utc(minutes),
            "schema": 1,
            "target": target,
            "clock_id": clock_id,
            "clock_started_at": utc(10),
            "office_id": office_id,
            "office_level": "community",
            "urgency": "normal",
            "category": "noise",
            "basis": "policy",
            "unit": "calendar",
            "due_at": utc(10 + allowed_seconds / 60),
            "allowed_seconds": allowed_seconds,
            "elapsed_seconds": elapsed_seconds,
        },
    )


def met(minutes: float, allowed_seconds: float, elapsed_seconds: float, cause: str) -> dict:
    return deadline("deadline.met", "resolution", minutes, "c-1", allowed_seconds, elapsed_seconds, cause)


def breached(target: str, minutes: float, office_id: str = "c-1") -> dict:
    allowed_seconds = (minutes - 10) * 60
    return deadline("deadline.breached", target, minutes, office_id, allowed_seconds, allowed_seconds, f"o-1:{target}:in-2")


def case_record(kind: str) -> dict:
    linked = kind == "case.linked"
    return valid(
        CASES,
        {
            "event_id": derived_event_id("in-1", kind),
            "caused_by": "in-1",
            "type": kind,
            "occurred_at": utc(0),
            "schema": 1,
            "case_id": "o-0" if linked else "o-1",
            "order_id": "o-1",
            "relation": "same_caller_same_issue" if linked else None,
            "similarity": 0.8 if linked else None,
            "matched_order_id": "o-0" if linked else None,
            "earlier_order_ids": ["o-0"] if linked else [],
            "repeat_count": 1 if linked else 0,
        },
    )


def fact(office_id: str, kind: str, minutes: float) -> OfficeFact:
    return OfficeFact(office_id, kind, at(minutes).timestamp())


def receipt(office_id: str, minutes: float) -> OfficeFact:
    return OfficeFact(office_id, "received", at(minutes).timestamp(), "noise", "Haidian")


class Run:
    """Feeds inputs the way the orders agent does; marks go through JSON between calls."""

    def __init__(self) -> None:
        self.order: OrderState | None = None
        self.marks: OfficeMarks | None = None
        self.facts: list[OfficeFact] = []

    def feed(self, message: dict) -> list[OfficeFact]:
        if message["type"].startswith(("deadline.", "case.")):
            order = self.order or OrderState("o-1")
            inputs = {"deadline_events": [message]} if message["type"].startswith("deadline.") else {"case_link": message}
            facts, marks = office_facts(order, order, self.marks, **inputs)
        else:
            before = self.order
            self.order = evolve(before, message)
            facts, marks = office_facts(before, self.order, self.marks)
        self.marks = OfficeMarks.from_dict(json.loads(json.dumps(marks.to_dict())))
        self.facts.extend(facts)
        return facts

    def counted(self) -> Counter:
        return Counter(f for f in self.facts if f.kind not in LEVEL_DELTAS)

    def level_sums(self) -> dict[tuple[str, str], int]:
        sums: Counter = Counter()
        for f in self.facts:
            if f.kind in LEVEL_DELTAS:
                level, delta = LEVEL_DELTAS[f.kind]
                sums[(f.office_id, level)] += delta
        return {key: total for key, total in sums.items() if total}


# Each lifecycle: (input, exact facts that input must produce) in arrival order.
LIFECYCLES: dict[str, list[tuple[dict, list[OfficeFact]]]] = {
    "dispatch_sign_resolve_rate_unsatisfied": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (screened("in-3", "order.signed", 20, office_id="c-1"), []),
        (resolved("in-4", 60, "c-1"), [fact("c-1", "resolved", 60), fact("c-1", "closed", 60)]),
        (rated("in-5", 120, "unsatisfied"), [fact("c-1", "dissatisfied", 120)]),
    ],
    "transfer": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (
            screened("in-3", "order.transferred", 20, from_office_id="c-1", to_office_id="s-1"),
            [receipt("s-1", 20), fact("c-1", "transferred", 20), fact("c-1", "closed", 20), fact("s-1", "opened", 20)],
        ),
        (screened("in-4", "order.signed", 30, office_id="s-1"), []),
    ],
    "return_and_redispatch": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (screened("in-3", "order.returned", 20, office_id="c-1", reason="not ours"), [fact("c-1", "returned", 20), fact("c-1", "closed", 20)]),
        (dispatched("in-4", 30, "c-2"), [receipt("c-2", 30), fact("c-2", "opened", 30)]),
    ],
    "reopen_after_rush_closure": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (resolved("in-3", 100, "c-1"), [fact("c-1", "resolved", 100), fact("c-1", "closed", 100)]),
        (met(100, allowed_seconds=6000, elapsed_seconds=5400, cause="in-3"), [fact("c-1", "rush_closure", 100)]),
        (rated("in-4", 150, "unsatisfied"), [fact("c-1", "dissatisfied", 150), fact("c-1", "rush_then_dissatisfied", 100)]),
        (
            screened("in-5", "order.reopened", 200, reason="still noisy"),
            [fact("c-1", "reopened", 200), fact("c-1", "rush_then_reopened", 100), fact("c-1", "opened", 200)],
        ),
    ],
    "breach_then_resolve": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (breached("resolution", 70), [fact("c-1", "breached", 70), fact("c-1", "overdue_started", 70)]),
        (resolved("in-3", 100, "c-1"), [fact("c-1", "resolved", 100), fact("c-1", "overdue_ended", 100), fact("c-1", "closed", 100)]),
    ],
    "case_link_before_dispatch": [
        (appeal(), []),
        (case_record("case.linked"), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "repeat", 10), fact("c-1", "opened", 10)]),
    ],
    "case_link_after_dispatch": [
        (appeal(), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (case_record("case.linked"), [fact("c-1", "repeat", 10)]),
    ],
    "flagged_appeal_waits_for_its_case_record": [
        (appeal("flagged"), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (case_record("case.opened"), [fact("c-1", "flagged", 10)]),
    ],
    "flagged_appeal_that_repeats_a_case_is_a_repeat_only": [
        (appeal("flagged"), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "opened", 10)]),
        (case_record("case.linked"), [fact("c-1", "repeat", 10)]),
    ],
    "rejected_appeal_is_flagged_at_its_first_office": [
        (appeal("rejected"), []),
        (dispatched("in-2", 10, "c-1"), [receipt("c-1", 10), fact("c-1", "flagged", 10), fact("c-1", "opened", 10)]),
        (dispatched("in-3", 30, "c-2"), [receipt("c-2", 30), fact("c-1", "closed", 30), fact("c-2", "opened", 30)]),
    ],
    "receipt_naming_its_office": [
        (appeal(office_id="dsny"), [OfficeFact("dsny", "received", at(0).timestamp(), "noise", "Haidian"), fact("dsny", "opened", 0)]),
        (resolved("in-2", 90, "dsny"), [fact("dsny", "resolved", 90), fact("dsny", "closed", 90)]),
    ],
}


@pytest.mark.parametrize("name", sorted(LIFECYCLES))
def test_each_step_of_a_lifecycle_reports_exactly_its_new_office_facts(name):
    # given a fresh order
    run = Run()
    for message, expected in LIFECYCLES[name]:
        # when the next input arrives, then exactly its facts are reported
        assert run.feed(message) == expected, message["type"]


def test_a_repeated_call_with_the_same_inputs_reports_nothing_new():
    # given an order that was dispatched, breached and linked to a case
    run = Run()
    link = case_record("case.linked")
    breach = breached("resolution", 70)
    for message in (appeal(), dispatched("in-2", 10, "c-1"), breach, link):
        run.feed(message)
    order, marks = run.order, run.marks
    # when every input is given again (a redelivery), with a fresh copy of the same state
    copy = OrderState.from_dict(order.to_dict())
    facts, again = office_facts(order, copy, marks, [breach], link)
    # then nothing is reported and the marks are unchanged
    assert facts == []
    assert again == marks


def test_a_resolution_met_before_nine_tenths_of_its_time_is_not_a_rush_closure():
    # given a resolved order
    run = Run()
    for message in (appeal(), dispatched("in-2", 10, "c-1"), resolved("in-3", 100, "c-1")):
        run.feed(message)
    # when its resolution clock was met one second short of 90 % of the allowed time
    # then no rush closure is counted
    assert run.feed(met(100, allowed_seconds=6000, elapsed_seconds=5399, cause="in-3")) == []


def test_a_sign_for_breach_counts_but_does_not_make_the_order_overdue():
    # given a dispatched order
    run = Run()
    for message in (appeal(), dispatched("in-2", 10, "c-1")):
        run.feed(message)
    # when its office misses the sign-for deadline
    # then the breach is counted and the overdue level does not move
    assert run.feed(breached("sign_for", 40)) == [fact("c-1", "breached", 40)]


def test_an_overdue_order_counts_as_overdue_where_it_is_open_after_a_transfer():
    # given an order overdue at the community office
    run = Run()
    for message in (appeal(), dispatched("in-2", 10, "c-1"), breached("resolution", 70)):
        run.feed(message)
    # when it is transferred to the street office
    facts = run.feed(screened("in-3", "order.transferred", 80, from_office_id="c-1", to_office_id="s-1"))
    # then both its backlog and overdue levels move with it
    assert facts == [
        receipt("s-1", 80),
        fact("c-1", "transferred", 80),
        fact("c-1", "overdue_ended", 80),
        fact("c-1", "closed", 80),
        fact("s-1", "opened", 80),
        fact("s-1", "overdue_started", 80),
    ]


def test_a_receipt_waits_for_the_appeal_that_gives_its_category_and_district():
    # given an order whose dispatch arrives before its appeal
    run = Run()
    assert run.feed(dispatched("in-2", 10, "c-1")) == [fact("c-1", "opened", 10)]
    # when the appeal arrives, then the receipt is counted with the appeal's category and district
    assert run.feed(appeal()) == [receipt("c-1", 10)]


def test_inputs_of_another_order_are_refused():
    # given an order
    order = evolve(None, appeal())
    other = dict(breached("resolution", 70), order_id="o-2")
    # when a deadline event of another order is given, then it is refused
    with pytest.raises(ValueError, match="o-2"):
        office_facts(order, order, None, [other])


def test_the_marks_survive_a_json_round_trip():
    # given the marks of an order that went through rush closure, breach and case link
    run = Run()
    for message, _ in LIFECYCLES["reopen_after_rush_closure"]:
        run.feed(message)
    run.feed(breached("resolution", 400))
    run.feed(case_record("case.linked"))
    # when they are written as JSON and read back, then nothing is lost
    marks = run.marks
    assert OfficeMarks.from_dict(json.loads(json.dumps(marks.to_dict()))) == marks
    assert marks.case_linked is True
    assert marks.open_at_office_id == "c-1"
    assert marks.overdue_at_office_id == "c-1"


def _in_order(name: str) -> Run:
    run = Run()
    for message, _ in LIFECYCLES[name]:
        run.feed(message)
    return run


def _is_handover(message: dict) -> bool:
    data = message.get("data", {})
    names_office = message["type"] == "appeal.received" and "office_id" in data
    return message["type"] in ("order.dispatched", "order.transferred") or names_office


@st.composite
def arrivals(draw, keep_handovers_in_order: bool):
    """A lifecycle's inputs shuffled, some of them delivered twice."""
    name = draw(st.sampled_from(sorted(LIFECYCLES)))
    messages = [message for message, _ in LIFECYCLES[name]]
    shuffled = draw(st.permutations(messages))
    if keep_handovers_in_order:
        handovers = iter([message for message in messages if _is_handover(message)])
        shuffled = [next(handovers) if _is_handover(message) else message for message in shuffled]
    delivered = list(shuffled)
    for message in draw(st.lists(st.sampled_from(messages), max_size=4)):
        # A redelivery comes after the first delivery.
        first = delivered.index(message)
        delivered.insert(draw(st.integers(first + 1, len(delivered))), message)
    return name, delivered


def _backlog_expected(run: Run) -> dict[tuple[str, str], int]:
    order = run.order
    open_at = order.current_office_id if order.status in ("dispatched", "signed", "reopened") else None
    return {} if open_at is None else {(open_at, "backlog_orders"): 1}


@settings(max_examples=300, deadline=None)
@given(arrivals(keep_handovers_in_order=True))
def test_any_arrival_order_and_redelivery_reports_the_same_facts(arrival):
    # given a lifecycle run in its natural order
    name, messages = arrival
    expected = _in_order(name)
    # when its inputs arrive shuffled (hand-overs keep their order) and partly twice
    run = Run()
    for message in messages:
        run.feed(message)
    # then the same counted facts are reported, and the levels end where the order is
    assert run.counted() == expected.counted()
    assert run.level_sums() == expected.level_sums()
    backlog = {key: total for key, total in run.level_sums().items() if key[1] == "backlog_orders"}
    assert backlog == _backlog_expected(run)


@settings(max_examples=300, deadline=None)
@given(arrivals(keep_handovers_in_order=False))
def test_shuffled_hand_overs_change_at_most_where_the_discount_is_placed(arrival):
    # given a lifecycle run in its natural order
    name, messages = arrival
    expected = _in_order(name)
    # when every input, hand-overs included, arrives in any order and partly twice
    run = Run()
    for message in messages:
        run.feed(message)

    # then all facts but repeat / flagged are the same, those two are as many, and levels agree
    def discounts_apart(counted: Counter) -> tuple[Counter, Counter]:
        kinds = Counter(f.kind for f in counted.elements() if f.kind in ("repeat", "flagged"))
        return Counter({f: n for f, n in counted.items() if f.kind not in ("repeat", "flagged")}), kinds

    assert discounts_apart(run.counted()) == discounts_apart(expected.counted())
    assert run.level_sums() == expected.level_sums()
    backlog = {key: total for key, total in run.level_sums().items() if key[1] == "backlog_orders"}
    assert backlog == _backlog_expected(run)
