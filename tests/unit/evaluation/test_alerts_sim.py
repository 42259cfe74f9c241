"""Pressure alerts of simulated runs, replayed offline through the pure core.

Given simulator runs replayed through screen -> orders -> escalate -> pressure -> alerts
with one partition (hotline.evaluation.alerts), these tests hold the driver to: the
orders stage's outputs of orders_pipeline.replay_orders, one `escalated` fact per
raised escalation, one `repeat` or `flagged` fact per discounted appeal once the final
verdicts and case records are given, the pressure agent's snapshot rule; the overloaded office alerted
inside its truth interval and no other; and pressure tables that stop growing once
the seven-day retention is full.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from functools import lru_cache

import click
import orjson
from click.testing import CliRunner

from hotline.cli.evaluate_alerts import register
from hotline.contract import codec
from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.core.pressure import RETENTION_HOURS, OfficeFact, hour_started_at
from hotline.core.timeutil import parse_rfc3339
from hotline.evaluation.alerts import (
    AlertsRun,
    PressureReplay,
    alert_verdicts,
    evaluate_alerts,
    expected_targets,
    firing_intervals,
    overload_verdicts,
    replay_with_facts,
)
from hotline.core.orders import OrderState
from hotline.evaluation.orders_pipeline import replay_orders
from hotline.evaluation.pipeline import case_records, run_offline
from hotline.rules import (
    load_alert_settings,
    load_dedupe_settings,
    load_deadline_policy,
    load_escalation_policy,
    load_pressure_settings,
    load_screening_rules,
)
from hotline.sim import Simulation, SimulationSpec, simulate

HOUR = 3600
# 2026-03-02T00:00:00Z, a whole UTC hour.
T0 = 1_772_409_600


@lru_cache(maxsize=None)
def _simulation(scenario: str, days: int, appeals_per_day: int, seed: int) -> Simulation:
    return simulate(SimulationSpec(days=days, seed=seed, scenario=scenario, appeals_per_day=appeals_per_day))


def _rules(simulation: Simulation) -> order_flow.OrderRules:
    offices = {office["office_id"]: office for office in simulation.offices}
    return order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), load_escalation_policy(), offices)


def _lines(simulation: Simulation) -> list[bytes]:
    return [codec.encode(event) for event in simulation.events]


@lru_cache(maxsize=None)
def _alerts_run(scenario: str, days: int, appeals_per_day: int, seed: int) -> AlertsRun:
    simulation = _simulation(scenario, days, appeals_per_day, seed)
    return evaluate_alerts(_lines(simulation), _rules(simulation), load_pressure_settings(), load_alert_settings(), track_memory=True)


# --- the orders stage ---------------------------------------------------------------


def test_replay_with_facts_publishes_what_replay_orders_publishes():
    # Given a small simulated week with breaches and escalations
    simulation = _simulation("overload", 4, 200, 3)
    # When it is replayed by both drivers over one partition
    with_facts = replay_with_facts(_lines(simulation), _rules(simulation)).orders
    plain = replay_orders(_lines(simulation), _rules(simulation), partitions=1)
    # Then the deadline and escalation events are the same, in the same order
    assert len(plain.deadline_events) > 100 and len(plain.raised) > 10
    assert with_facts.deadline_events == plain.deadline_events
    assert with_facts.escalation_events == plain.escalation_events
    assert (with_facts.events_read, with_facts.duplicates, with_facts.due_checks) == (plain.events_read, plain.duplicates, plain.due_checks)


def test_every_raised_escalation_becomes_an_escalated_fact_at_its_from_office():
    simulation = _simulation("overload", 4, 200, 3)
    run = replay_with_facts(_lines(simulation), _rules(simulation))
    escalated = sorted((fact.office_id, fact.occurred_at_seconds) for fact in run.facts if fact.kind == "escalated")
    from_raised = sorted(
        (event["from_office_id"], parse_rfc3339(event["occurred_at"]).timestamp()) for event in run.orders.raised
    )
    assert escalated == from_raised


def test_without_the_dedupe_stage_no_appeal_is_discounted():
    # Given the chain has no verdict rules and no dedupe (module docstring)
    run = _alerts_run("overload", 4, 200, 3)
    kinds = {fact.kind for fact in run.facts_run.facts}
    # Then no repeat or flagged fact exists, so RepeatSurge has nothing to read
    assert "received" in kinds and "breached" in kinds
    assert kinds.isdisjoint({"repeat", "flagged"})
    assert "RepeatSurge" not in run.fired_counts()


def _without_verdicts(order: OrderState) -> OrderState:
    facts = tuple(replace(fact, verdict_status=None, verdict_reasons=()) for fact in order.facts)
    return replace(order, verdict_status=None, verdict_reasons=(), facts=facts)


def test_with_final_verdicts_and_case_records_repeats_and_flagged_appeals_become_facts():
    # Given the verdict rules and the dedupe stage run first over a small overload city
    simulation = _simulation("overload", 4, 200, 3)
    lines = _lines(simulation)
    cases = run_offline(lines, load_screening_rules(), load_dedupe_settings())
    records = case_records(cases)
    verdicts = {order_id: verdict.to_json() for order_id, verdict in cases.verdicts.items()}
    # When their outcomes go into the orders stage
    run = replay_with_facts(lines, _rules(simulation), verdicts, records)
    plain = replay_orders(lines, _rules(simulation), partitions=1)
    # Then the orders fold the same events, now with each appeal's final verdict
    assert {order_id: _without_verdicts(record.order) for order_id, record in run.orders.records.items()} == {
        order_id: _without_verdicts(record.order) for order_id, record in plain.records.items()
    }
    assert {order_id: run.orders.records[order_id].order.verdict_status for order_id in verdicts} == {
        order_id: verdict["status"] for order_id, verdict in verdicts.items()
    }
    # and every linked order handed to an office is one repeat fact, every flagged one a flagged fact
    handed_over = {order_id for order_id, record in run.orders.records.items() if record.order.office_history}
    linked = {order_id for order_id, record in records.items() if record["type"] == "case.linked"} & handed_over
    flagged = {
        order_id
        for order_id, verdict in verdicts.items()
        if (verdict["status"] == "rejected" or (verdict["status"] == "flagged" and order_id not in linked)) and order_id in handed_over
    }
    kinds = Counter(fact.kind for fact in run.facts)
    assert len(linked) > 100 and len(flagged) > 10
    assert (kinds["repeat"], kinds["flagged"]) == (len(linked), len(flagged))


def test_the_pressure_replay_hands_every_snapshot_to_its_listener():
    snapshots = []
    replay = PressureReplay({}, load_pressure_settings(), load_alert_settings(), snapshots.append)
    replay.accept(OfficeFact("a", "received", T0))
    replay.accept(OfficeFact("b", "received", T0 + 10))
    replay.accept(OfficeFact("a", "received", T0 + HOUR))
    assert [(snapshot["office_id"], snapshot["occurred_at"]) for snapshot in snapshots] == [
        ("a", "2026-03-02T00:00:00Z"),
        ("b", "2026-03-02T00:00:10Z"),
        ("a", "2026-03-02T01:00:00Z"),
        ("b", "2026-03-02T01:00:00Z"),
    ]
    assert replay.snapshots == 4


# --- the pressure stage -------------------------------------------------------------


def _replay() -> PressureReplay:
    offices = {
        office_id: {"office_id": office_id, "name": office_id, "level": "street", "daily_capacity": 10}
        for office_id in ("a", "b")
    }
    return PressureReplay(offices, load_pressure_settings(), load_alert_settings())


def test_a_new_hour_of_the_partition_snapshots_every_office_seen():
    # Given office a reports at 00:05 and office b at 00:10 of the same hour
    replay = _replay()
    replay.accept(OfficeFact("a", "received", T0 + 300))
    replay.accept(OfficeFact("b", "received", T0 + 600))
    # Then a was snapshotted with the partition's new hour, b with its own first hour
    assert replay.snapshots == 2
    # When a fact of the next hour arrives for a, both offices report
    replay.accept(OfficeFact("a", "received", T0 + HOUR + 60))
    assert replay.snapshots == 4
    assert replay.snapshot_hours == {"a": T0 + HOUR, "b": T0 + HOUR}
    # And a late fact of an earlier hour reports nothing
    replay.accept(OfficeFact("b", "breached", T0 + 900))
    assert replay.snapshots == 4


def test_overloaded_office_fires_after_held_hour_and_resolves_after_two_calm_hours():
    # Given office a (capacity 10) receives 13 appeals in its first hour: ratio 1.3
    replay = _replay()
    for second in range(13):
        replay.accept(OfficeFact("a", "received", T0 + second))
    # When event time moves on hour by hour (b's facts drive the partition's hours)
    for hour in range(1, 28):
        replay.accept(OfficeFact("b", "resolved", T0 + hour * HOUR))
    # Then the 00:00 snapshot saw one appeal (under min_sample), the 01:00 one saw 1.3
    # (pending), the 02:00 one fired (held 3600 s); the appeals left the 24 h window at
    # 24:00 and the alert resolved after 7200 s at 0
    intervals = firing_intervals(replay.changes)
    assert [(interval.alert, interval.office_id, interval.fired_at_seconds, interval.resolved_at_seconds) for interval in intervals] == [
        ("OfficeOverloaded", "a", T0 + 2 * HOUR, T0 + 26 * HOUR)
    ]


# --- scenarios against the truth ----------------------------------------------------


def test_overload_alert_fires_for_the_surging_office_inside_its_interval_and_nowhere_else():
    # Given the overload scenario (one street office surges from 09:00 of day 2)
    simulation = _simulation("overload", 4, 200, 3)
    run = _alerts_run("overload", 4, 200, 3)
    targets = expected_targets(simulation.events, simulation.truth)
    # Then the truth names the surging office, 03-03 04:00 to 03-05 08:00 and again
    # 10:00 to 13:00; the alert fired inside the first interval and resolved after it,
    # at 10:05, while the inflow sat between resolve_below and fire_above
    verdicts = overload_verdicts(run.intervals, targets.overloads)
    assert [(verdict.interval.office_id, verdict.fired_within, verdict.resolved_after) for verdict in verdicts] == [
        ("d05-s04", True, True),
        ("d05-s04", False, False),
    ]
    assert [verdict.to_json()["resolved_at"] for verdict in verdicts] == ["2026-03-05T10:05:58Z"] * 2
    # And no other office was alerted as overloaded
    by_alert = {verdict.alert: verdict for verdict in alert_verdicts(run.intervals, targets)}
    assert by_alert["OfficeOverloaded"].hits == {"d05-s04"}
    assert by_alert["OfficeOverloaded"].elsewhere == frozenset()
    # And the surge's neighbour repeats are not mistaken for a repeat storm
    assert by_alert["RepeatSurge"].expected_offices == frozenset()


# --- memory -------------------------------------------------------------------------


def test_pressure_tables_stop_growing_once_seven_days_are_kept():
    # Given ten steady days replayed with a sample of the tables after each day
    run = _alerts_run("steady", 10, 150, 5)
    samples = run.memory
    assert len(samples) == 10
    # Then no office keeps a bucket older than the retention before its newest event
    for state in run.replay.states.values():
        if state.buckets:
            newest_hour = hour_started_at(state.newest_event_at_seconds)
            assert newest_hour - state.buckets[0].started_at_seconds <= (RETENTION_HOURS - 1) * HOUR
            assert len(state.buckets) <= RETENTION_HOURS
    # And the size grows while the week fills (day 3 is well under day 7) ...
    assert samples[2].encoded_bytes < 0.6 * samples[6].encoded_bytes
    # ... then holds: days 9 and 10 are within 10 % of day 8 (each day kept replaces
    # the same weekday dropped)
    for later in samples[8:]:
        assert abs(later.encoded_bytes - samples[7].encoded_bytes) <= 0.1 * samples[7].encoded_bytes


# --- command ------------------------------------------------------------------------


def _command() -> click.Group:
    group = click.Group("evaluate")
    register(group)
    return group


def test_alerts_command_prints_intervals_and_truth_verdicts_as_json():
    result = CliRunner().invoke(
        _command(), ["alerts", "--scenario", "overload", "--days", "4", "--seed", "3", "--appeals-per-day", "200", "--json"]
    )
    assert result.exit_code == 0, result.output
    document = orjson.loads(result.output)
    assert [verdict["office_id"] for verdict in document["overload"]] == ["d05-s04", "d05-s04"]
    assert document["overload"][0]["fired_within"] is True
    assert document["fired"]["OfficeOverloaded"] == 1
    assert document["memory"] == [] and document["memory_flatness"] is None


def test_alerts_command_refuses_a_scenario_together_with_files(tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("")
    result = CliRunner().invoke(_command(), ["alerts", "--scenario", "steady", "--events", str(events)])
    assert result.exit_code == 2
    assert "not both" in result.output
