"""Replaying history gives the same results at any speed.

The same simulated stream is replayed twice, each time into a broker and worker of its
own: once as fast as the broker takes it, once following the events' own timing sped
up (`hotline replay --speedup`). Each run ends as a replay of history does (`hotline
clock advance` to one second past the last event). Every derived topic must then hold
the same messages, key for key and value for value, in the same order per key; only
broker offsets and timestamps differ.

In `make test` the stream is one simulated day of the overload scenario at 1000x
(about 90 s); `make test-replay-speed` runs a simulated week at 100x (about 100 min):
HOTLINE_REPLAY_DAYS, HOTLINE_REPLAY_SPEEDUP and HOTLINE_REPLAY_APPEALS_PER_DAY set it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from hotline.cli.draining import consumed_topics
from hotline.contract import topics
from support.broker import ThrowawayBroker
from support.kafka import read_all, wait_until_drained
from support.worker import WorkerProcess

HOTLINE = str(Path(sys.executable).with_name("hotline"))
DAYS = int(os.environ.get("HOTLINE_REPLAY_DAYS", "1"))
SPEEDUP = float(os.environ.get("HOTLINE_REPLAY_SPEEDUP", "1000"))
APPEALS_PER_DAY = int(os.environ.get("HOTLINE_REPLAY_APPEALS_PER_DAY", "800"))
# The paced replay takes DAYS / SPEEDUP real days; the module's fixture holds both runs.
pytestmark = pytest.mark.timeout(int(2 * DAYS * 86400 / SPEEDUP) + 1800)
COMPARED = (topics.SCREENED, topics.CASES, topics.DEADLINES, topics.ESCALATIONS, topics.PRESSURE, topics.ALERTS, topics.DEADLETTER)
APP_ID = "hotline-speed"


@pytest.fixture(autouse=True)
def _needs_broker(kafka_broker):
    return kafka_broker


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("simulated")
    events, offices = directory / "events.jsonl", directory / "offices.jsonl"
    subprocess.run(
        [HOTLINE, "simulate", "--days", str(DAYS), "--seed", "5", "--scenario", "overload", "--start", "2026-03-02",
         "--appeals-per-day", str(APPEALS_PER_DAY), "--out", str(events), "--offices", str(offices)],
        check=True, capture_output=True, timeout=300,
    )
    return events, offices


def _run(directory: Path, events: Path, offices: Path, replay_options: list[str]) -> dict[str, list[tuple[int, bytes, bytes]]]:
    """Replay into a broker and worker of their own; every derived topic's messages."""
    broker = ThrowawayBroker()
    broker.start(APP_ID)
    env = {**broker.env, "HOTLINE_APP_ID": APP_ID}
    worker = WorkerProcess(directory / "worker.log", directory / "data", app_id=APP_ID, extra_env={"HOTLINE_BROKER": broker.bootstrap})
    try:
        worker.wait_ready()
        subprocess.run([HOTLINE, "offices", "load", str(offices)], env=env, check=True, capture_output=True, timeout=120)
        started = time.monotonic()
        subprocess.run([HOTLINE, "replay", "--quiet", *replay_options, str(events)], env=env, check=True, capture_output=True, timeout=4 * 3600)
        subprocess.run([HOTLINE, "clock", "advance", "--to-end-of", str(events), "--timeout", "3600"], env=env, check=True, capture_output=True, timeout=7200)
        wait_until_drained(APP_ID, consumed_topics(APP_ID), broker.bootstrap, 900)
        print(f"\n{' '.join(replay_options) or 'full speed'}: replayed and drained in {time.monotonic() - started:.0f}s")
        return {spec.name: [(r.partition, r.key, r.value) for r in read_all(spec.name, servers=broker.bootstrap)] for spec in COMPARED}
    finally:
        worker.stop()
        broker.stop()


@pytest.fixture(scope="module")
def runs(simulated, tmp_path_factory):
    events, offices = simulated
    full_speed = _run(tmp_path_factory.mktemp("full-speed"), events, offices, [])
    paced = _run(tmp_path_factory.mktemp("paced"), events, offices, ["--speedup", str(SPEEDUP)])
    for spec in COMPARED:
        print(f"{spec.name}: {len(full_speed[spec.name])} messages at full speed, {len(paced[spec.name])} at {SPEEDUP:g}x")
    return full_speed, paced


def _per_key(messages: list[tuple[int, bytes, bytes]]) -> dict[bytes, list[bytes]]:
    sequences: dict[bytes, list[bytes]] = defaultdict(list)
    for _, key, value in messages:
        sequences[key].append(value)
    return dict(sequences)


@pytest.mark.parametrize("spec", COMPARED, ids=[spec.name for spec in COMPARED])
def test_a_topic_holds_the_same_messages_in_the_same_order_per_key_at_any_speed(runs, spec):
    full_speed, paced = (run[spec.name] for run in runs)
    assert Counter((p, k, v) for p, k, v in full_speed) == Counter((p, k, v) for p, k, v in paced)
    assert _per_key(full_speed) == _per_key(paced)


def test_the_run_produced_deadlines_and_escalations_to_compare(runs):
    full_speed, _ = runs
    assert len(full_speed[topics.DEADLINES.name]) > 100
    assert len(full_speed[topics.ESCALATIONS.name]) > 5
