"""A live worker against a broker of its own: idle partitions follow the wall clock, so
merges come out while some partitions receive nothing; and a live worker fed a historic
file says so and leaves its clocks to the events instead of moving them to now."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from hotline.cli.draining import consumed_topics
from hotline.contract import codec, topics
from hotline.core.timeutil import parse_rfc3339
from kafka.partitioner.default import murmur2
from support.broker import ThrowawayBroker
from support.kafka import produce, read_all, wait_until_drained
from support.worker import WorkerProcess

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "data" / "samples" / "demo-events.jsonl"
OFFICES = ROOT / "data" / "offices" / "demo-offices.jsonl"
HOTLINE = str(Path(sys.executable).with_name("hotline"))
APP_ID = "hotline-live"
IDLE_ADVANCE_SECONDS = 3
# Start-up of the merges downstream, promises twice a second, a loaded 2-core machine.
SLACK_SECONDS = 25
# An emergency noise appeal of the simulated city, accepted by its screening rules.
EMERGENCY_APPEAL = "GD2026030200044-01"
COMMUNITY = "d01-s01-c02"
STREET = "d01-s01"


def _partition(order_id: str) -> int:
    """The partition the producers here (and Faust's) give a key: Kafka's murmur2."""
    return (murmur2(order_id.encode()) & 0x7FFFFFFF) % topics.DEFAULT_PARTITIONS


class LivePipeline:
    def __init__(self, directory: Path, extra_env: dict[str, str], worker_args: tuple[str, ...] = ()):
        self.broker = ThrowawayBroker()
        self.broker.start(APP_ID)
        self.hotline("offices", "load", str(OFFICES))
        self.worker = WorkerProcess(
            directory / "worker.log",
            directory / "data",
            app_id=APP_ID,
            extra_env={"HOTLINE_BROKER": self.broker.bootstrap, **extra_env},
            worker_args=worker_args,
        )

    def hotline(self, *args: str) -> subprocess.CompletedProcess:
        env = {**self.broker.env, "HOTLINE_APP_ID": APP_ID}
        return subprocess.run([HOTLINE, *args], env=env, capture_output=True, timeout=300, check=True)

    def values(self, spec: topics.TopicSpec) -> list[dict]:
        return [codec.decode(record.value) for record in read_all(spec.name, servers=self.broker.bootstrap)]

    def metric(self, name: str, **labels: str) -> float:
        return sum(v for (n, l), v in self.worker.metrics().items() if n == name and all(dict(l).get(k) == x for k, x in labels.items()))

    def stop(self) -> None:
        self.worker.stop()
        self.broker.stop()


@pytest.fixture
def live_pipeline(kafka_broker, tmp_path):
    pipelines: list[LivePipeline] = []

    def start(extra_env: dict[str, str], worker_args: tuple[str, ...] = ()) -> LivePipeline:
        pipeline = LivePipeline(tmp_path, extra_env, worker_args)
        pipelines.append(pipeline)
        pipeline.worker.wait_ready()
        return pipeline

    yield start
    for pipeline in pipelines:
        pipeline.stop()


def _at(instant: datetime) -> str:
    return instant.astimezone(timezone(timedelta(hours=8))).isoformat(timespec="seconds")


def _order(order_id: str, appeal: dict, received_at: datetime) -> list[dict]:
    received = {**appeal, "event_id": f"{order_id}-01", "order_id": order_id, "occurred_at": _at(received_at)}
    dispatched = {
        "event_id": f"{order_id}-02",
        "type": "order.dispatched",
        "order_id": order_id,
        "occurred_at": _at(received_at + timedelta(seconds=1)),
        "schema": 1,
        "data": {"office_id": COMMUNITY},
    }
    return [received, dispatched]


def _wait_for(pipeline: LivePipeline, spec: topics.TopicSpec, predicate, deadline: float) -> dict:
    while time.monotonic() < deadline:
        found = [value for value in pipeline.values(spec) if predicate(value)]
        if found:
            return found[0]
        time.sleep(0.5)
    raise AssertionError(f"nothing matching on {spec.name} in time:\n{pipeline.worker.log_text()[-3000:]}")


def test_live_worker_sends_links_escalations_and_snapshots_while_partitions_stay_silent(live_pipeline):
    # given a live worker (the --live flag) that moves idle partitions 3 s behind the wall clock
    pipeline = live_pipeline({"HOTLINE_IDLE_ADVANCE_SECONDS": str(IDLE_ADVANCE_SECONDS)}, ("--live",))
    assert pipeline.metric("hotline_worker_info", time_mode="live", idle_advance_seconds=str(IDLE_ADVANCE_SECONDS)) == 1
    assert f"hotline worker: live mode: idle partitions follow the wall clock less {IDLE_ADVANCE_SECONDS} s" in pipeline.worker.log_text()
    # and an emergency appeal, then the same caller's resubmission a minute later, just now,
    # on two partitions: the two others receive nothing
    appeal = next(orjson.loads(line) for line in EVENTS.read_text().splitlines() if EMERGENCY_APPEAL in line)
    first, repeat = "LIVE-A", "LIVE-B"
    assert sorted({_partition(first), _partition(repeat)}) == [0, 1]
    now = datetime.now(tz=timezone.utc)
    events = _order(first, appeal, now - timedelta(seconds=60)) + _order(repeat, appeal, now - timedelta(seconds=2))

    # when they are produced
    produce(topics.EVENTS.name, [(e["order_id"].encode(), orjson.dumps(e)) for e in events], servers=pipeline.broker.bootstrap)
    fed_at = time.monotonic()
    deadline = fed_at + IDLE_ADVANCE_SECONDS + SLACK_SECONDS

    # then the case link, the escalation and the community's pressure snapshot come out
    # once the wall clock less the idle advance has passed them, silent partitions or not
    link = _wait_for(pipeline, topics.CASES, lambda v: v["type"] == "case.linked", deadline)
    escalation = _wait_for(pipeline, topics.ESCALATIONS, lambda v: v["type"] == "escalation.raised" and v["order_id"] == first, deadline)
    snapshot = _wait_for(pipeline, topics.PRESSURE, lambda v: v["office_id"] == COMMUNITY, deadline)
    assert (link["order_id"], link["matched_order_id"], link["relation"]) == (repeat, first, "exact_resubmission")
    assert (escalation["reason"], escalation["from_office_id"], escalation["to_office_id"], escalation["to_level"]) == (
        "emergency_urgency",
        COMMUNITY,
        STREET,
        "street",
    )
    # the snapshot of the hour the first dispatch fell in, taken as that fact was counted
    first_dispatch_seconds = (now - timedelta(seconds=59)).timestamp()
    assert parse_rfc3339(snapshot["bucket_started_at"]).timestamp() == first_dispatch_seconds // 3600 * 3600
    assert time.monotonic() - fed_at <= IDLE_ADVANCE_SECONDS + SLACK_SECONDS
    assert pipeline.metric("hotline_messages_consumed_total", topic=f"{APP_ID}-clock-ticks") > 0
    assert pipeline.metric("hotline_idle_ticks_withheld_total", reason="historic_input") == 0
    assert "live mode: the input is current: idle partitions follow the wall clock less 3 s" in pipeline.worker.log_text()


def test_live_worker_fed_a_historic_file_warns_once_and_leaves_the_clocks_to_the_events(live_pipeline):
    # given a live worker (HOTLINE_TIME_MODE) and a file of events from months ago
    pipeline = live_pipeline({"HOTLINE_TIME_MODE": "live", "HOTLINE_IDLE_ADVANCE_SECONDS": str(IDLE_ADVANCE_SECONDS)})
    history = pipeline.worker.log_path.with_name("history.jsonl")
    history.write_text("\n".join(EVENTS.read_text().splitlines()[:400]) + "\n")
    last_event_at = max(parse_rfc3339(orjson.loads(line)["occurred_at"]) for line in history.read_text().splitlines())
    assert datetime.now(tz=timezone.utc) - last_event_at > timedelta(days=2)

    # when the file is replayed into it, and several tick intervals pass
    pipeline.hotline("replay", "--quiet", str(history))
    consumed = consumed_topics(APP_ID)
    wait_until_drained(APP_ID, consumed, pipeline.broker.bootstrap, timeout_seconds=90)
    time.sleep(3 * IDLE_ADVANCE_SECONDS)

    # then it says once that the input is historic, counts the ticks it holds back and
    # sends none, and no deadline fires past the last event of the file
    log = pipeline.worker.log_text()
    assert log.count("live mode: the input is historic (newest event time 2026-03-0") == 1, log[-3000:]
    assert "idle partitions are not moved to the wall clock until current input is read" in log
    withheld = pipeline.metric("hotline_idle_ticks_withheld_total", reason="historic_input")
    assert withheld >= 2 * topics.DEFAULT_PARTITIONS and withheld % topics.DEFAULT_PARTITIONS == 0
    assert pipeline.metric("hotline_messages_consumed_total", topic=f"{APP_ID}-clock-ticks") == 0
    # (whether any deadline fires at all depends on how fast the file arrived: a stage
    # promises its clock at most every 0.5 s, so the end of a burst waits for a tick)
    deadlines = pipeline.values(topics.DEADLINES)
    assert [d["occurred_at"] for d in deadlines if parse_rfc3339(d["occurred_at"]) > last_event_at] == []
