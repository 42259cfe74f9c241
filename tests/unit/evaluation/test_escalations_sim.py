"""Deadlines and escalations of simulated weeks, replayed offline through the pure core.

Given simulator runs (hotline.sim) replayed through screen -> orders -> escalate
(hotline.evaluation.orders_pipeline), these tests hold the two stages to: identical
event ids however the partitions' events are interleaved; the escalations the ground
truth expects in the ping-pong scenario; resolution breaches of the overloaded office
raised or held back exactly as its orders' own times say; and the damping limits.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from functools import lru_cache

import click
import orjson
from click.testing import CliRunner

from hotline.cli.evaluate_escalations import register
from hotline.contract import codec
from hotline.core import order_flow
from hotline.core.deadlines import DeadlineTracker
from hotline.core.escalation import EscalationPolicy, local_day
from hotline.core.timeutil import parse_rfc3339
from hotline.evaluation.escalations import damping_figures, found_reasons, read_expected_escalations, score_escalations
from hotline.evaluation.orders_pipeline import OrdersRun, partition_of, replay_orders
from hotline.rules import load_deadline_policy, load_escalation_policy
from hotline.sim import Simulation, SimulationSpec, encode_lines, simulate

PARTITIONS = 4


@lru_cache(maxsize=None)
def _simulation(scenario: str, days: int, appeals_per_day: int, seed: int) -> Simulation:
    return simulate(SimulationSpec(days=days, seed=seed, scenario=scenario, appeals_per_day=appeals_per_day))


def _rules(simulation: Simulation, policy: EscalationPolicy | None = None) -> order_flow.OrderRules:
    offices = {office["office_id"]: office for office in simulation.offices}
    return order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), policy or load_escalation_policy(), offices)


def _lines(simulation: Simulation) -> list[bytes]:
    return [codec.encode(event) for event in simulation.events]


def _last_event_at(simulation: Simulation) -> datetime:
    return max(parse_rfc3339(event["occurred_at"]) for event in simulation.events)


def _interleaved(simulation: Simulation, seed: int) -> list[bytes]:
    """The log split by partition (each partition keeps its order, so each order does),
    then read in fetches of random size from randomly chosen partitions."""
    chooser = random.Random(seed)
    partitions: list[list[bytes]] = [[] for _ in range(PARTITIONS)]
    for line, event in zip(_lines(simulation), simulation.events):
        partitions[partition_of(event["order_id"], PARTITIONS)].append(line)
    read = [0] * PARTITIONS
    lines: list[bytes] = []
    while live := [index for index in range(PARTITIONS) if read[index] < len(partitions[index])]:
        index = chooser.choice(live)
        fetch = chooser.randint(1, 200)
        lines.extend(partitions[index][read[index] : read[index] + fetch])
        read[index] += fetch
    return lines


def _ids(run: OrdersRun) -> tuple[frozenset[str], frozenset[str]]:
    return frozenset(event["event_id"] for event in run.deadline_events), frozenset(event["event_id"] for event in run.escalation_events)


def _admitted_keys(run: OrdersRun) -> frozenset[str]:
    return frozenset(f"{event['order_id']}:{event['to_level']}" for event in run.raised) | frozenset(held.proposal.key for held in run.held_back)


# --- determinism --------------------------------------------------------------------


def test_replaying_the_same_week_twice_gives_identical_deadline_and_escalation_ids():
    # given a simulated steady week
    simulation = _simulation("steady", 7, 60, 11)
    # when it is replayed twice
    first = replay_orders(_lines(simulation), _rules(simulation))
    second = replay_orders(_lines(simulation), _rules(simulation))
    # then both runs publish the same events
    assert _ids(first) == _ids(second)
    assert first.deadline_events == second.deadline_events
    assert first.escalation_events == second.escalation_events
    assert (len(first.deadline_events), len(first.raised)) == (1458, 28)


def _stored_values(run: OrdersRun) -> dict[str, bytes]:
    return {order_id: codec.encode(record.to_dict()) for order_id, record in run.records.items()}


def test_keeping_decoded_records_changes_no_output_and_no_stored_value():
    # given a ping-pong week (transfers, returns, escalations) read as four partitions
    simulation = _simulation("ping-pong", 7, 60, 5)
    closing = _last_event_at(simulation)
    lines = _interleaved(simulation, 3)
    # when it is replayed decoding every stored order as the worker does, and keeping
    # the decoded records beside the stored values
    decoding = replay_orders(lines, _rules(simulation), partitions=PARTITIONS, closing_watermark=closing, keep_decoded=False)
    keeping = replay_orders(lines, _rules(simulation), partitions=PARTITIONS, closing_watermark=closing, keep_decoded=True)
    # then both publish the same bytes, hold back and damp the same, and store the same values
    assert [codec.encode(event) for event in keeping.deadline_events] == [codec.encode(event) for event in decoding.deadline_events]
    assert [codec.encode(event) for event in keeping.escalation_events] == [codec.encode(event) for event in decoding.escalation_events]
    assert (keeping.held_back, keeping.damped, keeping.budgets) == (decoding.held_back, decoding.damped, decoding.budgets)
    assert (keeping.due_checks, keeping.duplicates, keeping.dead_letters) == (decoding.due_checks, decoding.duplicates, decoding.dead_letters)
    assert _stored_values(keeping) == _stored_values(decoding)
    assert len(decoding.deadline_events) > 1000 and len(decoding.escalation_events) > 10


def test_partitions_read_interleaved_differently_give_identical_ids():
    # given a steady week, read as one log and as four partitions in two interleavings
    simulation = _simulation("steady", 7, 60, 11)
    closing = _last_event_at(simulation)
    in_log_order = replay_orders(_lines(simulation), _rules(simulation), closing_watermark=closing)
    runs = [
        replay_orders(_interleaved(simulation, seed), _rules(simulation), partitions=PARTITIONS, closing_watermark=closing)
        for seed in (1, 2)
    ]
    # then the interleavings really differ from the log
    assert all(_interleaved(simulation, seed) != _lines(simulation) for seed in (1, 2))
    # and every run publishes the same deadline and escalation event ids
    assert all(_ids(run) == _ids(in_log_order) for run in runs)
    # and the budget did not bind, so the raised events are the whole story
    assert [len(run.held_back) for run in (in_log_order, *runs)] == [0, 0, 0]


def test_with_a_binding_budget_interleaving_moves_escalations_only_between_raised_and_held_back():
    # given a daily budget of 2 escalations per receiving office, which binds
    simulation = _simulation("steady", 7, 60, 11)
    policy = dataclasses.replace(load_escalation_policy(), daily_budget_per_office=2)
    closing = _last_event_at(simulation)
    in_log_order = replay_orders(_lines(simulation), _rules(simulation, policy), closing_watermark=closing)
    interleaved = replay_orders(_interleaved(simulation, 1), _rules(simulation, policy), partitions=PARTITIONS, closing_watermark=closing)
    # then deadlines are the same and the same escalations are admitted (raised or held back)
    assert _ids(interleaved)[0] == _ids(in_log_order)[0]
    assert _admitted_keys(interleaved) == _admitted_keys(in_log_order)
    assert len(in_log_order.held_back) == 8
    # and no office raised more than its budget on any day of the log-order run
    assert damping_figures(in_log_order, 2).max_raised_per_office_day == 2


def test_a_binding_budget_holds_when_partitions_are_read_interleaved():
    # given a daily budget of 2 and four partitions read interleaved
    simulation = _simulation("steady", 7, 60, 11)
    policy = dataclasses.replace(load_escalation_policy(), daily_budget_per_office=2)
    closing = _last_event_at(simulation)
    interleaved = replay_orders(_interleaved(simulation, 1), _rules(simulation, policy), partitions=PARTITIONS, closing_watermark=closing)
    # then no office raises more than 2 escalations on one day
    assert damping_figures(interleaved, 2).max_raised_per_office_day == 2


def test_one_global_watermark_over_interleaved_partitions_only_makes_outcomes_later():
    # given four partitions interleaved but read with one global watermark (events of a
    # partition that lags are then late)
    simulation = _simulation("steady", 7, 60, 11)
    closing = _last_event_at(simulation)
    partitioned = replay_orders(_interleaved(simulation, 1), _rules(simulation), partitions=PARTITIONS, closing_watermark=closing)
    global_watermark = replay_orders(_interleaved(simulation, 1), _rules(simulation), partitions=1, closing_watermark=closing)
    by_id = {event["event_id"]: event for event in (*partitioned.deadline_events, *global_watermark.deadline_events)}
    only_partitioned = _ids(partitioned)[0] - _ids(global_watermark)[0]
    only_global = _ids(global_watermark)[0] - _ids(partitioned)[0]
    # then lateness only turns met targets into breaches and adds warnings, never the reverse
    assert only_global
    assert {by_id[event_id]["type"] for event_id in only_partitioned} <= {"deadline.met", "deadline.cancelled"}
    assert {by_id[event_id]["type"] for event_id in only_global} <= {"deadline.warning", "deadline.breached"}


# --- scenarios ----------------------------------------------------------------------


def test_ping_pong_orders_get_every_escalation_the_truth_expects():
    # given a ping-pong week and its ground truth
    simulation = _simulation("ping-pong", 7, 150, 7)
    expected = read_expected_escalations(simulation.truth)
    # when it is replayed
    run = replay_orders(_lines(simulation), _rules(simulation))
    scores = score_escalations(run, expected)
    by_reason = {row.reason: row for row in scores.reasons}
    # then every truth order got its expected reasons, raised or held back, except one
    # damped because the ladder ends at the city (a department's order reaches the city
    # with its first escalation) and the one repeat, which only the dedupe stage (not
    # in this chain) can report
    assert scores.unexpected == ()
    assert scores.damped_expected == (("GD2026030400050", "dissatisfied_after_resolution", "top_of_ladder"),)
    assert scores.missing == (("GD2026030600092", "repeated_appeals"),)
    assert (scores.orders_scored, scores.orders_matching) == (24, 23)
    assert (by_reason["ping_pong"].expected, by_reason["ping_pong"].correct, by_reason["ping_pong"].found) == (24, 24, 24)
    assert (by_reason["resolution_breached"].expected, by_reason["resolution_breached"].correct) == (1, 1)
    assert scores.overall.precision == 1.0


def test_overloaded_office_breaches_escalate_exactly_when_its_orders_resolved_late():
    # given an overload run with a small budget, and the overloaded office from the truth
    simulation = _simulation("overload", 10, 150, 7)
    office_ids = {record["office_id"] for record in simulation.truth if record["kind"] == "overload"}
    assert len(office_ids) == 1
    office_id = office_ids.pop()
    policy = dataclasses.replace(load_escalation_policy(), daily_budget_per_office=3)
    # when it is replayed
    run = replay_orders(_lines(simulation), _rules(simulation, policy))
    # then, for the office's orders without pause or extension, a resolution breach is
    # raised or held back exactly when the first resolution came after the due time, or
    # none came before the log ends
    last_event_at = _last_event_at(simulation)
    plain_orders: dict[str, dict] = {}
    paused = set()
    for event in simulation.events:
        order = plain_orders.setdefault(event["order_id"], {})
        if event["type"] == "order.dispatched" and event["data"]["office_id"] == office_id:
            order.setdefault("due_at", parse_rfc3339(event["data"]["due_at"]))
        if event["type"] == "order.resolved":
            order.setdefault("resolved_at", parse_rfc3339(event["occurred_at"]))
        if event["type"] in ("order.suspended", "order.extended"):
            paused.add(event["order_id"])
    late = {
        order_id
        for order_id, order in plain_orders.items()
        if "due_at" in order and order_id not in paused and order.get("resolved_at", last_event_at) > order["due_at"]
    }
    found = found_reasons(run)
    escalated = {
        order_id for order_id, order in plain_orders.items() if "due_at" in order and order_id not in paused and "resolution_breached" in found.get(order_id, {})
    }
    assert escalated == late
    assert len(late) == 13
    # and the office's district held some back, and every held-back escalation is either
    # summarised (by its day's summary, or a late one after the day closed) or still
    # waiting in a day that has not closed yet
    held = [item for item in run.held_back if item.proposal.order_id in late]
    assert len(held) == 7
    summarised = sum(event["count"] for event in run.summaries)
    still_open = sum(len(day.held_back) for budget in run.budgets.values() for _, day in budget.days if not day.closed)
    assert summarised + still_open == len(run.held_back)


def test_steady_city_escalations_stay_within_the_damping_limits():
    # given a steady week and a daily budget of 5 per receiving office
    simulation = _simulation("steady", 7, 150, 3)
    policy = dataclasses.replace(load_escalation_policy(), daily_budget_per_office=5)
    # when it is replayed
    run = replay_orders(_lines(simulation), _rules(simulation, policy))
    figures = damping_figures(run, policy.daily_budget_per_office)
    # then no order is lifted to a level twice and no office takes more than 5 a day
    assert figures.within_limits
    assert (figures.max_raised_per_order_level, figures.max_raised_per_office_day) == (1, 5)
    per_office_day: dict[tuple[str, str], int] = {}
    for event in run.raised:
        key = (event["to_office_id"], local_day(parse_rfc3339(event["occurred_at"])).isoformat())
        per_office_day[key] = per_office_day.get(key, 0) + 1
    assert max(per_office_day.values()) == 5
    # and the rest were held back: 25 of the 30 in the 4 days that closed, announced by summaries
    assert (figures.raised, figures.held_back, figures.summaries, figures.summarised_count) == (61, 30, 4, 25)
    assert figures.damped == (("reason_already_escalated", 1),)


def test_evaluate_escalations_command_prints_expected_and_found_per_reason(tmp_path):
    # given a small ping-pong run written as the simulate command writes it
    simulation = _simulation("ping-pong", 3, 40, 7)
    for name, records in (("events", simulation.events), ("truth", simulation.truth), ("offices", simulation.offices)):
        (tmp_path / f"{name}.jsonl").write_bytes(encode_lines(records))

    @click.group()
    def evaluate() -> None:
        """Stands in for the `evaluate` group."""

    register(evaluate)
    # when the command scores it
    arguments = ["escalations", "--events", str(tmp_path / "events.jsonl"), "--truth", str(tmp_path / "truth.jsonl"), "--offices", str(tmp_path / "offices.jsonl")]
    as_json = CliRunner().invoke(evaluate, [*arguments, "--json"])
    as_table = CliRunner().invoke(evaluate, arguments)
    # then the figures match the in-process run and the table names every reason
    assert as_json.exit_code == 0, as_json.output
    document = orjson.loads(as_json.output)
    run = replay_orders(_lines(simulation), _rules(simulation))
    scores = score_escalations(run, read_expected_escalations(simulation.truth))
    assert document["overall"] == scores.overall.to_json()
    assert document["damping"]["raised"] == len(run.raised)
    assert as_table.exit_code == 0, as_table.output
    assert all(reason in as_table.output for reason in ("resolution_breached", "dissatisfied_after_resolution", "ping_pong"))
