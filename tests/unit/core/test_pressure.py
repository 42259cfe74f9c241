"""Office pressure: event-time windows, load, ratios, hotspots, bounded state, snapshots."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.contract.schemas import topic_validator
from hotline.core.config_tables import ConfigFileError
from hotline.core.ids import derived_event_id
from hotline.core.pressure import (
    COUNTED_KINDS,
    FACT_KINDS,
    RETENTION_HOURS,
    HotspotSettings,
    OfficeFact,
    OfficeInfo,
    OfficePressureState,
    PressureSettings,
    record,
    snapshot,
    window_counts,
)
from hotline.rules import load_pressure_settings

HOUR = 3600
DAY = 24 * HOUR
# 2024-06-03T00:00:00Z, a Monday.
MONDAY = 1717372800
OFFICE = "street-7"
INFO = OfficeInfo(OFFICE, "Street 7 office", "street", 20, "haidian")
SETTINGS = PressureSettings(HotspotSettings(factor=3.0, min_inflow_1h=5, baseline_hours=24, min_baseline_per_hour=0.5, max_listed=10))


def fold(facts, state=None):
    state = state or OfficePressureState(OFFICE)
    for fact in facts:
        state = record(state, fact)
    return state


def facts(kind, count, at, **labels):
    return [OfficeFact(OFFICE, kind, at, **labels) for _ in range(count)]


def test_windows_read_the_current_hour_the_last_day_and_the_last_week_in_event_time():
    # given appeals 2 h, 30 h and 8 days before "now" plus one in the current hour
    now = MONDAY + 10 * DAY + 30 * 60
    state = fold(
        facts("received", 1, now - 8 * DAY)
        + facts("received", 2, now - 30 * HOUR)
        + facts("received", 3, now - 2 * HOUR)
        + facts("received", 4, now - 60)
    )
    # when the windows are read at now
    # then each window counts only the hours it covers (the 8-day-old appeal was purged)
    assert window_counts(state, now, 1)["received"] == 4
    assert window_counts(state, now, 24)["received"] == 7
    assert window_counts(state, now, RETENTION_HOURS)["received"] == 9


def test_a_window_ends_with_the_hour_that_contains_now_not_with_the_newest_event():
    # given an appeal in the hour after "now" (a watermark behind this office's events)
    state = fold(facts("received", 2, MONDAY + 2 * HOUR) + facts("received", 1, MONDAY + 3 * HOUR))
    # then a snapshot at 02:59 does not count the 03:00 appeal
    assert window_counts(state, MONDAY + 2 * HOUR + 3599, 1)["received"] == 2


def test_effective_inflow_discounts_repeats_and_flagged_appeals():
    # given 10 appeals, 3 of them repeats of existing cases and 2 flagged
    at = MONDAY + HOUR
    state = fold(facts("received", 10, at) + facts("repeat", 3, at) + facts("flagged", 2, at))
    # when the last day is read
    day = window_counts(state, at, 24)
    # then raw inflow counts everything and effective inflow only new, reasonable work
    assert day["received"] == 10
    assert day["effective_inflow"] == 5


def test_pressure_ratio_is_effective_inflow_of_the_last_day_over_daily_capacity():
    # given 30 appeals (6 repeats) in the last day at an office that absorbs 20 a day
    at = MONDAY + 5 * HOUR
    state = fold(facts("received", 30, at - 3 * HOUR) + facts("repeat", 6, at - 3 * HOUR))
    # when the snapshot is taken
    event = snapshot(state, INFO, at, SETTINGS)
    # then the ratio is (30 - 6) / 20
    assert event["pressure_ratio"] == 1.2
    assert event["windows"]["24h"]["effective_inflow"] == 24


@pytest.mark.parametrize("info", [None, OfficeInfo(OFFICE, "Street 7 office", "street", 0)])
def test_pressure_ratio_is_unknown_without_a_capacity(info):
    state = fold(facts("received", 3, MONDAY))
    assert snapshot(state, info, MONDAY, SETTINGS)["pressure_ratio"] is None


def test_ping_pong_share_counts_returns_and_transfers_over_arrivals():
    at = MONDAY + HOUR
    state = fold(facts("received", 20, at) + facts("returned", 3, at) + facts("transferred", 2, at))
    assert snapshot(state, INFO, at, SETTINGS)["ping_pong_ratio"] == 0.25


def test_shares_are_capped_at_one_and_unknown_without_a_denominator():
    # given returns of orders that arrived before the window, and no resolutions
    at = MONDAY + 2 * DAY
    state = fold(facts("received", 1, at) + facts("returned", 4, at))
    event = snapshot(state, INFO, at, SETTINGS)
    assert event["ping_pong_ratio"] == 1.0
    assert event["rush_closure_ratio"] is None
    assert event["failed_rush_closure_ratio"] is None


def test_rush_closure_indicators_read_the_last_week():
    # given 20 resolutions in a week, 8 rushed, of which 3 reopened and 2 rated unsatisfied
    now = MONDAY + 6 * DAY
    state = fold(
        facts("resolved", 20, MONDAY + DAY)
        + facts("rush_closure", 8, MONDAY + DAY)
        + facts("rush_then_reopened", 3, MONDAY + 3 * DAY)
        + facts("reopened", 3, MONDAY + 3 * DAY)
        + facts("rush_then_dissatisfied", 2, MONDAY + 4 * DAY)
    )
    event = snapshot(state, INFO, now, SETTINGS)
    assert event["rush_closure_ratio"] == 0.4
    assert event["reopened_after_rush_ratio"] == 0.375
    assert event["dissatisfied_after_rush_ratio"] == 0.25
    # the larger outcome over all resolutions: 3 / 20
    assert event["failed_rush_closure_ratio"] == 0.15
    assert event["reopened_ratio"] == 0.15


def test_backlog_and_overdue_are_levels_not_window_counts():
    # given 5 orders opened last week, 2 closed today, 3 went overdue and 1 of them ended
    state = fold(
        facts("opened", 5, MONDAY)
        + facts("closed", 2, MONDAY + 6 * DAY)
        + facts("overdue_started", 3, MONDAY + 2 * DAY)
        + facts("overdue_ended", 1, MONDAY + 6 * DAY)
    )
    event = snapshot(state, INFO, MONDAY + 6 * DAY, SETTINGS)
    assert (event["backlog_orders"], event["overdue_orders"]) == (3, 2)
    assert event["windows"]["7d"]["received"] == 0


def test_a_closed_order_overtaking_its_opened_fact_is_reported_as_zero_until_it_arrives():
    state = fold(facts("closed", 1, MONDAY + HOUR))
    assert snapshot(state, INFO, MONDAY + HOUR, SETTINGS)["backlog_orders"] == 0
    state = fold(facts("opened", 1, MONDAY), state)
    assert snapshot(state, INFO, MONDAY + HOUR, SETTINGS)["backlog_orders"] == 0
    state = fold(facts("opened", 1, MONDAY + HOUR), state)
    assert snapshot(state, INFO, MONDAY + HOUR, SETTINGS)["backlog_orders"] == 1


def test_buckets_older_than_a_week_before_the_newest_event_are_purged():
    # given a month of appeals, one every 20 minutes
    state = fold(OfficeFact(OFFICE, "received", MONDAY + minute * 60) for minute in range(0, 30 * 24 * 60, 20))
    # then only the last seven days of hourly buckets are kept
    assert len(state.buckets) == RETENTION_HOURS
    newest_hour = MONDAY + 30 * DAY - HOUR
    assert state.buckets[0].started_at_seconds == newest_hour - (RETENTION_HOURS - 1) * HOUR
    assert state.buckets[-1].started_at_seconds == newest_hour


def test_a_counted_fact_older_than_the_kept_week_is_dropped_and_counted():
    state = fold(facts("received", 1, MONDAY + 10 * DAY))
    state = fold(facts("received", 1, MONDAY + 2 * DAY) + facts("opened", 1, MONDAY + 2 * DAY), state)
    assert state.late_facts_dropped == 1
    assert window_counts(state, MONDAY + 10 * DAY, RETENTION_HOURS)["received"] == 1
    # a level fact applies however late: a lost `opened` would corrupt the backlog forever
    assert state.backlog_orders == 1


def test_a_fact_for_another_office_is_refused():
    with pytest.raises(ValueError, match="district-3"):
        record(OfficePressureState(OFFICE), OfficeFact("district-3", "received", MONDAY))


def test_an_unknown_fact_kind_is_refused():
    with pytest.raises(ValueError, match="teleported"):
        OfficeFact(OFFICE, "teleported", MONDAY)


def test_a_hotspot_is_listed_against_its_own_baseline():
    # given water complaints in Haidian at 1 an hour for a day, then 6 in the current hour
    now = MONDAY + DAY + 40 * 60
    history = [OfficeFact(OFFICE, "received", MONDAY + hour * HOUR + 60, "water", "haidian") for hour in range(24)]
    state = fold(history + facts("received", 6, MONDAY + DAY + 60, category="water", district="haidian"))
    # when the snapshot is taken
    [hotspot] = snapshot(state, INFO, now, SETTINGS)["hotspots"]
    # then the ratio is the current hour over the mean of the 24 before it
    assert hotspot == {"category": "water", "district": "haidian", "inflow_1h": 6, "baseline_per_hour": 1.0, "ratio": 6.0, "emerging": True}


def test_a_new_combination_needs_the_minimum_inflow_and_meets_the_baseline_floor():
    at = MONDAY + 10 * 60
    below = fold(facts("received", 4, at, category="noise", district="chaoyang"))
    assert snapshot(below, INFO, at, SETTINGS)["hotspots"] == []
    at_minimum = fold(facts("received", 5, at, category="noise", district="chaoyang"))
    [hotspot] = snapshot(at_minimum, INFO, at, SETTINGS)["hotspots"]
    # 5 appeals over the floor of 0.5 per hour
    assert (hotspot["ratio"], hotspot["emerging"]) == (10.0, True)


def test_hotspots_are_listed_by_ratio_and_limited():
    settings = PressureSettings(HotspotSettings(factor=3.0, min_inflow_1h=1, baseline_hours=24, min_baseline_per_hour=0.5, max_listed=2))
    at = MONDAY + 10 * 60
    state = fold(
        facts("received", 2, at, category="noise", district="a")
        + facts("received", 4, at, category="water", district="a")
        + facts("received", 3, at, category="roads", district="b")
    )
    listed = [(h["category"], h["inflow_1h"]) for h in snapshot(state, INFO, at, settings)["hotspots"]]
    assert listed == [("water", 4), ("roads", 3)]


def test_a_received_fact_without_category_and_district_counts_as_inflow_but_not_as_a_hotspot():
    at = MONDAY + 10 * 60
    state = fold(facts("received", 6, at, category="water"))
    event = snapshot(state, INFO, at, SETTINGS)
    assert (event["windows"]["1h"]["received"], event["hotspots"]) == (6, [])


def test_snapshot_identity_depends_on_office_and_hour_only():
    state = fold(facts("received", 1, MONDAY))
    early = snapshot(state, INFO, MONDAY + 5 * 60, SETTINGS)
    late = snapshot(fold(facts("received", 1, MONDAY + 50 * 60), state), INFO, MONDAY + 55 * 60, SETTINGS)
    next_hour = snapshot(state, INFO, MONDAY + HOUR, SETTINGS)
    assert early["event_id"] == late["event_id"] == derived_event_id("street-7:2024-06-03T00:00:00Z", "pressure.snapshot")
    assert early["caused_by"] == "street-7:2024-06-03T00:00:00Z"
    assert next_hour["event_id"] != early["event_id"]
    assert early["occurred_at"] == "2024-06-03T00:05:00Z"


def test_snapshot_is_a_valid_hotline_pressure_v1_event():
    state = fold(
        [OfficeFact(OFFICE, kind, MONDAY + 60) for kind in sorted(FACT_KINDS)]
        + facts("received", 6, MONDAY + 60, category="water", district="haidian")
    )
    event = snapshot(state, INFO, MONDAY + 120, SETTINGS)
    assert topic_validator("hotline.pressure.v1").validate(event) is None
    assert topic_validator("hotline.pressure.v1").validate(snapshot(OfficePressureState(OFFICE), None, MONDAY, SETTINGS)) is None


fact_strategy = st.builds(
    OfficeFact,
    office_id=st.just(OFFICE),
    kind=st.sampled_from(sorted(FACT_KINDS)),
    # within six days, so no order of arrival makes a fact too late to count
    occurred_at_seconds=st.integers(MONDAY, MONDAY + 6 * DAY),
    category=st.sampled_from([None, "water", "noise"]),
    district=st.sampled_from([None, "haidian", "chaoyang"]),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(fact_strategy, max_size=40), st.randoms(use_true_random=False))
def test_the_order_facts_arrive_in_does_not_change_the_snapshot(facts_in_order, random):
    shuffled = list(facts_in_order)
    random.shuffle(shuffled)
    now = MONDAY + 6 * DAY + HOUR
    assert snapshot(fold(shuffled), INFO, now, SETTINGS) == snapshot(fold(facts_in_order), INFO, now, SETTINGS)


@settings(max_examples=60, deadline=None)
@given(st.lists(fact_strategy, max_size=40))
def test_state_survives_a_round_trip_through_json(facts_in_order):
    state = fold(facts_in_order)
    restored = OfficePressureState.from_dict(orjson.loads(orjson.dumps(state.to_dict())))
    assert restored == state


@settings(max_examples=60, deadline=None)
@given(st.lists(fact_strategy, max_size=40), st.lists(fact_strategy, min_size=1, max_size=5))
def test_a_states_stored_form_after_more_facts_equals_one_built_afresh(earlier, later):
    # Given a state whose stored form was taken (each bucket keeps its own)
    before = fold(earlier)
    stored_before = orjson.dumps(before.to_dict())
    # When more facts are folded in and the state is stored again
    after = fold(later, before)
    # Then it equals the stored form of the same facts folded afresh (no bucket of which
    # built one before), and the earlier state's stored form is unchanged
    assert orjson.dumps(after.to_dict()) == orjson.dumps(fold(earlier + later).to_dict())
    assert orjson.dumps(before.to_dict()) == stored_before == orjson.dumps(fold(earlier).to_dict())


def test_every_counted_kind_is_reported_in_every_window():
    event = snapshot(OfficePressureState(OFFICE), INFO, MONDAY, SETTINGS)
    assert set(event["windows"]["7d"]) == {*COUNTED_KINDS, "effective_inflow"}


def test_default_settings_load_from_the_config_folder():
    assert load_pressure_settings().hotspots == HotspotSettings(factor=3.0, min_inflow_1h=5, baseline_hours=24, min_baseline_per_hour=0.5, max_listed=10)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ("factor = 1.0", "hotspots.factor"),
        ("baseline_hours = 168", "hotspots.baseline_hours"),
        ("min_baseline_per_hour = 0", "hotspots.min_baseline_per_hour"),
        ("min_inflow_1h = true", "hotspots.min_inflow_1h"),
    ],
)
def test_a_wrong_setting_names_the_file_and_the_field(tmp_path, line, field):
    values = {"factor": "3.0", "min_inflow_1h": "5", "baseline_hours": "24", "min_baseline_per_hour": "0.5", "max_listed": "10"}
    key = line.split(" = ")[0]
    values[key] = line.split(" = ")[1]
    path = tmp_path / "pressure.toml"
    path.write_text("[hotspots]\n" + "".join(f"{name} = {value}\n" for name, value in values.items()))
    with pytest.raises(ConfigFileError) as error:
        load_pressure_settings(path)
    assert (error.value.path, error.value.field) == (str(path), field)
