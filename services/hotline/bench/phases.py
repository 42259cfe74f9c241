"""The measuring phases of `hotline bench`, each against the same broker and input events.

Consumes a `Bench` (broker address, work directory, the pre-produced simulated events and
where they start on hotline.events.v1) and produces one plain dict of figures per phase:
Kafka's own consumer, a raw aiokafka passthrough, a forward-only Faust agent, the full
pipeline with one and two workers (each with the Kafka messages an input event costs it),
the pure chain offline on the same events, end-to-end latency at offered rates, and memory.
Alongside, the cores each party kept busy: the producer of the input and the broker
while it took the input, the workers and the broker during each drain.

Every consumer group is fresh (its name carries the run id) and is given its start
offsets before it starts: the input where the pre-produced events begin, and the end of
the shared derived topics (hotline.screened.v1, hotline.cases.v1) that earlier pipelines
of this run have written, so each pipeline processes exactly its own work.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Protocol, Sequence

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from hotline.bench import offline_chain, stats
from hotline.cli.draining import consumed_topics
from hotline.bench.broker import kafka_libs_dir
from hotline.bench.kafka_io import Probe, commit_offsets, create_topics, produce_events
from hotline.bench.processes import ManagedProcess, cpu_seconds, free_port, own_cpu_seconds, status_bytes
from hotline.contract import codec, topics
from hotline.sim import SimulationSpec, encode_lines, simulate

HOTLINE = str(Path(sys.executable).with_name("hotline"))
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
PASSTHROUGH_SINK = "hotline-bench-passthrough"
FORWARD_SINK = "hotline-bench-forwarded"
SHARED_DERIVED_INPUTS = (topics.CASES.name,)  # read by every app's orders stage
SCREEN_OUTPUTS = (topics.SCREENED.name, topics.DEADLETTER.name)  # every input lands on one of them
LATENCY_TOPICS = (topics.SCREENED.name, topics.CASES.name, topics.DEADLINES.name)
POLL_SECONDS = 0.2
# After the input lag reached 0, how long the downstream stages may take to drain: the
# end-to-end rate waits for them.
FULL_DRAIN_CAP_SECONDS = 600
INPUT_TOPIC_NAMES = tuple(spec.name for spec in topics.INPUT_TOPICS)
SIMULATED_EVENTS_PER_DAY = 4000  # a lower bound at the default 800 appeals per working day
DEDUPE_DAYS = 30
# The orders-table city: two days of a large city, read at the end of the second day,
# when the orders received in those two days and not yet closed are open. About 230 000
# events and 43 000 open orders at 24 000 appeals per working day: a 75 s replay here.
ORDERS_MEMORY_DAYS = 2
ORDERS_MEMORY_APPEALS_PER_DAY = 24_000
ORDERS_MEMORY_START = date(2026, 1, 5)
ASSIGNMENT_DONE = "[^---Recovery]: Worker ready"  # a Faust worker's log line after each assignment
EXTERNAL_BROKER = "the broker was given with --broker: its process is not the bench's to read"


class Reporter(Protocol):
    def step(self, description: str, total: int | None = None) -> None: ...

    def advance(self, completed: int, **fields: object) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class Bench:
    bootstrap: str
    work_dir: Path
    run_id: str
    reporter: Reporter
    input_events: list[dict] = field(default_factory=list)
    latency_pool: list[dict] = field(default_factory=list)
    offices: list[dict] = field(default_factory=list)
    input_start: dict[TopicPartition, int] = field(default_factory=dict)
    probe: Probe | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    broker_pid: int | None = None
    broker_pid_missing_reason: str = EXTERNAL_BROKER

    def broker_cpu_seconds(self) -> float | None:
        return None if self.broker_pid is None else cpu_seconds(self.broker_pid)

    def broker_unmeasured_reason(self, *readings: float | None) -> str | None:
        """Why the broker's CPU figures are null, None when every reading succeeded."""
        if self.broker_pid is None:
            return self.broker_pid_missing_reason
        if any(reading is None for reading in readings):
            return f"/proc/{self.broker_pid}/stat of the broker could not be read"
        return None

    @property
    def env(self) -> dict[str, str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        return {**clean, "HOTLINE_BROKER": self.bootstrap}

    def start_process(self, name: str, command: list[str], env: dict[str, str]) -> ManagedProcess:
        process = ManagedProcess(name, command, env, self.work_dir / f"{name}.log")
        self.processes.append(process)
        return process

    def stop_processes(self) -> None:
        while self.processes:
            self.processes.pop().stop()


# --- setup ---------------------------------------------------------------------------


def simulated_events(count: int, seed: int, start: date) -> tuple[list[dict], list[dict]]:
    """At least `count` simulated events in event-time order, and the city's offices."""
    days = max(2, count // SIMULATED_EVENTS_PER_DAY + 2)
    while True:
        simulation = simulate(SimulationSpec(days=days, seed=seed, start=start))
        if len(simulation.events) >= count:
            return list(simulation.events[:count]), list(simulation.offices)
        days *= 2


def prepare(bench: Bench, events: int, latency_events: int, seed: int) -> dict:
    """Simulate, create the topics, load the offices and pre-produce the input events."""
    reporter = bench.reporter
    reporter.step("simulating the city")
    started = time.perf_counter()
    pool, bench.offices = simulated_events(events + latency_events, seed, date(2026, 1, 5))
    bench.input_events, bench.latency_pool = pool[:events], pool[events:]
    simulate_seconds = time.perf_counter() - started
    reporter.step("creating topics, loading offices")
    hotline_command(bench, "bench-setup", "topics", "create")
    create_topics(bench.bootstrap, (PASSTHROUGH_SINK, FORWARD_SINK))
    offices_path = bench.work_dir / "offices.jsonl"
    offices_path.write_bytes(encode_lines(bench.offices))
    hotline_command(bench, "bench-setup", "offices", "load", str(offices_path))
    bench.probe = Probe(bench.bootstrap)
    bench.input_start = bench.probe.end_offsets([topics.EVENTS.name])
    reporter.step("pre-producing the input events", total=events)
    broker_cpu_before = bench.broker_cpu_seconds()
    producer_cpu_before = own_cpu_seconds()
    produce_started = time.monotonic()
    produce_seconds = produce_events(bench.bootstrap, topics.EVENTS.name, bench.input_events, reporter.advance)
    producer_wall_seconds = time.monotonic() - produce_started
    producer_cpu_seconds = own_cpu_seconds() - producer_cpu_before
    broker_cpu_after = bench.broker_cpu_seconds()
    broker_cpu_seconds = stats.cpu_seconds_between(broker_cpu_before, broker_cpu_after)
    return {
        "events": events,
        "simulated_days": _days_spanned(bench.input_events),
        "simulate_seconds": round(simulate_seconds, 2),
        "produce_events_per_second": round(events / produce_seconds, 1),
        "producer_wall_seconds": round(producer_wall_seconds, 2),
        "producer_cpu_seconds": round(producer_cpu_seconds, 2),
        "producer_cores": _rounded(stats.cores(producer_cpu_seconds, producer_wall_seconds)),
        "broker_cpu_seconds_during_produce": _rounded(broker_cpu_seconds),
        "broker_cores_during_produce": _rounded(stats.cores(broker_cpu_seconds, producer_wall_seconds)),
        "broker_cpu_unmeasured_reason": bench.broker_unmeasured_reason(broker_cpu_before, broker_cpu_after),
        "producer_method": "the bench process itself produces (kafka-python, encoding each event with the contract codec): "
        "its user + system CPU time (os.times, all threads, its progress display included) over the wall time "
        "from creating the producer to the broker acknowledging every event; the broker's utime + stime from "
        "/proc/<pid>/stat over the same window",
        "offices": len(bench.offices),
        "orders": stats_orders(bench.input_events),
    }


def _days_spanned(events: Sequence[dict]) -> float:
    from hotline.core.timeutil import parse_rfc3339

    first = parse_rfc3339(events[0]["occurred_at"]).timestamp()
    last = parse_rfc3339(events[-1]["occurred_at"]).timestamp()
    return round((last - first) / 86400, 1)


def stats_orders(events: Sequence[dict]) -> dict[str, int]:
    orders = {event["order_id"] for event in events}
    closed = {event["order_id"] for event in events if event["type"] == "order.closed"}
    return {"orders": len(orders), "closed": len(closed), "open": len(orders - closed)}


def hotline_command(bench: Bench, app_id: str, *args: str) -> None:
    result = subprocess.run(
        [HOTLINE, *args], env={**bench.env, "HOTLINE_APP_ID": app_id}, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        raise RuntimeError(f"hotline {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")


# --- (a) Kafka's own consumer ----------------------------------------------------------


def kafka_consumer_baseline(bench: Bench) -> dict:
    """org.apache.kafka.tools.ConsumerPerformance over the pre-produced events."""
    bench.reporter.step("baseline (a): Kafka ConsumerPerformance")
    group = f"{bench.run_id}-kafka-perf"
    commit_offsets(bench.bootstrap, group, bench.input_start)
    command = [
        "java", "-Xms128m", "-Xmx512m", "-cp", f"{kafka_libs_dir()}/*",
        "org.apache.kafka.tools.ConsumerPerformance",
        "--bootstrap-server", bench.bootstrap, "--topic", topics.EVENTS.name,
        "--num-records", str(len(bench.input_events)), "--group", group, "--timeout", "60000",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"ConsumerPerformance failed ({result.returncode}):\n{result.stderr[-3000:]}")
    figures = parse_consumer_performance(result.stdout)
    return {
        "tool": "org.apache.kafka.tools.ConsumerPerformance",
        "events": int(figures["data.consumed.in.nMsg"]),
        # fetch.nMsg.sec leaves out the group join, like the other figures here leave
        # out worker start-up.
        "events_per_second": float(figures["fetch.nMsg.sec"]),
        "events_per_second_with_group_join": float(figures["nMsg.sec"]),
    }


def parse_consumer_performance(output: str) -> dict[str, str]:
    """The header and value lines of ConsumerPerformance as {column: value}."""
    lines = [line for line in output.splitlines() if line.strip()]
    header_index = next(i for i, line in enumerate(lines) if line.startswith("start.time"))
    names = [name.strip() for name in lines[header_index].split(",")]
    values = [value.strip() for value in lines[header_index + 1].split(",")]
    return dict(zip(names, values))


# --- (b) raw aiokafka passthrough ----------------------------------------------------------


def aiokafka_passthrough(bench: Bench) -> dict:
    bench.reporter.step("baseline (b): aiokafka passthrough", total=len(bench.input_events))
    group = f"{bench.run_id}-aiokafka"
    elapsed_seconds, forwarded = asyncio.run(_passthrough(bench, group))
    return {
        "events": forwarded,
        "events_per_second": round(forwarded / elapsed_seconds, 1),
        "method": "getmany(max_records=2000) -> producer.send per record without awaiting delivery; "
        "deliveries awaited per 20 000 and at the end, then one commit; timed from first record to the commit",
    }


async def _passthrough(bench: Bench, group: str) -> tuple[float, int]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    expected = len(bench.input_events)
    consumer = AIOKafkaConsumer(bootstrap_servers=bench.bootstrap, group_id=group, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=bench.bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        consumer.assign(list(bench.input_start))
        for tp, offset in bench.input_start.items():
            consumer.seek(tp, offset)
        forwarded = 0
        first_at = None
        deliveries: list[asyncio.Future] = []
        deadline = time.monotonic() + 600
        while forwarded < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=2000)
            for records in batches.values():
                for record in records:
                    deliveries.append(await producer.send(PASSTHROUGH_SINK, record.value, key=record.key))
                forwarded += len(records)
            if first_at is None and forwarded:
                first_at = time.monotonic()
            if len(deliveries) >= 20000:
                await asyncio.gather(*deliveries)
                deliveries.clear()
            bench.reporter.advance(forwarded)
        await asyncio.gather(*deliveries)
        await consumer.commit()
        return time.monotonic() - (first_at or time.monotonic()), forwarded
    finally:
        await consumer.stop()
        await producer.stop()


# --- draining the pre-produced events: (c) and the full pipeline --------------------------


@dataclass
class Drain:
    """Times (seconds since the processes were started) and samples of one drain."""

    first_output_seconds: float | None = None
    lag_zero_seconds: float | None = None
    outputs_complete_seconds: float | None = None
    all_stages_drained_seconds: float | None = None
    rss_at_first_output: dict[int, int] = field(default_factory=dict)
    rss_at_lag_zero: dict[int, int] = field(default_factory=dict)
    peak_rss: dict[int, int] = field(default_factory=dict)
    cpu_seconds_during_drain: dict[int, float] = field(default_factory=dict)
    # From the first output until every stage had drained: the work the whole input cost.
    cpu_seconds_to_all_stages_drained: dict[int, float] = field(default_factory=dict)
    broker_cpu_seconds_during_drain: float | None = None
    broker_cpu_unmeasured_reason: str | None = None

    def events_per_second(self, events: int) -> float | None:
        if self.first_output_seconds is None or self.lag_zero_seconds is None:
            return None
        return stats.rate_per_second(events, self.lag_zero_seconds - self.first_output_seconds)

    def outputs_events_per_second(self, events: int) -> float | None:
        """Input events over the time from the first output until the outputs numbered
        the input events (for an agent that writes one output per input)."""
        if self.first_output_seconds is None or self.outputs_complete_seconds is None:
            return None
        return stats.rate_per_second(events, self.outputs_complete_seconds - self.first_output_seconds)

    def end_to_end_events_per_second(self, events: int) -> float | None:
        """Input events over the time from the first output until every stage had drained."""
        if self.first_output_seconds is None or self.all_stages_drained_seconds is None:
            return None
        return stats.rate_per_second(events, self.all_stages_drained_seconds - self.first_output_seconds)

    def to_dict(self, events: int) -> dict:
        rate = self.events_per_second(events)
        end_to_end = self.end_to_end_events_per_second(events)
        # Cores are CPU seconds over the same window as the rate: first output to input lag 0.
        drain_seconds = _difference(self.lag_zero_seconds, self.first_output_seconds)
        worker_cpu_seconds = sum(self.cpu_seconds_during_drain.values()) if self.cpu_seconds_during_drain else None
        all_drained = self.cpu_seconds_to_all_stages_drained
        end_to_end_cpu_seconds = sum(all_drained.values()) if all_drained and self.all_stages_drained_seconds is not None else None
        return {
            "events": events,
            "events_per_second": None if rate is None else round(rate, 1),
            "events_per_second_method": "screened rate: input events / (first output on the stage's output topics -> "
            "the group's committed lag on hotline.events.v1 reaching 0, polled 5 times a second; commits every 2.8 s)",
            "end_to_end_events_per_second": None if end_to_end is None else round(end_to_end, 1),
            "end_to_end_method": "input events / (first output -> the group's committed lag reaching 0 on every "
            "topic it reads (a pipeline's: the input, hotline.screened.v1, hotline.cases.v1, its stage-to-stage topics); polled "
            "5 times a second; commits every 2.8 s); null when the stages did not drain within the cap",
            "start_up_seconds": _rounded(self.first_output_seconds),
            "first_output_to_input_lag_zero_seconds": _rounded(_difference(self.lag_zero_seconds, self.first_output_seconds)),
            "first_output_to_all_outputs_seconds": _rounded(_difference(self.outputs_complete_seconds, self.first_output_seconds)),
            "first_output_to_all_stages_drained_seconds": _rounded(_difference(self.all_stages_drained_seconds, self.first_output_seconds)),
            "cpu_seconds_per_1000_events": _rounded(None if worker_cpu_seconds is None else worker_cpu_seconds / events * 1000),
            "end_to_end_cpu_seconds_per_1000_events": _rounded(None if end_to_end_cpu_seconds is None else end_to_end_cpu_seconds / events * 1000),
            "end_to_end_worker_cores": _rounded(stats.cores(end_to_end_cpu_seconds, _difference(self.all_stages_drained_seconds, self.first_output_seconds))),
            "drain_wall_seconds": _rounded(drain_seconds),
            "worker_cpu_seconds_during_drain": _rounded(worker_cpu_seconds),
            "worker_cores_during_drain": _rounded(stats.cores(worker_cpu_seconds, drain_seconds)),
            "worker_cores_during_drain_each": [_rounded(stats.cores(seconds, drain_seconds)) for seconds in self.cpu_seconds_during_drain.values()],
            "broker_cpu_seconds_during_drain": _rounded(self.broker_cpu_seconds_during_drain),
            "broker_cores_during_drain": _rounded(stats.cores(self.broker_cpu_seconds_during_drain, drain_seconds)),
            "broker_cpu_unmeasured_reason": self.broker_cpu_unmeasured_reason,
            "cores_method": "utime + stime (/proc/<pid>/stat, all threads) of each worker and of the throwaway "
            "broker's JVM, read at the first output and when the input lag reached 0, divided by that wall time; "
            "the broker also serves the bench's lag probe (5 polls a second) meanwhile",
        }


def _difference(later: float | None, earlier: float | None) -> float | None:
    return None if later is None or earlier is None else later - earlier


def _rounded(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def measure_drain(
    bench: Bench,
    group: str,
    processes: Sequence[ManagedProcess],
    outputs: Sequence[str],
    full_drain_cap_seconds: float,
    on_first_output: Callable[[], None] | None = None,
) -> Drain:
    """Watch a group drain the pre-produced events: the first output marks the first
    consumption; the group's committed lag on the input reaching 0 marks the end (Faust
    commits every 2.8 s, so the end is late by up to that); then, up to a cap, until every
    topic the group reads is drained (the downstream stages)."""
    probe = bench.probe
    expected = len(bench.input_events)
    outputs_before = probe.end_total(outputs)
    started = time.monotonic()
    drain = Drain()
    cpu_at_first: dict[int, float] = {}
    broker_cpu_at_first: float | None = None
    deadline = started + 1800
    while drain.lag_zero_seconds is None:
        for process in processes:
            process.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"group {group} did not drain {expected} events in {deadline - started:.0f}s")
        now = time.monotonic() - started
        produced = probe.end_total(outputs) - outputs_before
        if drain.first_output_seconds is None and produced > 0:
            drain.first_output_seconds = now
            drain.rss_at_first_output = {p.pid: status_bytes(p.pid, "VmRSS") or 0 for p in processes}
            cpu_at_first = {p.pid: cpu_seconds(p.pid) or 0.0 for p in processes}
            broker_cpu_at_first = bench.broker_cpu_seconds()
            if on_first_output is not None:
                on_first_output()
        if drain.outputs_complete_seconds is None and produced >= expected:
            drain.outputs_complete_seconds = now
        if drain.first_output_seconds is not None:
            lag = probe.lag(group, [topics.EVENTS.name])
            bench.reporter.advance(max(0, expected - lag) if lag >= 0 else 0, outputs=produced)
            if lag == 0:
                drain.lag_zero_seconds = now
                drain.rss_at_lag_zero = {p.pid: status_bytes(p.pid, "VmRSS") or 0 for p in processes}
                drain.cpu_seconds_during_drain = {p.pid: (cpu_seconds(p.pid) or 0.0) - cpu_at_first[p.pid] for p in processes}
                broker_cpu_at_lag_zero = bench.broker_cpu_seconds()
                drain.broker_cpu_seconds_during_drain = stats.cpu_seconds_between(broker_cpu_at_first, broker_cpu_at_lag_zero)
                drain.broker_cpu_unmeasured_reason = bench.broker_unmeasured_reason(broker_cpu_at_first, broker_cpu_at_lag_zero)
        time.sleep(POLL_SECONDS)
    full_deadline = time.monotonic() + full_drain_cap_seconds
    while time.monotonic() < full_deadline:
        if drain.outputs_complete_seconds is None and probe.end_total(outputs) - outputs_before >= expected:
            drain.outputs_complete_seconds = time.monotonic() - started
        if probe.lag(group) == 0:
            drain.all_stages_drained_seconds = time.monotonic() - started
            drain.cpu_seconds_to_all_stages_drained = {p.pid: (cpu_seconds(p.pid) or 0.0) - cpu_at_first.get(p.pid, 0.0) for p in processes}
            break
        time.sleep(POLL_SECONDS)
    drain.peak_rss = {p.pid: status_bytes(p.pid, "VmHWM") or 0 for p in processes}
    return drain


def faust_forward_baseline(bench: Bench) -> dict:
    """(c) with Faust's own consumer; alongside, the same agent with hotline's consumer
    (hotline.stream.consumer) and the batched agent, measured in the same run."""
    result = _faust_forward(bench, "per-message", "faust", "baseline (c): Faust forward-only agent")
    result["project_consumer"] = _faust_forward(bench, "per-message", "hotline", "baseline (c'): the same agent, hotline's consumer")
    result["batched"] = faust_forward_batched(bench)
    return result


def faust_forward_batched(bench: Bench) -> dict:
    return _faust_forward(bench, "batched", "hotline", "baseline (c''): batched forward-only agent, hotline's consumer")


def _faust_forward(bench: Bench, mode: str, consumer: str, description: str) -> dict:
    bench.reporter.step(description, total=len(bench.input_events))
    app_id = f"{bench.run_id}-forward-{mode}-{consumer}"
    commit_offsets(bench.bootstrap, app_id, bench.input_start)
    env = {
        **bench.env,
        "HOTLINE_BENCH_APP_ID": app_id,
        "HOTLINE_BENCH_SOURCE": topics.EVENTS.name,
        "HOTLINE_BENCH_SINK": FORWARD_SINK,
        "HOTLINE_BENCH_FORWARD": mode,
        "HOTLINE_BENCH_CONSUMER": consumer,
        "HOTLINE_WEB_PORT": str(free_port()),
        "HOTLINE_DATA_DIR": str(bench.work_dir / app_id),
    }
    process = bench.start_process("forwarder", [sys.executable, "-m", "hotline.bench.forwarder", "worker", "-l", "warn"], env)
    try:
        drain = measure_drain(bench, app_id, [process], [FORWARD_SINK], full_drain_cap_seconds=15)
    finally:
        bench.stop_processes()
    return {**forwarder_figures(drain, len(bench.input_events)), "agent": mode, "consumer": consumer}


def forwarder_figures(drain: Drain, events: int) -> dict:
    """A forwarder's drain, its rate timed to its last output as the passthrough's is timed
    to its last delivery; the rate to its committed lag 0 beside it. A forwarder writes one
    output per input, so the outputs tell when it was done: its commits, every 2.8 s,
    would add up to that to a drain of a second or two (20 000 events at 15 000/s)."""
    figures = drain.to_dict(events)
    to_outputs = drain.outputs_events_per_second(events)
    return {
        **figures,
        "events_per_second": None if to_outputs is None else round(to_outputs, 1),
        "events_per_second_method": "input events / (first output on the sink -> the sink holding one output per "
        "input event, polled 5 times a second)",
        "committed_lag_events_per_second": figures["events_per_second"],
        "committed_lag_events_per_second_method": "input events / (first output on the sink -> the group's committed "
        "lag on the input reaching 0, polled 5 times a second; commits every 2.8 s)",
    }


def _start_pipeline_workers(bench: Bench, app_id: str, workers: int, input_start: dict[TopicPartition, int]) -> list[ManagedProcess]:
    hotline_command(bench, app_id, "topics", "create")
    start = dict(input_start)
    start.update(bench.probe.end_offsets(SHARED_DERIVED_INPUTS))
    commit_offsets(bench.bootstrap, app_id, start)
    processes = []
    for number in range(1, workers + 1):
        env = {
            **bench.env,
            "HOTLINE_APP_ID": app_id,
            "HOTLINE_WEB_PORT": str(free_port()),
            "HOTLINE_DATA_DIR": str(bench.work_dir / f"{app_id}-{number}"),
        }
        processes.append(bench.start_process(f"{app_id}-worker-{number}", [HOTLINE, "worker", "-l", "info"], env))
    return processes


def _wait_until_group_settled(processes: Sequence[ManagedProcess], quiet_seconds: float = 5.0, timeout_seconds: float = 180.0) -> None:
    """Until every worker has finished an assignment and none has started another for
    `quiet_seconds`: the group's rebalances are over."""
    deadline = time.monotonic() + timeout_seconds
    last_counts: list[int] = []
    settled_since = time.monotonic()
    while time.monotonic() < deadline:
        for process in processes:
            process.check_alive()
        counts = [process.log_path.read_text(errors="replace").count(ASSIGNMENT_DONE) for process in processes]
        if counts != last_counts:
            last_counts, settled_since = counts, time.monotonic()
        elif all(counts) and time.monotonic() - settled_since >= quiet_seconds:
            return
        time.sleep(0.3)
    raise RuntimeError(f"the group did not settle within {timeout_seconds:.0f}s")


def full_pipeline(bench: Bench, workers: int, profile_path: Path | None = None, run_number: int = 1) -> tuple[dict, Drain]:
    """`hotline worker` x `workers` (one app id, its own for each `run_number`) draining a
    copy of the simulated events.

    The workers join the group before their input arrives: a rebalance that lands on a
    worker busy with a backlog (the second worker joining) can leave Faust unable to
    commit a partition again (docs/BENCHMARKS.md), and the drain would never end. So the
    group starts at the end of the input, and once it has settled the events are
    produced again; the pipeline drains far slower than they are produced."""
    bench.reporter.step(f"full pipeline, {workers} worker{'s' if workers > 1 else ''}", total=len(bench.input_events))
    app_id = f"{bench.run_id}-pipeline-{workers}w" + ("" if run_number == 1 else f"-run{run_number}")
    processes = _start_pipeline_workers(bench, app_id, workers, bench.probe.end_offsets([topics.EVENTS.name]))
    _wait_until_group_settled(processes)
    # Produced while the drain is watched, so the drain's clock sees the first output.
    producer = threading.Thread(target=produce_events, args=(bench.bootstrap, topics.EVENTS.name, bench.input_events), daemon=True)
    offsets_before = bench.probe.end_totals_by_topic()
    producer.start()
    profiler: list[subprocess.Popen] = []

    def start_profiler() -> None:
        if profile_path is not None:
            command = [PY_SPY, "record", "--pid", str(processes[0].pid), "--rate", "100", "--format", "speedscope", "--output", str(profile_path)]
            log = open(bench.work_dir / "py-spy.log", "wb")
            profiler.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))

    try:
        drain = measure_drain(bench, app_id, processes, SCREEN_OUTPUTS, full_drain_cap_seconds=FULL_DRAIN_CAP_SECONDS, on_first_output=start_profiler)
        producer.join()
        offsets_after = bench.probe.end_totals_by_topic()
    finally:
        for recorder in profiler:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its profile on SIGINT
            try:
                recorder.wait(timeout=60)
            except subprocess.TimeoutExpired:
                recorder.kill()
        bench.stop_processes()
    figures = drain.to_dict(len(bench.input_events))
    figures["app_id"] = app_id
    figures["workers"] = workers
    figures["messages"] = {
        **stats.message_accounting(offsets_before, offsets_after, app_id, INPUT_TOPIC_NAMES, len(bench.input_events), consumed_topics(app_id)),
        "all_stages_drained": drain.all_stages_drained_seconds is not None,
        "method": "end offsets of every topic on the broker, summed over partitions, read after the group settled "
        "and before the input was produced, and again once every stage had drained (or the cap ran out: "
        "all_stages_drained false); the growth of public hotline.*.v1 topics other than the input is derived "
        "events, of the app's own '<app id>-...' topics stage-to-stage items, of its '<app id>-...-changelog' "
        "topics changelog records; each divided by the input events. Periodic messages (clock ticks, pressure "
        "snapshots) written during the drain are counted too; 'read' is the growth of the topics the app's "
        "workers consume (the input, its stage-to-stage topics, hotline.cases.v1)",
    }
    return figures, drain


def median_run(runs: Sequence[tuple[dict, Drain]]) -> tuple[dict, Drain]:
    """Of repeated drains of the same input, the one with the median end-to-end rate (the
    lower of the two middle ones for an even count); a run whose stages did not drain
    counts as the slowest."""
    if not runs:
        raise ValueError("no pipeline run to choose from")
    ranked = sorted(runs, key=lambda run: run[0].get("end_to_end_events_per_second") or 0.0)
    return ranked[(len(ranked) - 1) // 2]


def run_summary(figures: dict) -> dict:
    """What `--pipeline-runs` lists of each run."""
    return {
        key: figures.get(key)
        for key in ("app_id", "end_to_end_events_per_second", "events_per_second", "first_output_to_all_stages_drained_seconds", "end_to_end_cpu_seconds_per_1000_events")
    }


def worker_memory(drain: Drain) -> dict:
    """Resident memory of the one worker over its drain, as read: the per-order figure
    comes from `orders_table_memory`, since a drain this small holds too few open orders
    for its growth to say anything per 100 000."""
    (pid,) = drain.rss_at_first_output
    return {
        "rss_at_first_output_mib": stats.mebibytes(drain.rss_at_first_output[pid]),
        "rss_at_input_drained_mib": stats.mebibytes(drain.rss_at_lag_zero[pid]),
        "peak_rss_mib": stats.mebibytes(drain.peak_rss.get(pid)),
        "rss_growth_mib": stats.mebibytes(drain.rss_at_lag_zero[pid] - drain.rss_at_first_output[pid]),
        "method": "VmRSS of /proc/<pid>/status at the first output and when the input lag reached 0, VmHWM at the end",
    }


# --- the pure chain offline ----------------------------------------------------------------


def pure_chain_offline(bench: Bench) -> dict:
    """The rules a worker runs, without Kafka, over the same pre-produced input events, in a
    child process with the workers' environment (hotline.bench.offline_chain)."""
    bench.reporter.step(f"pure chain offline over the {len(bench.input_events):,} input events")
    events_path = bench.work_dir / "input-events.jsonl"
    events_path.write_bytes(encode_lines(bench.input_events))
    log_path = bench.work_dir / "offline-chain.log"
    try:
        with log_path.open("wb") as log:
            result = subprocess.run(
                [sys.executable, "-m", "hotline.bench.offline_chain", str(events_path), str(bench.work_dir / "offices.jsonl")],
                env=bench.env, stdout=subprocess.PIPE, stderr=log, timeout=900,
            )  # fmt: skip
    finally:
        events_path.unlink(missing_ok=True)
    if result.returncode != 0:
        raise RuntimeError(f"the offline chain exited with {result.returncode}; log {log_path}:\n{log_path.read_text()[-3000:]}")
    return {
        **codec.decode(result.stdout),
        "method": "a fresh child process reads the pre-produced input events as the encoded lines the workers "
        "consume and runs them once through hotline.evaluation.orders_pipeline.replay_orders (screen -> order fold "
        "-> deadlines -> escalate, "
        f"{topics.DEFAULT_PARTITIONS} partitions) and once through hotline.evaluation.pipeline.run_offline (screen -> "
        "judge -> dedupe); events per CPU second of its main thread (time.thread_time), the wall clock beside it; "
        "reading the input, loading the rules and a warm-up run of each chain over the first "
        f"{offline_chain.WARM_UP_EVENTS} events are not timed",
    }


# --- end-to-end latency at offered rates -------------------------------------------------


class DerivedCollector(threading.Thread):
    """Reads the derived topics from their current end: (topic, caused_by, CreateTime ms)."""

    def __init__(self, bootstrap: str, topic_names: Sequence[str]):
        super().__init__(daemon=True)
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, client_id="hotline-bench-latency")
        partitions = [TopicPartition(t, p) for t in topic_names for p in sorted(self._consumer.partitions_for_topic(t) or ())]
        self._consumer.assign(partitions)
        self._consumer.seek_to_end(*partitions)
        for tp in partitions:
            self._consumer.position(tp)  # resolve the end now, before the inputs are sent
        self.seen: dict[str, list[tuple[str, int]]] = {t: [] for t in topic_names}
        self._stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self._stopping.is_set():
                for tp, records in self._consumer.poll(timeout_ms=200, max_records=5000).items():
                    bucket = self.seen[tp.topic]
                    for record in records:
                        caused_by = codec.decode(record.value).get("caused_by")
                        if isinstance(caused_by, str):
                            bucket.append((caused_by, record.timestamp))
        finally:
            self._consumer.close()

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=10)


def latency_at_rate(bench: Bench, rate: int, duration_seconds: float, grace_seconds: float, events: list[dict]) -> dict:
    bench.reporter.step(f"latency at {rate} events/s", total=len(events))
    app_id = f"{bench.run_id}-latency-{rate}"
    processes = _start_pipeline_workers(bench, app_id, 1, bench.probe.end_offsets([topics.EVENTS.name]))
    try:
        _wait_for_log(processes[0], "Ready", timeout_seconds=120)
        time.sleep(2.0)  # let the fresh worker settle after its first assignment
        collector = DerivedCollector(bench.bootstrap, LATENCY_TOPICS)
        collector.start()
        produced_at_ms, lag_samples, window_seconds = _offer(bench, app_id, processes[0], rate, events)
        grace_end = time.monotonic() + grace_seconds
        while time.monotonic() < grace_end:
            processes[0].check_alive()
            time.sleep(0.5)
        lag_at_grace_end = bench.probe.lag(app_id, [topics.EVENTS.name])
        collector.stop()
    finally:
        bench.stop_processes()
    screened_ms = stats.first_created_ms(produced_at_ms, collector.seen[topics.SCREENED.name])
    window_start_ms = min(produced_at_ms.values())
    window_end_ms = max(produced_at_ms.values())
    halfway_ms = window_start_ms + (window_end_ms - window_start_ms) // 2
    sent_per_second = len(produced_at_ms) / window_seconds
    screened_per_second = stats.count_rate_per_second(list(screened_ms.values()), halfway_ms, window_end_ms)
    kept_up = stats.kept_up(len(produced_at_ms), len(screened_ms), sent_per_second, screened_per_second)
    result = {
        "offered_events_per_second": rate,
        "sent_events": len(produced_at_ms),
        "sent_events_per_second": round(sent_per_second, 1),
        "screened_events_per_second_second_half": _rounded(screened_per_second, 1),
        "screened_ratio_after_grace": round(len(screened_ms) / len(produced_at_ms), 4),
        "input_lag_at_window_end": lag_samples[-1][1] if lag_samples else None,
        "input_lag_at_grace_end": lag_at_grace_end,
        "input_lag_growth_per_second": _rounded(stats.slope_per_second(lag_samples), 1),
        "kept_up": kept_up,
        "latency_ms": {},
    }
    for topic_name in LATENCY_TOPICS:
        summary = stats.latency_summary(stats.matched_latencies_ms(produced_at_ms, collector.seen[topic_name]))
        # Behind an unbounded backlog a percentile only says how long the run was.
        result["latency_ms"][topic_name] = summary.to_dict() if kept_up and summary is not None else None
    return result


def _offer(bench: Bench, group: str, worker: ManagedProcess, rate: int, events: list[dict]) -> tuple[dict[str, int], list[tuple[float, int]], float]:
    """Send the events at `rate` per second, each stamped with its send time (the
    record's CreateTime); sample the group's input lag once a second."""
    producer = KafkaProducer(bootstrap_servers=bench.bootstrap, client_id="hotline-bench-latency", acks="all", linger_ms=2)
    produced_at_ms: dict[str, int] = {}
    lag_samples: list[tuple[float, int]] = []
    started = time.monotonic()
    next_sample = started + 1.0
    try:
        for number, event in enumerate(events):
            due = started + number / rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sent_ms = int(time.time() * 1000)
            producer.send(topics.EVENTS.name, key=event["order_id"].encode(), value=codec.encode(event), timestamp_ms=sent_ms)
            produced_at_ms[event["event_id"]] = sent_ms
            if time.monotonic() >= next_sample:
                worker.check_alive()
                lag = bench.probe.lag(group, [topics.EVENTS.name])
                lag_samples.append((time.monotonic() - started, lag))
                next_sample += 1.0
                bench.reporter.advance(number + 1, lag=lag)
        producer.flush(timeout=60)
    finally:
        producer.close()
    bench.reporter.advance(len(events))
    return produced_at_ms, lag_samples, time.monotonic() - started


def _wait_for_log(process: ManagedProcess, text: str, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        process.check_alive()
        if text in process.log_path.read_text(errors="replace"):
            return
        time.sleep(0.3)
    raise RuntimeError(f"{process.name} did not log {text!r} within {timeout_seconds}s:\n{process.log_tail()}")


# --- orders table memory -----------------------------------------------------------------


def orders_table_memory(bench: Bench, seed: int, appeals_per_day: int) -> dict:
    """Resident set per 100 000 open orders of the orders table, built from a large
    simulated city in child processes (hotline.bench.order_memory), once per stored form."""
    from hotline.bench.order_memory import STORED_FORMS

    reporter = bench.reporter
    spec = {
        "days": ORDERS_MEMORY_DAYS,
        "seed": seed,
        "scenario": "steady",
        "start": ORDERS_MEMORY_START.isoformat(),
        "appeals_per_day": appeals_per_day,
    }
    reporter.step(f"orders table: simulating {appeals_per_day:,} appeals/day for {ORDERS_MEMORY_DAYS} days")
    table_path = bench.work_dir / "open-orders-table.tsv"
    try:
        summary = _build_open_orders_table(bench, spec, table_path)
        open_orders = summary["open_orders"]
        forms = {}
        for form in STORED_FORMS:
            reporter.step(f"orders table: {open_orders:,} open orders held as {form}")
            measured = _order_memory_child(bench, f"orders-table-{form}", ["measure", form, str(table_path)])
            if measured["entries"] != open_orders:
                raise RuntimeError(f"the {form} table holds {measured['entries']} orders, the build wrote {open_orders}")
            grown_bytes = measured["rss_after_bytes"] - measured["rss_before_bytes"]
            per_order_bytes = stats.per_unit_bytes(grown_bytes, open_orders, 1)
            forms[form] = {
                "rss_before_mib": stats.mebibytes(measured["rss_before_bytes"]),
                "rss_after_mib": stats.mebibytes(measured["rss_after_bytes"]),
                "rss_growth_mib": stats.mebibytes(grown_bytes),
                "bytes_per_open_order": None if per_order_bytes is None else round(per_order_bytes),
                "rss_per_100k_open_orders_mib": stats.mebibytes(stats.per_unit_bytes(grown_bytes, open_orders, 100_000)),
            }
    finally:
        table_path.unlink(missing_ok=True)
    return {
        "city": {**spec, "simulated_events": summary["simulated_events"], "orders": summary["orders"]},
        "state_at": summary["last_event_at"],
        "orders_by_status": summary["orders_by_status"],
        "open_orders": open_orders,
        "encoded_value_bytes_mean": summary["encoded_value_bytes_mean"],
        "encoded_value_bytes_max": summary["encoded_value_bytes_max"],
        "simulate_seconds": summary["simulate_seconds"],
        "replay_seconds": summary["replay_seconds"],
        "stored_forms": forms,
        "method": f"{ORDERS_MEMORY_DAYS} simulated days of a city of {appeals_per_day} appeals per working day are "
        "replayed offline through the orders stage a worker runs (hotline.evaluation.orders_pipeline.replay_orders: "
        "screen -> order_flow), and the orders neither closed nor answered at the end of the simulated period are "
        "put, as the orders agent's _store writes them, into a dict keyed by order id in a fresh child process per "
        "stored form (decoded dicts as today; the codec's orjson bytes as with a raw value serializer), whose VmRSS "
        "growth is divided by the open orders and scaled to 100 000 (the table only: not the due index, the "
        "changelog or finished orders kept for their retention)",
    }


def _order_memory_child(bench: Bench, name: str, arguments: list[str], on_message: Callable[[dict], None] | None = None) -> dict:
    """Run `python -m hotline.bench.order_memory ARGUMENTS` (its stderr in `name`.log),
    hand each JSON line it prints to `on_message`, and return the last one."""
    log_path = bench.work_dir / f"{name}.log"
    with log_path.open("wb") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", "hotline.bench.order_memory", *arguments], stdout=subprocess.PIPE, stderr=log
        )
        last: dict | None = None
        try:
            for line in child.stdout:
                last = codec.decode(line)
                if on_message is not None:
                    on_message(last)
            child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.terminate()
                child.wait(timeout=30)
    if child.returncode != 0 or last is None:
        raise RuntimeError(f"{name} exited with {child.returncode}; log {log_path}:\n{log_path.read_text()[-3000:]}")
    return last


def _build_open_orders_table(bench: Bench, spec: dict, table_path: Path) -> dict:
    reporter = bench.reporter

    def show(message: dict) -> None:
        if "events" in message:
            reporter.step(f"orders table: replaying {message['events']:,} simulated events through the orders stage", total=message["events"])
        elif "replayed" in message:
            reporter.advance(message["replayed"])

    return _order_memory_child(bench, "orders-table-build", ["build", codec.encode(spec).decode(), str(table_path)], show)["summary"]


# --- dedupe index memory -----------------------------------------------------------------


def dedupe_index_memory(bench: Bench, seed: int) -> dict:
    """Python heap held by the dedupe index (CaseIndex) after 30 simulated days of appeals,
    measured with tracemalloc in this process, through the same screen -> verdict -> link
    chain a worker runs (hotline.evaluation.pipeline does the same offline)."""
    from hotline.contract.schemas import event_validator
    from hotline.core.dedupe import CaseIndex
    from hotline.core.ordering import MergeItem
    from hotline.core.screening import ScreenSettings
    from hotline.core.stages.screen import APPEALS_BY_CALLER, RawEvent, ScreenPartition
    from hotline.core.stages.state import StateView
    from hotline.evaluation.pipeline import APPEAL_RECEIVED, EVALUATION_PSEUDONYM_KEY
    from hotline.rules import load_dedupe_settings, load_screening_rules

    bench.reporter.step(f"dedupe index over {DEDUPE_DAYS} simulated days (tracemalloc)")
    simulation = simulate(SimulationSpec(days=DEDUPE_DAYS, seed=seed, start=date(2026, 1, 5)))
    lines = [codec.encode(event) for event in simulation.events if event["type"] == APPEAL_RECEIVED]
    del simulation
    rules = load_screening_rules()
    settings = load_dedupe_settings()
    screen_settings = ScreenSettings(pseudonym_key=EVALUATION_PSEUDONYM_KEY, max_future_seconds=None)
    screen = ScreenPartition(rules, screen_settings, event_validator(), 0)
    screen_clocks: dict = {}
    gc.collect()
    tracemalloc.start()
    try:
        before_bytes = tracemalloc.get_traced_memory()[0]
        index = CaseIndex(settings)
        watermark_seconds = float("-inf")
        started = time.perf_counter()
        for number, raw in enumerate(lines, start=1):
            # The screen handler a worker runs; what it sends the callers stage carries
            # the content verdict, which decides, as in the workers (core.stages.callers).
            for sent in screen.screen(StateView(screen_clocks.get), RawEvent(number, raw)).sent:
                if sent.topic != APPEALS_BY_CALLER:
                    continue
                screened = MergeItem.from_dict(sent.value).payload
                appeal = rules.appeal_from_screened(screened)
                if settings.links(screened["verdict"]["status"]):
                    index.link(appeal)
                watermark_seconds = max(watermark_seconds, appeal.occurred_at_seconds)
            if number % 500 == 0:
                index.purge(watermark_seconds)
                bench.reporter.note(f"{number}/{len(lines)} appeals")
        index.purge(watermark_seconds)
        elapsed_seconds = time.perf_counter() - started
        gc.collect()
        held_bytes = tracemalloc.get_traced_memory()[0] - before_bytes
    finally:
        tracemalloc.stop()
    return {
        "days": DEDUPE_DAYS,
        "appeals": len(lines),
        "index_entries": index.size,
        "bytes_per_30_days_mib": stats.mebibytes(held_bytes),
        "bytes_per_entry": round(held_bytes / index.size) if index.size else None,
        "seconds_under_tracemalloc": round(elapsed_seconds, 1),
        "method": "tracemalloc: Python allocations still held after feeding 30 simulated days of appeal.received "
        "through the screen handler (hotline.core.stages.screen) -> content verdict -> CaseIndex.link with purges "
        "by event-time watermark (horizon "
        f"{settings.horizon_seconds / 86400:.0f} days), in the bench process, not in a worker",
    }
