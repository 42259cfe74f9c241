"""Deadline clocks: policy loading, due instants on the working calendar, pause / resume,
extensions, source due times, exactly-once warnings / breaches / met, and the due index."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.contract.schemas import topic_validator
from hotline.core.config_tables import ConfigFileError
from hotline.core.deadlines import (
    Allowance,
    DeadlineState,
    DeadlineTracker,
    DueIndex,
    clocks_of,
    parse_deadline_policy,
)
from hotline.core.ids import derived_event_id
from hotline.core.orders import OrderState, evolve
from hotline.core.workcalendar import SHANGHAI, civil_code_deadline, working_seconds_between
from hotline.rules import load_deadline_policy

POLICY_TABLE = {
    "warning_fractions": [0.5, 0.75],
    "sign_for": {"normal": {"working_days": 1}, "urgent": {"hours": 2}, "emergency": {"hours": 0.5}},
    "first_response": {"normal": {"working_days": 1}, "urgent": {"hours": 4}, "emergency": {"hours": 1}},
    "resolution": {
        "normal": {"working_days": 5},
        "urgent": {"hours": 48},
        "emergency": {"hours": 24, "warning_fractions": [0.9]},
        "categories": {"heating": {"normal": {"working_days": 2}}},
    },
}
POLICY = parse_deadline_policy(POLICY_TABLE, "deadlines.toml")
TRACKER = DeadlineTracker(POLICY)
# The same allowances counted from the start instant, as a city may configure it.
ELAPSED_TRACKER = DeadlineTracker(parse_deadline_policy({**POLICY_TABLE, "working_days_counting": "elapsed"}, "deadlines.toml"))
OFFICES = {"c-1": {"level": "community", "parent_id": "s-1"}, "s-1": {"level": "street", "parent_id": None}}
VALIDATOR = topic_validator("hotline.deadlines.v1")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def utc_text(text: str) -> str:
    return local(text).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def screened(input_id: str, event_type: str, when: str, order_id: str = "o-1", **data) -> dict:
    """A screened event at local (Asia/Shanghai) wall-clock time `when`."""
    return {
        "event_id": f"screened-{input_id}",
        "caused_by": input_id,
        "type": event_type,
        "order_id": order_id,
        "occurred_at": utc_text(when),
        "schema": 1,
        "data": data,
        "verdict": {"status": "accepted", "reasons": []},
    }


def received(when: str, urgency: str = "normal", category: str = "noise", input_id: str = "in-1", **data) -> dict:
    appeal = {"channel": "phone", "title": "t", "text": "x", "category": category, "urgency": urgency, "location": {}}
    return screened(input_id, "appeal.received", when, **appeal, **data)


class Run:
    """Feeds events and watermarks through evolve + the tracker, as the agent will."""

    def __init__(self, tracker: DeadlineTracker = TRACKER):
        self.tracker = tracker
        self.order: OrderState | None = None
        self.state: DeadlineState | None = None
        self.emitted: list[dict] = []

    def event(self, event: dict, watermark: datetime | None = None) -> list[dict]:
        self.order = evolve(self.order, event)
        step = self.tracker.deadline_events(self.order, self.state, event, watermark, OFFICES)
        return self._keep(step)

    def watermark(self, when: str | datetime) -> list[dict]:
        instant = local(when) if isinstance(when, str) else when
        step = self.tracker.due_checks(self.order, self.state, instant, OFFICES)
        return self._keep(step)

    def _keep(self, step) -> list[dict]:
        self.state = step.state
        assert step.next_check_at == step.state.next_check_at
        for event in step.events:
            assert VALIDATOR.validate(event) is None, event
        self.emitted.extend(step.events)
        return list(step.events)


def brief(events: list[dict]) -> list[tuple]:
    return [(e["type"], e["target"], e["occurred_at"], e.get("fraction") or e.get("reason")) for e in events]


# --- policy -------------------------------------------------------------------------


def test_the_shipped_policy_loads_with_its_documented_allowances():
    policy = load_deadline_policy()
    assert policy.allowance("sign_for", "normal", "noise") == Allowance("working", 86_400.0, (0.5, 0.75))
    assert policy.allowance("sign_for", "emergency", "noise") == Allowance("calendar", 1_800.0, (0.5, 0.75))
    assert policy.allowance("resolution", "normal", "noise") == Allowance("working", 5 * 86_400.0, (0.5, 0.75))
    assert policy.allowance("resolution", "normal", "heating") == Allowance("working", 2 * 86_400.0, (0.5, 0.75))
    assert policy.allowance("resolution", "urgent", "heating") == Allowance("calendar", 48 * 3600.0, (0.5, 0.75))


def test_working_days_counting_is_civil_code_unless_the_policy_or_a_target_says_elapsed():
    # given a policy that counts resolution from the start instant and keeps the default elsewhere
    policy = parse_deadline_policy(_with(POLICY_TABLE, "elapsed", "resolution", "working_days_counting"), "deadlines.toml")
    # then resolution (and its category overrides) count elapsed, the other targets civil-code
    assert policy.allowance("resolution", "normal", "noise").working_days_counting == "elapsed"
    assert policy.allowance("resolution", "normal", "heating").working_days_counting == "elapsed"
    assert policy.allowance("sign_for", "normal", "noise").working_days_counting == "civil_code"
    # and a target's own setting wins over the policy-wide one
    both = _with(_with(POLICY_TABLE, "elapsed", "working_days_counting"), "civil_code", "sign_for", "working_days_counting")
    policy = parse_deadline_policy(both, "deadlines.toml")
    assert policy.allowance("sign_for", "normal", "noise").working_days_counting == "civil_code"
    assert policy.allowance("first_response", "normal", "noise").working_days_counting == "elapsed"


def test_an_unknown_urgency_is_treated_as_normal():
    assert POLICY.allowance("resolution", None, None) == Allowance("working", 5 * 86_400.0, (0.5, 0.75))


def _without(table: dict, *path: str) -> dict:
    copy = json.loads(json.dumps(table))
    node = copy
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]
    return copy


def _with(table: dict, value, *path: str) -> dict:
    copy = json.loads(json.dumps(table))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


@pytest.mark.parametrize(
    ("table", "field", "problem"),
    [
        (_without(POLICY_TABLE, "first_response"), "first_response", "is missing"),
        (_without(POLICY_TABLE, "sign_for", "urgent"), "sign_for.urgent", "is missing"),
        (_with(POLICY_TABLE, {"hours": -2}, "sign_for", "urgent"), "sign_for.urgent.hours", "positive number"),
        (_with(POLICY_TABLE, {"hours": 2, "working_days": 1}, "sign_for", "urgent"), "sign_for.urgent", "exactly one"),
        (_with(POLICY_TABLE, {"working_days": 1.5}, "resolution", "normal"), "resolution.normal.working_days", "whole number"),
        (_with(POLICY_TABLE, [0.75, 0.5], "warning_fractions"), "warning_fractions", "increase"),
        (_with(POLICY_TABLE, [0.5, 1.0], "warning_fractions"), "warning_fractions", "between 0 and 1"),
        (_with(POLICY_TABLE, {"hours": 1, "minutes": 3}, "sign_for", "urgent"), "sign_for.urgent.minutes", "unknown key"),
        (_with(POLICY_TABLE, {"hours": 1}, "resolution", "categories", "heating", "critical"), "resolution.categories.heating.critical", "unknown key"),
        (_with(POLICY_TABLE, 3, "closure"), "closure", "unknown key"),
        (_with(POLICY_TABLE, "calendar", "working_days_counting"), "working_days_counting", "expected one of 'civil_code', 'elapsed'"),
        (_with(POLICY_TABLE, True, "resolution", "working_days_counting"), "resolution.working_days_counting", "expected one of"),
        (_with(POLICY_TABLE, "elapsed", "sign_for", "normal", "working_days_counting"), "sign_for.normal.working_days_counting", "unknown key"),
    ],
)
def test_a_wrong_policy_names_the_file_and_the_field(table, field, problem):
    with pytest.raises(ConfigFileError) as raised:
        parse_deadline_policy(table, "config/deadlines.toml")
    assert raised.value.path == "config/deadlines.toml"
    assert raised.value.field == field
    assert problem in raised.value.problem


def test_a_policy_file_with_a_syntax_error_names_the_file(tmp_path: Path):
    path = tmp_path / "deadlines.toml"
    path.write_text("[sign_for\n")
    with pytest.raises(ConfigFileError) as raised:
        load_deadline_policy(path)
    assert (raised.value.path, raised.value.field) == (str(path), "(syntax)")


# --- clocks on the working calendar -------------------------------------------------


def test_elapsed_counting_across_national_day_warns_and_breaches_at_exact_instants_once():
    # given a policy counting working days from the start instant, and an order
    # dispatched on the last working day before the 2025 National Day holiday
    run = Run(ELAPSED_TRACKER)
    run.event(received("2025-09-30 09:00"))
    assert run.event(screened("in-2", "order.dispatched", "2025-09-30 10:00", office_id="c-1")) == []
    assert run.state.next_check_at == local("2025-09-30 22:00")

    # when the watermark passes the half-time and three-quarter instants
    half = run.watermark("2025-10-01 12:00")
    three_quarters = run.watermark("2025-10-09 05:00")
    again = run.watermark("2025-10-09 05:00")

    # then each fires once, at its working-time instant (the holiday does not count)
    assert brief(half) == [
        ("deadline.warning", "first_response", utc_text("2025-09-30 22:00"), 0.5),
        ("deadline.warning", "sign_for", utc_text("2025-09-30 22:00"), 0.5),
    ]
    assert brief(three_quarters) == [
        ("deadline.warning", "first_response", utc_text("2025-10-09 04:00"), 0.75),
        ("deadline.warning", "sign_for", utc_text("2025-10-09 04:00"), 0.75),
    ]
    assert again == []
    assert run.state.next_check_at == local("2025-10-09 10:00")

    # when the office signs after its due instant
    late = run.event(screened("in-3", "order.signed", "2025-10-09 10:30", office_id="c-1"))

    # then the sign-for clock is breached at the due instant, not met
    sign_for_breach = {
        "event_id": derived_event_id("o-1:sign_for:in-2", "deadline.breached"),
        "caused_by": "o-1:sign_for:in-2",
        "type": "deadline.breached",
        "order_id": "o-1",
        "occurred_at": utc_text("2025-10-09 10:00"),
        "schema": 1,
        "target": "sign_for",
        "clock_id": "o-1:sign_for:in-2",
        "clock_started_at": utc_text("2025-09-30 10:00"),
        "office_id": "c-1",
        "office_level": "community",
        "urgency": "normal",
        "category": "noise",
        "basis": "policy",
        "unit": "working",
        "due_at": utc_text("2025-10-09 10:00"),
        "allowed_seconds": 86_400.0,
        "elapsed_seconds": 86_400.0,
    }
    assert sign_for_breach in late
    assert brief(late) == [
        ("deadline.breached", "first_response", utc_text("2025-10-09 10:00"), None),
        ("deadline.breached", "sign_for", utc_text("2025-10-09 10:00"), None),
    ]
    # and the resolution clock (5 working days: Oct 9, 10, 11 (Sat, worked), 13, 14) is next
    assert run.state.next_check_at == local("2025-10-10 22:00")
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert resolution.due_at == local("2025-10-14 10:00")


def test_signing_in_time_is_met_at_the_signing_instant_and_stops_the_clock():
    run = Run()
    run.event(received("2026-02-13 09:00"))
    run.event(screened("in-2", "order.dispatched", "2026-02-13 10:00", office_id="c-1"))

    # Saturday Feb 14 2026 is a working day: the office signs then, inside its one day
    signed = run.event(screened("in-3", "order.signed", "2026-02-14 09:00", office_id="c-1"))

    # the warnings the signing's event time has passed fire first, then the met target
    # (one working day after Friday is Saturday, due at its 24:00: 14 + 24 working hours,
    # half of them run at Saturday 05:00)
    assert brief(signed) == [
        ("deadline.warning", "first_response", utc_text("2026-02-14 05:00"), 0.5),
        ("deadline.warning", "sign_for", utc_text("2026-02-14 05:00"), 0.5),
        ("deadline.met", "sign_for", utc_text("2026-02-14 09:00"), None),
    ]
    assert signed[-1:] == [
        {
            "event_id": derived_event_id("o-1:sign_for:in-2", "deadline.met"),
            "caused_by": "in-3",
            "type": "deadline.met",
            "order_id": "o-1",
            "occurred_at": utc_text("2026-02-14 09:00"),
            "schema": 1,
            "target": "sign_for",
            "clock_id": "o-1:sign_for:in-2",
            "clock_started_at": utc_text("2026-02-13 10:00"),
            "office_id": "c-1",
            "office_level": "community",
            "urgency": "normal",
            "category": "noise",
            "basis": "policy",
            "unit": "working",
            "due_at": utc_text("2026-02-15 00:00"),
            "allowed_seconds": 38 * 3600.0,
            "elapsed_seconds": 23 * 3600.0,
        }
    ]
    # the sign_for clock says nothing more; first_response still warns and breaches
    later = run.watermark("2026-03-01 00:00")
    assert [(e["type"], e["target"]) for e in later if e["target"] == "sign_for"] == []
    assert ("deadline.breached", "first_response", utc_text("2026-02-15 00:00"), None) in brief(later)


def test_a_redelivered_event_and_a_repeated_watermark_emit_nothing_new():
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    dispatched = screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1")
    run.event(dispatched)
    first = run.watermark("2025-03-03 13:00")
    assert brief(first) == [
        ("deadline.warning", "sign_for", utc_text("2025-03-03 11:00"), 0.5),
        ("deadline.warning", "sign_for", utc_text("2025-03-03 11:30"), 0.75),
        ("deadline.breached", "sign_for", utc_text("2025-03-03 12:00"), None),
        ("deadline.warning", "first_response", utc_text("2025-03-03 12:00"), 0.5),
    ]
    assert run.event(dispatched) == []
    assert run.watermark("2025-03-03 13:00") == []
    # a replay from scratch gives the very same events, ids included
    replay = Run()
    replay.event(received("2025-03-03 09:00", urgency="urgent"))
    replay.event(dispatched)
    assert replay.watermark("2025-03-03 13:00") == first


def test_the_deadline_state_survives_a_json_round_trip():
    run = Run()
    run.event(received("2025-03-03 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    run.watermark("2025-03-04 00:00")
    assert DeadlineState.from_dict(json.loads(json.dumps(run.state.to_dict()))) == run.state


def test_an_event_reuses_the_clocks_it_leaves_unchanged_and_recomputes_the_others():
    # given a dispatched order: sign_for, first_response and resolution clocks run
    run = Run()
    run.event(received("2025-03-03 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    before = {clock.target: clock for clock in run.state.clocks}

    # when the office signs for it
    run.event(screened("in-3", "order.signed", "2025-03-03 10:30", office_id="c-1"))
    after = {clock.target: clock for clock in run.state.clocks}

    # then only the sign_for clock is computed again; the other two are the same objects
    assert after["first_response"] is before["first_response"]
    assert after["resolution"] is before["resolution"]
    assert after["sign_for"] is not before["sign_for"]
    assert (after["sign_for"].outcome, after["sign_for"].ended_at) == ("satisfied", local("2025-03-03 10:30"))
    # and each equals the clock computed afresh, as after a restart from the table
    restored = DeadlineState.from_dict(json.loads(json.dumps(run.state.to_dict())))
    assert all(clock.inputs is None for clock in restored.clocks)
    assert clocks_of(run.order, POLICY, restored.clocks) == clocks_of(run.order, POLICY) == run.state.clocks


@pytest.mark.parametrize(
    ("urgency", "dispatched_at", "signed_at"),
    [
        ("normal", "2025-12-31 21:00", "2026-01-04 09:30"),  # working days across the New Year holiday
        ("urgent", "2025-12-31 23:30", "2026-01-01 00:40"),  # calendar hours across the year end
        ("normal", "2025-03-03 10:00", "2025-03-03 10:30"),
    ],
)
def test_a_clock_that_only_ends_keeps_its_instants_and_equals_the_clock_computed_afresh(urgency, dispatched_at, signed_at):
    # given a dispatched order
    run = Run()
    run.event(received("2025-12-31 08:00" if dispatched_at.startswith("2025-12") else "2025-03-03 09:00", urgency=urgency))
    run.event(screened("in-2", "order.dispatched", dispatched_at, office_id="c-1"))
    before = {clock.target: clock for clock in run.state.clocks}

    # when the office signs for it (the clock's schedule inputs stay, its ending changes)
    run.event(screened("in-3", "order.signed", signed_at, office_id="c-1"))
    after = {clock.target: clock for clock in run.state.clocks}

    # then the sign_for clock ends with its instants kept, not computed again
    ended, running = after["sign_for"], before["sign_for"]
    assert ended is not running
    assert (ended.outcome, ended.end_reason, ended.ended_at, ended.ended_by) == ("satisfied", "signed", local(signed_at), "in-3")
    assert ended.due_at is running.due_at and ended.warnings is running.warnings
    assert ended.allowed_seconds == running.allowed_seconds
    if ended.unit == "working":
        assert ended.elapsed_at_end_seconds == working_seconds_between(local(dispatched_at), local(signed_at))
    else:
        assert ended.elapsed_at_end_seconds == (local(signed_at) - local(dispatched_at)).total_seconds()
    # and every clock equals the one computed afresh, field by field
    fresh = clocks_of(run.order, POLICY)
    assert run.state.clocks == fresh
    assert [clock.to_dict() for clock in run.state.clocks] == [clock.to_dict() for clock in fresh]


def test_a_clock_whose_pauses_change_as_it_ends_is_computed_again():
    # given an urgent order dispatched and suspended: its sign_for clock pauses
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    run.event(screened("in-3", "order.suspended", "2025-03-03 10:30"))
    paused = next(clock for clock in run.state.clocks if clock.target == "sign_for")
    assert paused.due_at is None
    # when it resumes and is signed for (a late resumption and the signing)
    run.event(screened("in-4", "order.resumed", "2025-03-03 11:00"))
    run.event(screened("in-5", "order.signed", "2025-03-03 11:10", office_id="c-1"))
    # then the clock is due half an hour later than unpaused and elapsed excludes the pause
    ended = next(clock for clock in run.state.clocks if clock.target == "sign_for")
    assert ended.due_at == local("2025-03-03 12:30")
    assert ended.elapsed_at_end_seconds == 40 * 60
    assert run.state.clocks == clocks_of(run.order, POLICY)


def test_a_clock_is_computed_again_when_a_suspension_changes_its_inputs():
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    run.event(screened("in-3", "order.suspended", "2025-03-03 20:00", reason="waiting for the owner"))
    suspended = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert suspended is not resolution
    assert (resolution.due_at, suspended.due_at) == (local("2025-03-05 10:00"), None)


def test_a_suspension_pauses_every_clock_and_resuming_shifts_the_due_instant():
    # given an urgent order: resolution 48 calendar hours from dispatch
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    run.event(screened("in-3", "order.signed", "2025-03-03 10:30", office_id="c-1"))
    run.event(screened("in-4", "order.replied", "2025-03-03 11:00", office_id="c-1", kind="first_contact"))

    # when it is suspended for 10 hours
    run.event(screened("in-5", "order.suspended", "2025-03-03 20:00", reason="waiting for the owner"))
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert resolution.due_at is None
    assert run.state.next_check_at is None
    run.event(screened("in-6", "order.resumed", "2025-03-04 06:00"))

    # then the clock is due 10 hours later than it would have been
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert resolution.due_at == local("2025-03-05 20:00")
    assert resolution.warnings == ((0.5, local("2025-03-04 20:00")), (0.75, local("2025-03-05 08:00")))


def test_a_suspension_over_a_weekend_does_not_count_twice_on_a_working_clock():
    # given a normal order (5 working days) dispatched Monday 10:00
    run = Run()
    run.event(received("2025-03-03 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    # when it is suspended from Friday 10:00 to Monday 10:00 (one working day held)
    run.event(screened("in-3", "order.suspended", "2025-03-07 10:00", reason="r"))
    run.event(screened("in-4", "order.resumed", "2025-03-10 10:00"))
    # then it is due one working day later: 24:00 of Tuesday 11th instead of Monday 10th
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert resolution.due_at == local("2025-03-12 00:00")


@pytest.mark.parametrize(
    ("urgency", "extension", "due"),
    [
        # 5 working days after Mon Mar 3 -> 24:00 Mon Mar 10; +2 working days -> 24:00 Wed 12th
        ("normal", {"extension_working_days": 2}, "2025-03-13 00:00"),
        # +6 hours of working time on a working-day clock
        ("normal", {"extension_hours": 6}, "2025-03-11 06:00"),
        # 48 calendar hours -> Wed 5th 10:00; +1 working day counts 24 h on an hours clock
        ("urgent", {"extension_working_days": 1}, "2025-03-06 10:00"),
        ("urgent", {"extension_hours": 2.5}, "2025-03-05 12:30"),
    ],
)
def test_an_approved_extension_lengthens_the_resolution_clock(urgency, extension, due):
    run = Run()
    run.event(received("2025-03-03 09:00", urgency=urgency))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    run.event(screened("in-3", "order.extended", "2025-03-04 09:00", **extension))
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    sign_for = [clock for clock in run.state.clocks if clock.target == "sign_for"][0]
    assert resolution.due_at == local(due)
    assert sign_for.due_at == (local("2025-03-05 00:00") if urgency == "normal" else local("2025-03-03 12:00"))


def _resolution(run: Run):
    return [clock for clock in run.state.clocks if clock.target == "resolution"][0]


@pytest.mark.parametrize(
    ("dispatched", "due"),
    [
        # the example of docs/indicators.md: Monday 10:25 -> 24:00 of the fifth working day after
        ("2025-03-03 10:25", "2025-03-11 00:00"),
        # a working day just before and just after midnight
        ("2025-03-03 23:59:59", "2025-03-11 00:00"),
        ("2025-03-04 00:00:01", "2025-03-12 00:00"),
        # a weekend day and a public holiday: the count starts at the next working day
        ("2025-03-08 10:00", "2025-03-15 00:00"),
        ("2025-10-03 09:00", "2025-10-15 00:00"),
        # a count that crosses National Day skips it; the worked Saturday Oct 11 counts
        ("2025-09-29 10:00", "2025-10-14 00:00"),
    ],
)
def test_a_working_day_resolution_clock_is_due_at_24_00_of_its_last_counted_day(dispatched: str, due: str):
    # given an order dispatched at `dispatched` (5 working days to resolve)
    run = Run()
    run.event(received(dispatched))
    run.event(screened("in-2", "order.dispatched", dispatched, office_id="c-1"))
    # then its resolution clock is due at the civil-code 24:00, warned at its working-time fractions
    resolution = _resolution(run)
    assert resolution.due_at == local(due)
    assert resolution.allowed_seconds == working_seconds_between(local(dispatched), local(due))


@pytest.mark.parametrize(
    ("resolved", "verdict"),
    [
        ("2025-03-10 23:59:59", "deadline.met"),
        ("2025-03-11 00:00:00", "deadline.met"),
        ("2025-03-11 00:00:01", "deadline.breached"),
    ],
)
def test_an_order_resolved_by_24_00_of_the_last_day_is_met_and_one_second_later_breached(resolved: str, verdict: str):
    # given an order dispatched Monday 10:25 (due 24:00 of Monday the 10th)
    run = Run()
    run.event(received("2025-03-03 10:25"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:25", office_id="c-1"))
    # when the office resolves it around that midnight
    events = run.event(screened("in-3", "order.resolved", resolved, office_id="c-1"))
    run.watermark("2025-03-20 00:00")
    # then the resolution clock is met up to 24:00 and breached after it
    outcomes = [(e["type"], e["occurred_at"]) for e in run.emitted if e["target"] == "resolution" and e["type"] != "deadline.warning"]
    expected_at = resolved if verdict == "deadline.met" else "2025-03-11 00:00"
    assert outcomes == [(verdict, utc_text(expected_at))]
    # and the verdict came with the resolution itself, not with a later watermark
    assert verdict in [e["type"] for e in events if e["target"] == "resolution"]


def test_civil_code_warnings_are_fractions_of_the_working_time_from_dispatch_to_the_due_instant():
    # given an order dispatched Monday 10:00: 14 working hours left that day + 5 working days
    run = Run()
    run.event(received("2025-03-03 10:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    resolution = _resolution(run)
    # then half of 134 h is 67 h (Monday 14 h, Tue, Wed, then 5 h of Thursday), three quarters 100.5 h
    assert resolution.allowed_seconds == 134 * 3600.0
    assert resolution.warnings == ((0.5, local("2025-03-06 05:00")), (0.75, local("2025-03-07 14:30")))


def test_a_suspension_on_the_day_of_dispatch_moves_the_due_instant_by_the_time_it_held():
    # given an order dispatched Monday 10:00 and suspended from 11:00 to 15:00 the same day
    run = Run()
    run.event(received("2025-03-03 10:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    run.event(screened("in-3", "order.suspended", "2025-03-03 11:00", reason="r"))
    run.event(screened("in-4", "order.resumed", "2025-03-03 15:00"))
    # then the due instant moves by the 4 working hours held, as every suspension does
    assert _resolution(run).due_at == local("2025-03-11 04:00")


@settings(max_examples=150, deadline=None)
@given(
    dispatched=st.datetimes(min_value=datetime(2017, 1, 1), max_value=datetime(2026, 11, 30), timezones=st.just(SHANGHAI)),
    extension_working_days=st.integers(min_value=0, max_value=5),
)
def test_a_civil_code_clock_without_suspension_is_due_at_the_civil_code_deadline(dispatched: datetime, extension_working_days: int):
    # given an order dispatched at any instant, perhaps extended by whole working days
    when = dispatched.replace(tzinfo=None, microsecond=0).isoformat(sep=" ")  # events carry whole seconds
    run = Run()
    run.event(received(when))
    run.event(screened("in-2", "order.dispatched", when, office_id="c-1"))
    if extension_working_days:
        run.event(screened("in-3", "order.extended", when, extension_working_days=extension_working_days))
    resolution = _resolution(run)
    # then it is due at 24:00 of the (5 + extension)-th working day after the day of dispatch
    assert resolution.due_at == civil_code_deadline(local(when), 5 + extension_working_days)
    # and each warning fires when its fraction of the working time from dispatch to due has run
    for fraction, warning_at in resolution.warnings:
        assert working_seconds_between(local(when), warning_at) == pytest.approx(fraction * resolution.allowed_seconds)


def test_a_category_override_sets_a_shorter_resolution_clock():
    order = evolve(None, received("2025-03-03 09:00", category="heating"))
    order = evolve(order, screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    resolution = [clock for clock in clocks_of(order, POLICY) if clock.target == "resolution"][0]
    assert resolution.due_at == local("2025-03-06 00:00")


def test_an_allowance_can_carry_its_own_warning_fractions():
    order = evolve(None, received("2025-03-03 09:00", urgency="emergency"))
    order = evolve(order, screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    resolution = [clock for clock in clocks_of(order, POLICY) if clock.target == "resolution"][0]
    assert resolution.warnings == ((0.9, local("2025-03-04 07:36")),)


def test_a_transfer_cancels_the_old_office_sign_for_and_starts_one_for_the_new_office():
    run = Run()
    run.event(received("2025-03-03 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    moved = run.event(screened("in-3", "order.transferred", "2025-03-03 11:00", from_office_id="c-1", to_office_id="s-1"))
    assert brief(moved) == [("deadline.cancelled", "sign_for", utc_text("2025-03-03 11:00"), "transferred")]
    assert moved[0]["caused_by"] == "in-3"
    assert moved[0]["elapsed_seconds"] == 3600.0
    targets = [(clock.target, clock.clock_id, clock.due_at) for clock in run.state.clocks]
    assert targets == [
        ("sign_for", "o-1:sign_for:in-2", local("2025-03-05 00:00")),
        ("sign_for", "o-1:sign_for:in-3", local("2025-03-05 00:00")),
        ("first_response", "o-1:first_response:in-2", local("2025-03-05 00:00")),
        # the transfer does not restart the resolution clock
        ("resolution", "o-1:resolution:in-2", local("2025-03-11 00:00")),
    ]


def test_a_reopening_starts_a_new_resolution_cycle():
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    met = run.event(screened("in-3", "order.resolved", "2025-03-04 10:00", office_id="c-1"))
    assert ("deadline.met", "resolution", utc_text("2025-03-04 10:00"), None) in brief(met)
    run.event(screened("in-4", "order.reopened", "2025-03-05 10:00"))
    cycles = [(clock.clock_id, clock.due_at, clock.outcome) for clock in run.state.clocks if clock.target == "resolution"]
    assert cycles == [
        ("o-1:resolution:in-2", local("2025-03-05 10:00"), "satisfied"),
        ("o-1:resolution:in-4", local("2025-03-07 10:00"), None),
    ]
    breached = run.watermark("2025-03-08 00:00")
    assert ("deadline.breached", "resolution", utc_text("2025-03-07 10:00"), None) in brief(breached)
    assert [e["clock_id"] for e in breached if e["type"] == "deadline.breached"] == ["o-1:resolution:in-4"]


def test_an_order_answered_directly_cancels_its_running_clocks():
    run = Run()
    run.event(received("2025-03-03 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    answered = run.event(screened("in-3", "appeal.answered", "2025-03-03 12:00"))
    assert sorted(brief(answered)) == [
        ("deadline.cancelled", "first_response", utc_text("2025-03-03 12:00"), "answered"),
        ("deadline.cancelled", "resolution", utc_text("2025-03-03 12:00"), "answered"),
        ("deadline.cancelled", "sign_for", utc_text("2025-03-03 12:00"), "answered"),
    ]
    assert run.state.next_check_at is None


def test_a_late_earlier_dispatch_supersedes_a_clock_that_already_spoke():
    # given a dispatch to c-1 whose clock has already warned
    run = Run()
    run.event(received("2025-03-03 09:00", urgency="urgent"))
    run.event(screened("in-3", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    assert len(run.watermark("2025-03-03 11:01")) == 1
    # when an earlier dispatch of the same order to the same office turns up late
    late = run.event(screened("in-2", "order.dispatched", "2025-03-03 09:30", office_id="c-1"))
    # then the clock that spoke is cancelled as superseded, and the real one takes over
    # (at the old clock's start: it is withdrawn as if it had never run)
    assert ("deadline.cancelled", "sign_for", utc_text("2025-03-03 10:00"), "superseded") in brief(late)
    assert [clock.clock_id for clock in run.state.clocks if clock.target == "sign_for"] == ["o-1:sign_for:in-2"]


# --- source due times ---------------------------------------------------------------


def test_a_source_due_time_replaces_the_policy_for_resolution():
    run = Run()
    run.event(received("2025-03-03 09:00", office_id="nyc-dot", due_at="2025-03-03T12:00:00-05:00", source="nyc311"))
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    assert (resolution.basis, resolution.unit) == ("source_due", "calendar")
    assert resolution.started_at == local("2025-03-03 09:00")
    assert resolution.due_at == datetime(2025, 3, 3, 17, 0, tzinfo=timezone.utc)
    # no sign-for or first-response clock: the source assigned the agency itself
    assert [clock.target for clock in run.state.clocks] == ["resolution"]


def test_a_source_due_clock_left_unchanged_by_an_event_is_the_same_object():
    # given an appeal whose source named the office and a due time, then a dispatch
    # carrying the same due time to another office
    run = Run()
    run.event(received("2025-03-03 09:00", office_id="nyc-dot", due_at="2025-03-05T12:00:00-05:00", source="nyc311"))
    before = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    run.event(screened("in-2", "order.dispatched", "2025-03-03 10:00", office_id="c-1", due_at="2025-03-05T12:00:00-05:00"))
    after = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    # then the resolution clock, whose inputs did not change, is kept as it was
    assert after is before
    assert after == [clock for clock in clocks_of(run.order, POLICY) if clock.target == "resolution"][0]


def test_an_extension_approved_between_receipt_and_dispatch_lengthens_a_source_due_clock():
    # given a source due time counted from the receipt and an extension approved before
    # the order reached the office that holds it
    run = Run()
    run.event(received("2025-03-03 09:00", due_at="2025-03-05T12:00:00-05:00", source="nyc311"))
    run.event(screened("in-2", "order.extended", "2025-03-03 09:30", extension_hours=6))
    run.event(screened("in-3", "order.dispatched", "2025-03-03 10:00", office_id="c-1"))
    resolution = [clock for clock in run.state.clocks if clock.target == "resolution"][0]
    # then the clock starts at the receipt and the extension counts in its cycle
    assert (resolution.basis, resolution.started_at) == ("source_due", local("2025-03-03 09:00"))
    assert resolution.due_at == datetime(2025, 3, 5, 23, 0, tzinfo=timezone.utc)
    assert resolution == [clock for clock in clocks_of(run.order, POLICY) if clock.target == "resolution"][0]


def _row_events(received_at: datetime, due_at: datetime, closed_at: datetime) -> list[dict]:
    def stamp(instant: datetime) -> str:
        return instant.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    appeal = {"channel": "other", "title": "t", "text": "x", "category": "roads", "urgency": "normal", "location": {},
              "office_id": "dot", "due_at": stamp(due_at), "source": "nyc311"}
    return [
        {"event_id": "s-1", "caused_by": "row-received", "type": "appeal.received", "order_id": "row",
         "occurred_at": stamp(received_at), "schema": 1, "data": appeal, "verdict": {"status": "accepted", "reasons": []}},
        {"event_id": "s-2", "caused_by": "row-closed", "type": "order.closed", "order_id": "row",
         "occurred_at": stamp(closed_at), "schema": 1, "data": {}, "verdict": {"status": "accepted", "reasons": []}},
    ]


ROW_START = datetime(2025, 1, 1, tzinfo=timezone.utc)


@settings(max_examples=200, deadline=None)
@given(
    received_offset=st.integers(min_value=0, max_value=300 * 86_400_000_000),
    due_offset=st.integers(min_value=0, max_value=40 * 86_400_000_000),
    closed_offset=st.integers(min_value=0, max_value=60 * 86_400_000_000),
    closed_first=st.booleans(),
)
def test_every_closed_order_with_a_source_due_time_is_met_or_breached_as_closed_after_due_says(
    received_offset, due_offset, closed_offset, closed_first
):
    # given a synthetic 311 row (received, due, closed), in microseconds
    received_at = ROW_START + timedelta(microseconds=received_offset)
    due_at = received_at + timedelta(microseconds=due_offset)
    closed_at = received_at + timedelta(microseconds=closed_offset)
    events = _row_events(received_at, due_at, closed_at)
    if closed_first:
        events.reverse()

    # when it is processed with the watermark at the highest event time seen, and then far on
    run = Run()
    watermark = None
    for event in events:
        instant = datetime.fromisoformat(event["occurred_at"].replace("Z", "+00:00"))
        watermark = instant if watermark is None else max(watermark, instant)
        run.event(event, watermark)
        run.watermark(watermark)
    run.watermark(closed_at + timedelta(days=400))

    # then the resolution clock ends in exactly one verdict, the one closed > due says
    verdicts = [e["type"] for e in run.emitted if e["target"] == "resolution" and e["type"] != "deadline.warning"]
    assert verdicts == (["deadline.breached"] if closed_at > due_at else ["deadline.met"])


def test_synthetic_rows_on_both_sides_of_the_due_instant():
    rows = [
        ("2025-05-01T08:00:00Z", "2025-05-03T08:00:00Z", "2025-05-03T08:00:00Z", "deadline.met"),
        ("2025-05-01T08:00:00Z", "2025-05-03T08:00:00Z", "2025-05-03T08:00:00.000001Z", "deadline.breached"),
        ("2025-05-01T08:00:00Z", "2025-05-01T08:00:00Z", "2025-05-01T08:00:00Z", "deadline.met"),
        ("2025-05-01T08:00:00Z", "2025-04-30T08:00:00Z", "2025-05-01T09:00:00Z", "deadline.breached"),
    ]
    for received_text, due_text, closed_text, verdict in rows:
        run = Run()
        instants = [datetime.fromisoformat(text.replace("Z", "+00:00")) for text in (received_text, due_text, closed_text)]
        for event in _row_events(instants[0], instants[1], instants[2]):
            run.event(event)
        run.watermark(instants[2] + timedelta(days=1))
        assert [e["type"] for e in run.emitted if e["type"] != "deadline.warning"] == [verdict], (received_text, closed_text)


# --- due index ----------------------------------------------------------------------


def test_the_due_index_hands_out_only_orders_that_are_due_and_forgets_rescheduled_entries():
    index = DueIndex()
    index.schedule("a", local("2025-03-03 10:00"))
    index.schedule("b", local("2025-03-03 11:00"))
    index.schedule("c", local("2025-03-03 12:00"))
    index.schedule("a", local("2025-03-03 13:00"))  # rescheduled: the 10:00 entry is stale
    index.schedule("c", None)  # nothing pending any more
    assert len(index) == 2
    assert index.next_at() == local("2025-03-03 11:00")
    assert index.pop_due(local("2025-03-03 12:30")) == ["b"]
    assert index.pop_due(local("2025-03-03 12:30")) == []
    # an instant is due once the watermark has passed it, not when it reaches it
    assert index.pop_due(local("2025-03-03 13:00")) == []
    assert index.pop_due(local("2025-03-03 13:00:01")) == ["a"]
    assert len(index) == 0
    assert index.next_at() is None


def test_the_due_index_stays_small_under_constant_rescheduling():
    index = DueIndex()
    start = local("2025-03-03 10:00")
    for step in range(10_000):
        index.schedule("busy", start + timedelta(seconds=step))
    assert len(index) == 1
    assert len(index._heap) <= 2 * len(index) + 65
    assert index.pop_due(start + timedelta(days=1)) == ["busy"]


def test_a_policy_changed_between_events_recomputes_the_clocks_it_kept():
    # given an order dispatched under a one-working-day sign-for allowance
    tracker = DeadlineTracker(parse_deadline_policy(POLICY_TABLE, "deadlines.toml"))
    run = Run(tracker)
    run.event(received("2025-06-10 09:00"))
    run.event(screened("in-2", "order.dispatched", "2025-06-10 10:00", office_id="c-1"))
    [kept] = [clock for clock in run.state.clocks if clock.target == "sign_for"]
    assert kept.due_at == local("2025-06-12 00:00")
    # when the policy gives two working days before the order's next event
    longer = _with(POLICY_TABLE, {"working_days": 2}, "sign_for", "normal")
    tracker.policy = parse_deadline_policy(longer, "deadlines.toml")
    run.event(screened("in-3", "order.replied", "2025-06-10 11:00", office_id="c-1"))
    # then the kept clock is not reused: it is due a working day later
    [recomputed] = [clock for clock in run.state.clocks if clock.target == "sign_for"]
    assert recomputed.clock_id == kept.clock_id
    assert recomputed.due_at == local("2025-06-13 00:00")
    assert recomputed.allowed_seconds == kept.allowed_seconds + 86_400


# Lifecycle steps an order may take, in any order and at any time: (type, data).
_LIFECYCLE_STEPS = (
    ("order.dispatched", {"office_id": "c-1"}),
    ("order.dispatched", {"office_id": "s-1"}),
    ("order.signed", {"office_id": "c-1"}),
    ("order.replied", {"office_id": "c-1"}),
    ("order.transferred", {"from_office_id": "c-1", "to_office_id": "s-1"}),
    ("order.returned", {"office_id": "c-1"}),
    ("order.suspended", {}),
    ("order.resumed", {}),
    ("order.extended", {"extension_working_days": 2}),
    ("order.extended", {"extension_hours": 12}),
    ("order.resolved", {"office_id": "c-1"}),
    ("order.rated", {"satisfaction": "satisfied"}),
    ("order.reopened", {}),
    ("order.closed", {}),
    ("appeal.answered", {}),
)


@settings(max_examples=250, deadline=None)
@given(
    urgency=st.sampled_from(("normal", "urgent", "emergency")),
    steps=st.lists(st.tuples(st.integers(0, len(_LIFECYCLE_STEPS) - 1), st.integers(-48 * 60, 72 * 60)), min_size=1, max_size=12),
)
def test_clocks_kept_from_event_to_event_equal_the_clocks_computed_afresh(urgency: str, steps: list[tuple[int, int]]):
    # given an order received on a Monday, then lifecycle events at random minutes from
    # its receipt (some before earlier ones: late events), with watermark checks between
    received_at = local("2025-03-03 09:00")
    run = Run()
    run.event(received("2025-03-03 09:00", urgency=urgency))
    for number, (step, minutes) in enumerate(steps, start=2):
        event_type, data = _LIFECYCLE_STEPS[step]
        when = (received_at + timedelta(minutes=minutes)).strftime("%Y-%m-%d %H:%M")
        run.event(screened(f"in-{number}", event_type, when, **data))
        # then the clocks the state carries are those of the order computed afresh
        assert run.state.clocks == clocks_of(run.order, POLICY)
        # and the events a watermark brings are those of a state read back from the table
        watermark = received_at + timedelta(minutes=minutes + 90)
        kept = TRACKER.due_checks(run.order, run.state, watermark, OFFICES)
        read_back = TRACKER.due_checks(run.order, as_read_back(run.state), watermark, OFFICES)
        assert (kept.events, kept.next_check_at) == (read_back.events, read_back.next_check_at)
        run.watermark(watermark)


def as_read_back(state: DeadlineState) -> DeadlineState:
    """The state as the orders table gives it back: no clocks."""
    return DeadlineState(None, state.fired, state.next_check_at)
