"""More partitions, more workers: the simulated stream on topics of 8 partitions
(HOTLINE_PARTITIONS=8, `hotline topics create --partitions 8`), once into one worker and
once into three workers of one group, which join before the input arrives. The three
must give what the one gives: the same derived events, every order's state, deadlines,
repeats and escalations, and every office document, each view asked of one worker and
routed to the worker that owns the key. And the partition count changes no order's
result: the one worker on 8 partitions derives the screened events, case links,
deadlines and escalations the reference run on the default 4 derives. Pressure snapshots
are left out of that comparison: a quiet office gets an hourly snapshot when another
office's event on its partition passes the hour, so which hours it has depends on the
offices it shares a partition with (docs/delivery.md, "Known limits").
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from hotline.contract import topics
from support.reliability import assert_same_event_ids, differences, differing_fields, DerivedMessages, json_view, ReliabilityPipeline, Views

pytestmark = pytest.mark.timeout(1800)

PARTITIONS = 8
WORKERS = 3

# As in test_two_workers: alerts are left out (the clean runs of this stream raise none).
COMPARED = [topics.SCREENED, topics.DEADLINES, topics.CASES, topics.ESCALATIONS, topics.PRESSURE]


@dataclass(frozen=True)
class PartitionedRun:
    derived: DerivedMessages
    views: Views
    drained_seconds: float
    workers_alive: int
    input_lag_after: int
    partitions_by_topic: dict[str, int]


def _run(simulated_stream, directory, app_id: str, workers: int) -> PartitionedRun:
    pipeline = ReliabilityPipeline(directory, app_id, {"HOTLINE_PARTITIONS": str(PARTITIONS)})
    try:
        pipeline.start()
        for _ in range(workers - 1):
            pipeline.start_peer()
        pipeline.feed(simulated_stream)
        started = time.monotonic()
        pipeline.drain()
        drained_seconds = time.monotonic() - started
        print(f"\n{app_id}: {len(simulated_stream.lines())} events on {PARTITIONS} partitions, {workers} worker(s): drained in {drained_seconds:.0f}s")
        workers = [pipeline.worker, *pipeline.peers]
        # Each worker lists the offices it has seen; every order and office document is
        # asked of the first worker, which routes it to the owner.
        office_ids = sorted({office_id for worker in workers for office_id in Views.of(worker, []).offices})
        views = Views(
            orders=Views.of(pipeline.worker, simulated_stream.order_ids()).orders,
            offices={office_id: json_view(pipeline.worker, f"/offices/{office_id}/") for office_id in office_ids},
        )
        alive = sum(worker.process.poll() is None for worker in workers)
        return PartitionedRun(pipeline.derived(), views, drained_seconds, alive, pipeline.input_lag(), _partition_counts(pipeline.servers, app_id))
    finally:
        pipeline.stop()


def _partition_counts(servers: str, app_id: str) -> dict[str, int]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=servers)
    try:
        names = [spec.name for spec in topics.deployment_topics(app_id, PARTITIONS)]
        return {topic["name"]: len(topic["partitions"]) for topic in admin.describe_topics(names)}
    finally:
        admin.close()


@pytest.fixture(scope="module")
def one_worker(simulated_stream, tmp_path_factory) -> PartitionedRun:
    return _run(simulated_stream, tmp_path_factory.mktemp("partitions-one"), "hotline-partitions-one", workers=1)


@pytest.fixture(scope="module")
def three_workers(one_worker, simulated_stream, tmp_path_factory) -> PartitionedRun:
    return _run(simulated_stream, tmp_path_factory.mktemp("partitions-three"), "hotline-partitions-three", workers=WORKERS)


def test_every_stage_topic_has_the_deployment_count(three_workers):
    expected = {spec.name: spec.partitions for spec in topics.deployment_topics("hotline-partitions-three", PARTITIONS)}
    assert three_workers.partitions_by_topic == expected


def test_the_three_workers_keep_running_and_the_group_commits_the_whole_input(three_workers):
    assert (three_workers.workers_alive, three_workers.input_lag_after) == (WORKERS, 0)


@pytest.mark.parametrize("spec", COMPARED, ids=lambda spec: spec.name)
def test_three_workers_derive_the_events_of_one(three_workers, one_worker, spec):
    assert_same_event_ids(three_workers.derived, one_worker.derived, spec.name)


@pytest.mark.parametrize("spec", [topics.SCREENED, topics.DEADLINES, topics.CASES, topics.ESCALATIONS], ids=lambda spec: spec.name)
def test_eight_partitions_derive_the_events_of_four(one_worker, reference_run, spec):
    assert_same_event_ids(one_worker.derived, reference_run, spec.name)


def test_nothing_was_dead_lettered(three_workers):
    assert three_workers.derived.values(topics.DEADLETTER.name) == []


def test_every_order_has_the_state_deadlines_repeats_and_escalations_of_one_worker(three_workers, one_worker):
    assert len(one_worker.views.orders) > 1000 and all(view is not None and view["order"] is not None for view in one_worker.views.orders.values())
    differing = differing_fields(three_workers.views.order_states(), one_worker.views.order_states())
    first = sorted(differing)[:3]
    assert not differing, f"{len(differing)} orders differ, e.g. " + "; ".join(
        f"{order_id}: " + ", ".join(f"{name}={three_workers.views.orders[order_id]['order'].get(name)!r} (one worker: {one_worker.views.orders[order_id]['order'].get(name)!r})" for name in differing[order_id])
        for order_id in first
    )
    parts = ("deadlines", "repeat_count", "escalations")
    differing = differences(three_workers.views.order_parts(*parts), one_worker.views.order_parts(*parts))
    assert (len(differing), sorted(differing)[:5]) == (0, [])


def test_every_office_document_equals_one_workers(three_workers, one_worker):
    assert len(one_worker.views.offices) > 50
    differing = differences(three_workers.views.offices, one_worker.views.offices)
    assert not differing, f"{len(differing)} offices differ, e.g. " + "; ".join(
        f"{office_id}: " + ", ".join(sorted(key for key in set(after or {}) | set(before) if (after or {}).get(key) != before.get(key)))
        for office_id, (after, before) in sorted(differing.items())[:3]
    )
