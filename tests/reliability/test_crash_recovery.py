"""Crash recovery: a simulated stream of at least 50 000 events is replayed while the worker is killed with
SIGKILL at three seeded moments and restarted each time with the same app id and data
dir. At least once plus deterministic ids (docs/delivery.md) means the
distinct derived event ids equal those of the uninterrupted `crash_reference_run`, and a
redelivered message is a byte-identical copy of the first.

Prints per topic the duplicate deliveries, and per kill the recovery time: from the
restart to the new worker consuming again. A restarted worker waits for the group to drop
the killed one (the session timeout, 60 s) unless it is a static member
(HOTLINE_GROUP_INSTANCE_ID): the last scenario kills and restarts one under the same id.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import pytest

from hotline.contract import topics
from support.reliability import assert_same_event_ids, DERIVED, DerivedMessages, differences, differing_fields, ReliabilityPipeline, SimulatedStream, Views

# Whole runs: the module's fixture replays thousands of events through a real worker.
pytestmark = pytest.mark.timeout(1800)

SEED = 20260708
KILLS = 3
# Faust's default broker_session_timeout: how long the group waits for a killed member.
SESSION_TIMEOUT_SECONDS = 60.0
# A worker restarted under a new member id waits for the group to drop the killed one
# (the session timeout), then rejoins and restores its tables: anything far beyond that
# is a stuck rejoin or restore.
RESUME_BOUND_SECONDS = 2 * SESSION_TIMEOUT_SECONDS
# At least once replays only what each killed worker had not committed: seconds of input
# per kill (Faust commits every 2.8 s), not a share of the whole stream.
MAX_DUPLICATE_SHARE = 0.10


@dataclass(frozen=True)
class CrashedRun:
    derived: DerivedMessages
    views: Views
    kill_fractions: list[float]
    recovery_seconds: list[float]
    commits_before_kills: list[tuple[int, float]]  # each killed worker's commits: how many, their mean seconds
    drain_failure: str | None  # why the group never committed everything, if it did not


def _wait_for_input_progress(pipeline: ReliabilityPipeline, total: int, fraction: float, timeout_seconds: float = 600.0) -> None:
    """Until the group has committed `fraction` of the input topic."""
    deadline = time.monotonic() + timeout_seconds
    while pipeline.input_lag() > total * (1 - fraction):
        assert time.monotonic() < deadline, f"input never reached {fraction:.0%}"
        assert pipeline.worker.process.poll() is None, pipeline.worker.log_text()[-3000:]
        time.sleep(0.2)


def _restart_and_time_recovery(pipeline: ReliabilityPipeline, timeout_seconds: float = 300.0) -> float:
    restarted = time.monotonic()
    pipeline.start_worker()
    while pipeline.consumed_since_start() == 0:
        assert time.monotonic() - restarted < timeout_seconds, "the restarted worker consumed nothing"
        time.sleep(0.1)
    return time.monotonic() - restarted


@pytest.fixture(scope="module")
def crashed(crash_reference_run, crash_stream, pipeline_factory) -> CrashedRun:
    rng = random.Random(SEED)
    kill_fractions = sorted(round(rng.uniform(0.1, 0.9), 2) for _ in range(KILLS))
    total = len(crash_stream.lines())
    pipeline = pipeline_factory("hotline-crash")
    pipeline.feed(crash_stream)
    recovery_seconds, commits_before_kills = [], []
    for fraction in kill_fractions:
        _wait_for_input_progress(pipeline, total, fraction)
        commits_before_kills.append(_commit_durations(pipeline))
        pipeline.kill_worker()
        recovery_seconds.append(_restart_and_time_recovery(pipeline))
    try:
        pipeline.drain()
        drain_failure = None
    except AssertionError as error:  # judged by its own test; what was derived is still compared
        drain_failure = str(error)
    return CrashedRun(pipeline.derived(), Views.of(pipeline.worker, crash_stream.order_ids()), kill_fractions, recovery_seconds, commits_before_kills, drain_failure)


def _commit_durations(pipeline: ReliabilityPipeline) -> tuple[int, float]:
    samples = pipeline.worker.metrics()
    count = samples.get(("hotline_offset_commit_duration_seconds_count", ()), 0.0)
    total = samples.get(("hotline_offset_commit_duration_seconds_sum", ()), 0.0)
    return int(count), total / count if count else 0.0


def test_each_restart_consumes_again_within_the_rejoin_bound_with_few_duplicates(crashed, crash_reference_run):
    print()
    for fraction, seconds, (commits, mean) in zip(crashed.kill_fractions, crashed.recovery_seconds, crashed.commits_before_kills):
        print(f"killed at {fraction:.0%} of the input committed, after {commits} commits of {mean:.2f}s on average: consuming again {seconds:.1f}s after the restart")
    all_distinct = all_duplicates = 0
    for spec in DERIVED:
        copies = crashed.derived.copies(spec.name)
        duplicates = sum(len(c) - 1 for c in copies.values())
        print(f"{spec.name}: {len(copies)} distinct, {duplicates} duplicate deliveries (reference: {len(crash_reference_run.derived.by_topic[spec.name]) - len(crash_reference_run.derived.event_ids(spec.name))})")
        all_distinct, all_duplicates = all_distinct + len(copies), all_duplicates + duplicates
    assert [seconds < RESUME_BOUND_SECONDS for seconds in crashed.recovery_seconds] == [True] * KILLS
    assert all_duplicates <= MAX_DUPLICATE_SHARE * all_distinct, (all_duplicates, all_distinct)


def test_the_restarted_worker_commits_every_message(crashed):
    assert crashed.drain_failure is None


# Alerts are left out of the id comparison: the clean runs of this stream raise none, and
# whether one fires follows the order-dependent pressure snapshots.
COMPARED = [
    topics.SCREENED,
    topics.DEADLINES,
    topics.CASES,
    topics.ESCALATIONS,
    topics.PRESSURE,
]


@pytest.mark.parametrize("spec", COMPARED, ids=lambda spec: spec.name)
def test_distinct_derived_event_ids_equal_an_uninterrupted_run(crashed, crash_reference_run, spec):
    assert_same_event_ids(crashed.derived, crash_reference_run.derived, spec.name)


REDELIVERED = [
    topics.SCREENED,
    topics.CASES,
    topics.DEADLINES,
    topics.ESCALATIONS,
    topics.PRESSURE,
    topics.ALERTS,
]


@pytest.mark.parametrize("spec", REDELIVERED, ids=lambda spec: spec.name)
def test_every_duplicate_delivery_is_a_byte_identical_copy(crashed, spec):
    differing = {event_id: len(set(copies)) for event_id, copies in crashed.derived.copies(spec.name).items() if len(set(copies)) > 1}
    assert differing == {}


def test_nothing_was_dead_lettered(crashed):
    assert crashed.derived.values(topics.DEADLETTER.name) == []


def test_every_order_has_the_state_of_an_uninterrupted_run(crashed, crash_reference_run):
    # given every order of the stream, as the uninterrupted worker serves it
    before = crash_reference_run.views.orders
    assert len(before) > 5_000 and all(view is not None and view["order"] is not None for view in before.values())
    # then the crashed and restarted worker serves the same fold, deadline clocks,
    # escalations and repeat count for each
    differing = differing_fields(crashed.views.orders, before)
    assert not differing, _first_difference(differing, crashed.views.orders, before)


def _first_difference(differing: dict[str, list[str]], after: dict, before: dict) -> str:
    """What a failure report needs: how many orders differ, and how the first one does."""
    order_id, fields = next(iter(differing.items()))
    shown = {field: {"crashed": (after.get(order_id) or {}).get(field), "uninterrupted": before[order_id].get(field)} for field in fields if field != "order"}
    return f"{len(differing)} orders differ, e.g. {list(differing.items())[:5]}; {order_id}: {str(shown)[:3000]}"


def test_every_office_has_the_pressure_and_alerts_of_an_uninterrupted_run(crashed, crash_reference_run):
    before = crash_reference_run.views.offices
    assert len(before) > 50
    differing = differences(crashed.views.offices, before)
    assert (len(differing), sorted(differing)[:5]) == (0, [])


@dataclass(frozen=True)
class StaticMemberRun:
    derived: DerivedMessages
    recovery_seconds: float


@pytest.fixture(scope="module")
def static_member_crashed(reference_run, simulated_stream: SimulatedStream, tmp_path_factory) -> StaticMemberRun:
    """One kill -9 halfway through, of a worker that is a static group member, restarted
    under the same HOTLINE_GROUP_INSTANCE_ID."""
    pipeline = ReliabilityPipeline(tmp_path_factory.mktemp("crash-static"), "hotline-crash-static", {"HOTLINE_GROUP_INSTANCE_ID": "hotline-crash-static-1"})
    try:
        pipeline.start()
        pipeline.feed(simulated_stream)
        _wait_for_input_progress(pipeline, len(simulated_stream.lines()), 0.5)
        pipeline.kill_worker()
        recovery_seconds = _restart_and_time_recovery(pipeline)
        print(f"\nstatic member killed at 50% of the input committed: consuming again {recovery_seconds:.1f}s after the restart")
        pipeline.drain()
        return StaticMemberRun(pipeline.derived(), recovery_seconds)
    finally:
        pipeline.stop()


def test_a_restarted_static_member_takes_its_partitions_back_without_waiting_for_the_session_timeout(static_member_crashed):
    # A dynamic member restarted after kill -9 consumes again only once the group has
    # dropped the killed member (61-64 s in the recorded runs).
    assert static_member_crashed.recovery_seconds < SESSION_TIMEOUT_SECONDS


@pytest.mark.parametrize("spec", COMPARED, ids=lambda spec: spec.name)
def test_a_restarted_static_member_derives_the_events_of_an_uninterrupted_run(static_member_crashed, reference_run, spec):
    assert_same_event_ids(static_member_crashed.derived, reference_run, spec.name)
