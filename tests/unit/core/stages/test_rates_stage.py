"""The live rates stage on hand-built orders: what it sends, when, and that it agrees
with the offline assessment.

Orders come from the assessment tests' builders (calendar-hour policy: sign-for 2 h,
first response 4 h, resolution 100 h; Monday 2026-03-02 09:00 city time = T0).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hotline.core.assessment import assess, contribution_of, parse_period, period_of
from hotline.core.stages.rates import (
    RETENTION,
    Entry,
    ForwardFilter,
    RatesBook,
    case_message,
    clock_message,
    contribution_from_dict,
    contribution_to_dict,
    current_periods,
    order_message,
)
from unit.core.test_assessment import LEVELS, POLICY, SETTINGS, T0, handled, order, rated, reopened, resolved, signed


def _message(state) -> dict:
    return order_message(contribution_of(state, POLICY, SETTINGS))


def _sent_by_key(steps) -> dict:
    """The latest event per key, as a compacted topic keeps them."""
    latest = {}
    for step in steps:
        for key, event in step.sent:
            latest[key] = event
    return latest


def test_a_contribution_survives_its_stored_form_unchanged():
    state = order("o-1", "s-1", signed(3, "s-1"), resolved(99, "s-1"), rated(100, "unsatisfied", False), reopened(101))
    contribution = contribution_of(state, POLICY, SETTINGS)
    assert contribution_from_dict(contribution_to_dict(contribution)) == contribution
    assert Entry.from_dict(Entry(contribution, "o-0").to_dict()) == Entry(contribution, "o-0")


def test_periods_are_the_local_day_iso_week_and_month_holding_the_instant():
    # 2026-03-01 17:00 UTC is 2 March 01:00 in the city: a Monday, week 10
    assert current_periods(T0 - timedelta(hours=8)) == {"day": "2026-03-02", "week": "2026-W10", "month": "2026-03"}
    assert period_of(T0 - timedelta(hours=10), "day").label == "2026-03-01"


def test_rows_wait_for_event_time_to_enter_a_new_hour_then_cover_each_kind_of_period():
    book = RatesBook(SETTINGS)
    # given an order handled by s-1 within the first hour: nothing is sent before the clock moves on
    first = book.handle(_message(order("o-1", "s-1", signed(0.5, "s-1"))), LEVELS)
    assert first.sent == ()
    assert [key for key, _ in first.written] == ["o-1"]
    # when event time reaches 10:00, the day, week and month rows of s-1 go out
    step = book.handle(clock_message(T0 + timedelta(hours=1)), LEVELS)
    assert sorted(key for key, _ in step.sent) == ["s-1|2026-03", "s-1|2026-03-02", "s-1|2026-W10"]
    event = dict(step.sent)["s-1|2026-03"]
    assert event["type"] == "rates.assessed"
    assert event["occurred_at"] == "2026-03-02T02:00:00Z"
    assert event["period"] == {"kind": "month", "label": "2026-03", "starts_at": "2026-02-28T16:00:00Z", "ends_at": "2026-03-31T16:00:00Z"}
    assert event["official"] == {
        "dispatched": 1,
        "responded": 1,
        "rated": 0,
        "resolved": 0,
        "satisfied": 0,
        "response_ratio": 1.0,
        "resolution_ratio": None,
        "satisfaction_ratio": None,
        "score": None,
        "rank": None,
    }
    assert (event["final"], event["rank_shift"], event["ranked_in_level"]) == (False, None, 0)
    # and a clock that changes nothing sends nothing again
    assert book.handle(clock_message(T0 + timedelta(hours=1, minutes=30)), LEVELS).sent == ()


def test_live_ticks_send_a_changed_month_at_its_pace_the_end_of_a_replay_at_once():
    book = RatesBook(SETTINGS)
    book.handle(_message(order("o-1", "s-1", signed(0.5, "s-1"))), LEVELS)
    first = book.handle(clock_message(T0 + timedelta(hours=1), every_change=False), LEVELS)
    assert sorted(key for key, _ in first.sent) == ["s-1|2026-03", "s-1|2026-03-02", "s-1|2026-W10"]
    # a second order an hour later: the live tick of the next hour sends its day, the month waits
    book.handle(_message(order("o-2", "s-1", signed(0.5, "s-1"), start=1)), LEVELS)
    live = book.handle(clock_message(T0 + timedelta(hours=2), every_change=False), LEVELS)
    assert [key for key, _ in live.sent] == ["s-1|2026-03-02"]
    # and a replay's last clock sends what waited
    end = book.handle(clock_message(T0 + timedelta(hours=2, seconds=1)), LEVELS)
    assert sorted(key for key, _ in end.sent) == ["s-1|2026-03", "s-1|2026-W10"]
    assert dict(end.sent)["s-1|2026-03"]["official"]["dispatched"] == 2


def test_a_change_after_the_end_of_a_replay_goes_out_at_once():
    # given a replay ended at 11:00 (the clock message of `hotline clock advance`)
    book = RatesBook(SETTINGS)
    book.handle(_message(order("o-1", "s-1", signed(0.5, "s-1"))), LEVELS)
    book.handle(clock_message(T0 + timedelta(hours=2)), LEVELS)
    # when case links released by that end bring orders of 10:30 and 10:15 through
    assert book.handle(_message(order("o-2", "s-1", signed(0.5, "s-1"), start=1.5)), LEVELS).sent == ()
    assert book.handle(_message(order("o-4", "s-1", signed(0.5, "s-1"), start=1.25)), LEVELS).sent == ()
    # then their periods go out together at the next settled flush, though event time did not move
    settled = book.flush_settled(LEVELS)
    assert sorted(key for key, _ in settled.sent) == ["s-1|2026-03", "s-1|2026-03-02", "s-1|2026-W10"]
    assert dict(settled.sent)["s-1|2026-03"]["official"]["dispatched"] == 3
    assert book.flush_settled(LEVELS).sent == ()
    # and once events move event time on, changes wait for the hour again
    assert book.handle(_message(order("o-3", "s-1", signed(0.5, "s-1"), start=2.2)), LEVELS).sent == ()
    assert book.flush_settled(LEVELS).sent == ()


def test_the_forward_filter_lets_through_changes_and_the_first_event_of_each_hour():
    forward = ForwardFilter()
    opened = contribution_of(order("o-1", "s-1"), POLICY, SETTINGS)
    # the first contribution of an order goes, and so does the first of an hour
    assert forward.should_forward(opened)
    # an event that changes no hand-over, rating or verdict within the hour stays home
    assert not forward.should_forward(replace(opened, last_event_at=opened.last_event_at + timedelta(minutes=10)))
    # a signature does go
    signed_in_time = contribution_of(order("o-1", "s-1", signed(0.5, "s-1")), POLICY, SETTINGS)
    assert forward.should_forward(signed_in_time)
    assert not forward.should_forward(signed_in_time)
    # an unchanged order goes when its event opens a new hour of event time, and moves the stage's clock
    assert forward.should_forward(replace(signed_in_time, last_event_at=T0 + timedelta(hours=1)))
    assert not forward.should_forward(replace(signed_in_time, last_event_at=T0 + timedelta(hours=1, minutes=5)))
    # after a rebalance it forgets: another worker may have forwarded the order since
    forward.forget()
    assert forward.should_forward(replace(signed_in_time, last_event_at=T0 + timedelta(hours=1, minutes=5)))


def test_the_forward_filter_starts_afresh_past_its_limit():
    forward = ForwardFilter(limit=2)
    first, second, third = (contribution_of(order(f"o-{n}", "s-1"), POLICY, SETTINGS) for n in (1, 2, 3))
    assert [forward.should_forward(item) for item in (first, second, first)] == [True, True, False]
    assert forward.should_forward(third)
    assert sorted(forward.forwarded) == ["o-3"]
    assert forward.should_forward(first)


def test_a_pending_sign_for_counts_as_missed_once_its_deadline_passes():
    book = RatesBook(SETTINGS)
    book.handle(_message(order("o-1", "s-1")), LEVELS)  # dispatched at T0, never signed
    early = _sent_by_key([book.handle(clock_message(T0 + timedelta(hours=1)), LEVELS)])
    assert early["s-1|2026-03"]["official"]["dispatched"] == 0  # still within its 2 h
    late = _sent_by_key([book.handle(clock_message(T0 + timedelta(hours=2)), LEVELS)])
    assert (late["s-1|2026-03"]["official"]["dispatched"], late["s-1|2026-03"]["official"]["responded"]) == (1, 0)


def test_a_repeat_counts_once_with_its_case_in_the_adjusted_view_only():
    book = RatesBook(SETTINGS)
    steps = [
        book.handle(_message(handled("o-1", "s-1")), LEVELS),
        book.handle(_message(handled("o-2", "s-1", satisfaction="unsatisfied", is_resolved=False, start=1)), LEVELS),
        book.handle(case_message("o-2", "o-1"), LEVELS),
        book.handle(clock_message(T0 + timedelta(hours=40)), LEVELS),
    ]
    month = _sent_by_key(steps)["s-1|2026-03"]
    assert (month["official"]["rated"], month["official"]["resolved"]) == (2, 1)
    # the case's latest rating (o-2's, unsatisfied) is the unit's
    assert (month["adjusted"]["rated"], month["adjusted"]["resolved"], month["adjusted"]["satisfied"]) == (1, 0, 0)


def test_the_official_rank_flatters_an_office_whose_rush_closures_were_reopened():
    # given s-1 closes just before the 100 h deadline and is rated well, then reopened;
    # s-2 resolves two orders out of three, honestly
    book = RatesBook(SETTINGS)
    orders = [
        order("o-1", "s-1", signed(1, "s-1"), resolved(95, "s-1"), rated(96, "satisfied", True), reopened(97)),
        order("o-2", "s-1", signed(1, "s-1"), resolved(95, "s-1"), rated(96, "satisfied", True), reopened(97)),
        handled("o-3", "s-2"),
        handled("o-4", "s-2"),
        handled("o-5", "s-2", satisfaction="unsatisfied", is_resolved=False),
    ]
    steps = [book.handle(_message(state), LEVELS) for state in orders]
    steps.append(book.handle(clock_message(T0 + timedelta(hours=120)), LEVELS))
    latest = _sent_by_key(steps)
    flattered, honest = latest["s-1|2026-03"], latest["s-2|2026-03"]
    assert (flattered["official"]["rank"], flattered["adjusted"]["rank"], flattered["rank_shift"]) == (1, 2, 1)
    assert (honest["official"]["rank"], honest["adjusted"]["rank"], honest["rank_shift"]) == (2, 1, -1)
    assert (flattered["official"]["resolution_ratio"], flattered["adjusted"]["resolution_ratio"]) == (1.0, 0.0)
    assert flattered["ranked_in_level"] == 2
    # and the live rows are the offline assessment's
    offline = {row.office_id: row for row in assess(orders, POLICY, LEVELS, {}, parse_period("2026-03"), SETTINGS, T0 + timedelta(hours=120)).offices}
    for office_id in ("s-1", "s-2"):
        row, live = offline[office_id], latest[f"{office_id}|2026-03"]
        assert (live["official"]["score"], live["adjusted"]["score"], live["rank_shift"]) == (row.official_score, row.adjusted_score, row.rank_shift)


def test_a_period_the_clock_leaves_is_sent_once_more_as_final():
    book = RatesBook(SETTINGS)
    book.handle(_message(order("o-1", "s-1", signed(1, "s-1"))), LEVELS)
    assert dict(book.handle(clock_message(T0 + timedelta(hours=2)), LEVELS).sent)["s-1|2026-03-02"]["final"] is False
    # 01:00 on 3 March in the city: the day of 2 March is over
    step = book.handle(clock_message(T0 + timedelta(hours=16)), LEVELS)
    assert [(key, event["final"]) for key, event in step.sent] == [("s-1|2026-03-02", True)]  # week and month did not change


def test_an_order_quiet_for_longer_than_the_retention_leaves_the_table_without_sending_its_periods_again():
    book = RatesBook(SETTINGS)
    book.handle(_message(handled("o-1", "s-1")), LEVELS)
    book.handle(clock_message(T0 + timedelta(hours=31)), LEVELS)
    step = book.handle(clock_message(T0 + timedelta(hours=30) + RETENTION + timedelta(hours=2)), LEVELS)
    assert ("o-1", None) in step.written
    assert [key for key, _ in step.sent] == []
    assert book.entries == {}
    assert sorted(book.sent_figures) == ["s-1|2026-03", "s-1|2026-03-03", "s-1|2026-W10"]  # 2 March ended before the horizon


def test_the_book_rebuilt_from_its_table_sends_the_same_rows():
    book = RatesBook(SETTINGS)
    written, steps = {}, []
    for message in (_message(handled("o-1", "s-1")), _message(handled("o-2", "s-2", start=1)), case_message("o-2", "o-2")):
        steps.append(book.handle(message, LEVELS))
        written.update(steps[-1].written)
    steps.append(book.handle(clock_message(T0 + timedelta(hours=40)), LEVELS))
    rebuilt = RatesBook.from_stored(SETTINGS, written.items())
    after = _sent_by_key([rebuilt.handle(clock_message(T0 + timedelta(hours=40)), LEVELS)])
    # the same figures, stamped with the instant they are sent at
    assert _figures(after) == _figures(_sent_by_key(steps))


def _figures(rows: dict) -> dict:
    return {key: {name: value for name, value in event.items() if name not in ("event_id", "caused_by", "occurred_at")} for key, event in rows.items()}
