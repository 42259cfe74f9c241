"""Order lifecycles: events of each order in a consistent order, timed by load and calendar."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from simulator_runs import RUNS, events_by_order, run

from hotline.contract import schemas
from hotline.sim import SimulationSpec, simulate
from hotline.sim.calendar import SECONDS_PER_DAY, SimCalendar

# state -> event type -> next state. "held" orders sit with an office that has not
# signed yet; "working" ones with an office that has.
TRANSITIONS = {
    "received": {"appeal.answered": "answered", "order.dispatched": "held"},
    "answered": {"order.closed": "closed"},
    "held": {"order.signed": "signed"},
    "signed": {"order.returned": "returned", "order.transferred": "held", "order.replied": "working", "order.resolved": "resolved"},
    "returned": {"order.dispatched": "held", "order.closed": "closed"},
    "working": {"order.replied": "working", "order.suspended": "suspended", "order.extended": "working", "order.resolved": "resolved"},
    "suspended": {"order.resumed": "working", "order.extended": "suspended"},
    "resolved": {"order.rated": "rated"},
    "rated": {"order.reopened": "working", "order.closed": "closed"},
    "closed": {},
}
OFFICE_FIELD = {"order.dispatched": "office_id", "order.signed": "office_id", "order.replied": "office_id", "order.resolved": "office_id", "order.returned": "office_id"}


def _lifecycle_violations(events: list[dict]) -> list[str]:
    state, holder, violations = "received", None, []
    if events[0]["type"] != "appeal.received":
        return [f"{events[0]['order_id']} starts with {events[0]['type']}"]
    for event in events[1:]:
        event_type, data = event["type"], event["data"]
        next_state = TRANSITIONS[state].get(event_type)
        if next_state is None:
            violations.append(f"{event['event_id']}: {event_type} in state {state}")
            break
        if event_type == "order.dispatched":
            holder = data["office_id"]
        elif event_type == "order.transferred":
            if data["from_office_id"] != holder:
                violations.append(f"{event['event_id']}: transferred from {data['from_office_id']}, held by {holder}")
            holder = data["to_office_id"]
        elif event_type in OFFICE_FIELD and data[OFFICE_FIELD[event_type]] != holder:
            violations.append(f"{event['event_id']}: {event_type} by {data['office_id']}, held by {holder}")
        state = next_state
    return violations


def test_every_order_moves_through_the_lifecycle_in_order(any_run):
    violations = [violation for events in events_by_order(any_run).values() for violation in _lifecycle_violations(events)]
    assert violations == []


def test_lifecycle_checker_rejects_a_signature_before_the_dispatch():
    # given an order signed before it was dispatched (guards the checker itself)
    events = [
        {"event_id": "o-01", "order_id": "o", "type": "appeal.received", "data": {}},
        {"event_id": "o-02", "order_id": "o", "type": "order.signed", "data": {"office_id": "d01-s01"}},
    ]
    assert _lifecycle_violations(events) == ["o-02: order.signed in state received"]


def test_the_runs_use_every_event_type_of_the_contract():
    types = Counter(event["type"] for name in RUNS for event in run(name).events)
    assert set(types) == schemas.event_validator().event_types
    assert types["order.dispatched"] > 5 * types["order.returned"] > 0


def _fresh_appeal_counts(spec: SimulationSpec) -> tuple[Counter, Counter]:
    """Fresh appeals (no repeats, no frequent callers) per hour of day and per date."""
    simulation = simulate(spec)
    fresh = {record["order_id"] for record in simulation.truth if record["kind"] == "appeal" and record["relation"] is None and record["unreasonable_reason"] != "frequent_caller"}
    received = [datetime.fromisoformat(event["occurred_at"]) for event in simulation.events if event["type"] == "appeal.received" and event["order_id"] in fresh]
    return Counter(moment.hour for moment in received), Counter(moment.date() for moment in received)


def test_calls_follow_the_day_and_week_rhythm():
    # given a week from Monday 2 March 2026
    by_hour, by_day = _fresh_appeal_counts(SimulationSpec(days=7, seed=11, appeals_per_day=300))
    # then the small hours are quiet and the weekend calmer than any working day
    assert sum(by_hour[hour] for hour in range(0, 6)) * 10 < sum(by_hour[hour] for hour in range(9, 15))
    weekdays = [count for day, count in by_day.items() if day.weekday() < 5]
    weekend = [count for day, count in by_day.items() if day.weekday() >= 5]
    assert max(weekend) < 0.8 * min(weekdays)


def test_public_holidays_bring_fewer_calls_than_working_days():
    # given the first week of April 2026: Qingming holiday on 4-6 April
    _, by_day = _fresh_appeal_counts(SimulationSpec(days=7, seed=3, start=date(2026, 4, 1), appeals_per_day=300))
    holiday = [by_day[date(2026, 4, day)] for day in (4, 5, 6)]
    working = [by_day[date(2026, 4, day)] for day in (1, 2, 3, 7)]
    assert max(holiday) < 0.7 * min(working)


def test_working_day_deadlines_skip_weekends_and_public_holidays():
    calendar = SimCalendar(date(2026, 4, 1), 10)
    # Friday 3 April 10:00 + 1 working day: the weekend and Qingming Monday are skipped
    friday_ten = 2 * SECONDS_PER_DAY + 10 * 3600
    assert calendar.local_text(calendar.add_working_days(friday_ten, 1)) == "2026-04-07T10:00:00+08:00"
    # a working day beyond chinesecalendar's data falls back to Monday-Friday
    assert calendar.is_workday(date(2027, 1, 4)) and not calendar.is_workday(date(2027, 1, 9))


def test_adjusted_working_saturday_counts_as_a_working_day():
    # given 2026-02-14, a Saturday that is an official working day before Spring Festival
    calendar = SimCalendar(date(2026, 2, 13), 2)
    assert calendar.is_workday(date(2026, 2, 14))
    assert calendar.volume_factor(1) == 1.0
