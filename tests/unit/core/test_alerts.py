"""Alert state machines: hysteresis in event time, events with value and threshold."""

from __future__ import annotations

import orjson
import pytest

from hotline.contract.schemas import topic_validator
from hotline.core.config_tables import ConfigFileError
from hotline.core.alerts import (
    ALERT_NAMES,
    FIRING,
    PENDING,
    RESOLVING,
    AlertBook,
    AlertKey,
    AlertRule,
    AlertState,
    advance,
    empty_book,
    evaluate_office,
    evaluate_processor_lag,
)
from hotline.core.ids import derived_event_id
from hotline.core.pressure import OfficeFact, OfficeInfo, OfficePressureState, record, snapshot
from hotline.rules import load_alert_settings, load_pressure_settings

HOUR = 3600
MONDAY = 1717372800  # 2024-06-03T00:00:00Z
OFFICE = "street-7"
RULE = AlertRule("OfficeOverloaded", "warning", fire_above=1.2, resolve_below=1.0, for_seconds=HOUR, resolve_for_seconds=2 * HOUR, min_sample=0, summary="overloaded")
ALERTS = load_alert_settings()
PRESSURE = load_pressure_settings()


def run(values_at, rule=RULE, state=None):
    """Feed (seconds after MONDAY, value) pairs; return the final state and the transitions."""
    state = state or AlertState()
    transitions = []
    for offset, value in values_at:
        state, transition = advance(rule, state, value, MONDAY + offset)
        if transition is not None:
            transitions.append((offset, transition.event_type))
    return state, transitions


def test_an_alert_fires_only_once_the_value_held_above_the_threshold_for_for_seconds():
    state, transitions = run([(0, 1.3), (1800, 1.5), (3599, 1.25)])
    assert (state.status, transitions) == (PENDING, [])
    state, transitions = run([(3600, 1.3)], state=state)
    assert (state.status, transitions) == (FIRING, [(3600, "alert.firing")])


def test_a_pending_alert_whose_value_drops_starts_over():
    state, transitions = run([(0, 1.3), (1800, 1.1), (2400, 1.3), (5000, 1.3)])
    assert (state.status, state.since_seconds, transitions) == (PENDING, MONDAY + 2400, [])


def test_a_value_between_the_thresholds_keeps_a_firing_alert_firing():
    state, _ = run([(0, 1.3), (HOUR, 1.3)])
    state, transitions = run([(2 * HOUR, 1.1), (10 * HOUR, 1.05)], state=state)
    assert (state.status, transitions) == (FIRING, [])


def test_an_alert_resolves_only_once_the_value_held_below_the_resolve_threshold_for_resolve_for_seconds():
    firing, _ = run([(0, 1.3), (HOUR, 1.3)])
    state, transitions = run([(2 * HOUR, 0.9), (4 * HOUR - 1, 0.8)], state=firing)
    assert (state.status, transitions) == (RESOLVING, [])
    state, transitions = run([(4 * HOUR, 0.8)], state=state)
    assert (state, transitions) == (AlertState(), [(4 * HOUR, "alert.resolved")])


def test_a_resolving_alert_whose_value_rises_again_keeps_firing_without_a_new_event():
    firing, _ = run([(0, 1.3), (HOUR, 1.3)])
    state, transitions = run([(2 * HOUR, 0.9), (3 * HOUR, 1.1), (5 * HOUR, 0.9), (6 * HOUR, 0.9)], state=firing)
    assert (state.status, state.firing_since_seconds, transitions) == (RESOLVING, MONDAY + HOUR, [])


def test_an_alert_without_for_seconds_fires_on_the_first_value_above():
    rule = AlertRule("HotspotEmerging", "info", 3.0, 1.5, 0, 3600, 5, "hotspot")
    assert run([(0, 3.0)], rule=rule)[1] == [(0, "alert.firing")]


def test_an_unknown_value_is_no_evidence_of_trouble():
    state, transitions = run([(0, 1.3), (HOUR, None)])
    assert (state, transitions) == (AlertState(), [])
    firing, _ = run([(0, 1.3), (HOUR, 1.3)])
    state, transitions = run([(2 * HOUR, None), (4 * HOUR, None)], state=firing)
    assert transitions == [(4 * HOUR, "alert.resolved")]


def test_an_event_time_that_goes_backwards_does_not_fire_early():
    state, transitions = run([(HOUR, 1.3), (0, 1.3), (HOUR + 1800, 1.3)])
    assert (state.status, transitions) == (PENDING, [])


def snapshot_at(offset, *, received=0, repeats=0, capacity=20, hotspot_appeals=0, breaches=0):
    state = OfficePressureState(OFFICE)
    at = MONDAY + offset
    facts = (
        [OfficeFact(OFFICE, "received", at) for _ in range(received)]
        + [OfficeFact(OFFICE, "repeat", at) for _ in range(repeats)]
        + [OfficeFact(OFFICE, "received", at, "water", "haidian") for _ in range(hotspot_appeals)]
        + [OfficeFact(OFFICE, "breached", at) for _ in range(breaches)]
    )
    for fact in facts:
        state = record(state, fact)
    return snapshot(state, OfficeInfo(OFFICE, "Street 7 office", "street", capacity), at, PRESSURE)


def evaluate_all(snapshots, book=None):
    book = book or empty_book(OFFICE)
    events = []
    for event in snapshots:
        book, produced = evaluate_office(book, event, ALERTS)
        events.extend(produced)
    return book, events


def test_an_overloaded_office_fires_with_value_threshold_and_event_time():
    # given an office receiving 30 appeals a day for a capacity of 20, snapshot every 30 min
    snapshots = [snapshot_at(minutes * 60, received=30) for minutes in (0, 30, 60)]
    # when the alerts are evaluated
    book, events = evaluate_all(snapshots)
    # then OfficeOverloaded fires after its hour, with the ratio and the threshold
    [event] = events
    assert event == {
        "event_id": derived_event_id("OfficeOverloaded/street-7@2024-06-03T01:00:00Z", "alert.firing"),
        "caused_by": snapshots[2]["event_id"],
        "type": "alert.firing",
        "occurred_at": "2024-06-03T01:00:00Z",
        "schema": 1,
        "alert": "OfficeOverloaded",
        "severity": "warning",
        "office_id": OFFICE,
        "labels": {},
        "value": 1.5,
        "threshold": 1.2,
        "condition_since": "2024-06-03T00:00:00Z",
        "firing_since": "2024-06-03T01:00:00Z",
        "summary": "Office receives more effective work than its daily capacity",
    }
    assert topic_validator("hotline.alerts.v1").validate(event) is None
    assert book.firing_alerts() == frozenset({"OfficeOverloaded"})


def test_a_replayed_history_gives_the_same_alert_events():
    snapshots = [snapshot_at(minutes * 60, received=30) for minutes in range(0, 240, 30)]
    assert evaluate_all(snapshots)[1] == evaluate_all(snapshots)[1]


def test_a_ratio_over_too_few_appeals_does_not_fire():
    # given 2 of 3 appeals repeat a case: a share of 67 %, but below RepeatSurge's min_sample
    snapshots = [snapshot_at(hours * HOUR, received=3, repeats=2, capacity=100) for hours in range(4)]
    assert evaluate_all(snapshots)[1] == []
    # with 30 appeals the same share fires
    snapshots = [snapshot_at(hours * HOUR, received=30, repeats=20, capacity=100) for hours in range(2)]
    assert [event["alert"] for event in evaluate_all(snapshots)[1]] == ["RepeatSurge"]


def test_deadline_breaches_fire_on_the_last_day_measured_against_capacity():
    # 11 breaches are more than half the daily capacity of a small office...
    snapshots = [snapshot_at(hours * HOUR, breaches=11, capacity=20) for hours in range(2)]
    [event] = evaluate_all(snapshots)[1]
    assert (event["alert"], event["value"], event["threshold"]) == ("DeadlineBreachesRising", 0.55, 0.5)
    # ...and routine for a large department
    assert evaluate_all([snapshot_at(hours * HOUR, breaches=11, capacity=200) for hours in range(2)])[1] == []


def test_a_hotspot_fires_per_category_and_district_and_resolves_once_no_longer_listed():
    # given 8 water appeals in Haidian in one hour, then quiet hours
    book, fired = evaluate_all([snapshot_at(10 * 60, hotspot_appeals=8, capacity=100)])
    [firing] = fired
    assert (firing["alert"], firing["labels"], firing["value"]) == ("HotspotEmerging", {"category": "water", "district": "haidian"}, 16.0)
    # when later snapshots no longer list it
    book, resolved = evaluate_all([snapshot_at(offset, capacity=100) for offset in (HOUR, 2 * HOUR)], book)
    # then it resolves after its resolve_for_seconds, the value unknown
    [event] = resolved
    assert (event["type"], event["occurred_at"], event["value"], event["labels"]) == (
        "alert.resolved",
        "2024-06-03T02:00:00Z",
        None,
        {"category": "water", "district": "haidian"},
    )
    assert book.states == {}


def test_an_alert_book_survives_a_round_trip_through_json_and_keeps_only_live_alerts():
    book, _ = evaluate_all([snapshot_at(0, received=30), snapshot_at(600, received=30, hotspot_appeals=6)])
    restored = AlertBook.from_dict(orjson.loads(orjson.dumps(book.to_dict())))
    assert restored == book
    assert sorted(key.alert for key in book.states) == ["HotspotEmerging", "OfficeOverloaded"]


def test_a_snapshot_of_another_office_is_refused():
    with pytest.raises(ValueError, match="street-7"):
        evaluate_office(empty_book("district-3"), snapshot_at(0), ALERTS)


def test_processor_stalled_fires_on_the_wall_clock_lag_of_a_stage():
    watermark = MONDAY
    book = empty_book(None)
    book, early = evaluate_processor_lag(book, "screen", watermark, MONDAY + 1000, ALERTS)
    book, fired = evaluate_processor_lag(book, "screen", watermark, MONDAY + 1600, ALERTS)
    assert early == []
    [event] = fired
    assert (event["alert"], event["office_id"], event["labels"], event["value"], event["occurred_at"], event["caused_by"]) == (
        "ProcessorStalled",
        None,
        {"stage": "screen"},
        1600,
        "2024-06-03T00:26:40Z",
        "watermark:screen:2024-06-03T00:00:00Z",
    )
    assert topic_validator("hotline.alerts.v1").validate(event) is None
    assert book.firing_keys() == (AlertKey("ProcessorStalled", (("stage", "screen"),)),)


def test_a_stage_without_a_watermark_is_not_stalled():
    book, events = evaluate_processor_lag(empty_book(None), "screen", None, MONDAY + 10**6, ALERTS)
    assert (book.states, events) == ({}, [])


def test_default_config_defines_every_alert():
    assert tuple(ALERTS.rules) == ALERT_NAMES
    assert ALERTS.rules["ProcessorStalled"].severity == "critical"


RULE_FIELDS = {"severity": '"warning"', "fire_above": "2", "resolve_below": "1", "for_seconds": "60", "resolve_for_seconds": "60", "min_sample": "0", "summary": '"s"'}


def _config(tmp_path, *, alerts=ALERT_NAMES, repeat_surge=None):
    """An alerts.toml with `alerts`, RepeatSurge's fields changed by `repeat_surge`."""
    text = ""
    for name in alerts:
        fields = {**RULE_FIELDS, **(repeat_surge or {})} if name == "RepeatSurge" else RULE_FIELDS
        text += f"[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items())
    path = tmp_path / "alerts.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"repeat_surge": {"resolve_below": "2"}}, "RepeatSurge.resolve_below"),
        ({"repeat_surge": {"severity": '"page"'}}, "RepeatSurge.severity"),
        ({"repeat_surge": {"for_seconds": "-1"}}, "RepeatSurge.for_seconds"),
        ({"alerts": tuple(name for name in ALERT_NAMES if name != "PingPongOrders")}, "PingPongOrders"),
        ({"alerts": (*ALERT_NAMES, "OfficeOnFire")}, "OfficeOnFire"),
    ],
)
def test_a_wrong_alert_config_names_the_file_and_the_field(tmp_path, kwargs, field):
    path = _config(tmp_path, **kwargs)
    with pytest.raises(ConfigFileError) as error:
        load_alert_settings(path)
    assert (error.value.path, error.value.field) == (str(path), field)


def test_a_well_formed_alert_config_loads(tmp_path):
    assert load_alert_settings(_config(tmp_path)).rules["RepeatSurge"].resolve_below == 1.0
