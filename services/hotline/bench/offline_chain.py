"""The pure chain offline: the rules a worker runs, without Kafka, on the benchmark's input.

Run as a child process of `hotline bench` (a fresh interpreter: no progress display or
client threads beside it, and the workers' environment, hence their configuration):

    python -m hotline.bench.offline_chain EVENTS.jsonl OFFICES.jsonl

Reads the pre-produced input events as the encoded lines the workers consume and runs
them, once each, through the stage handlers the workers call (hotline.core.stages):

- `hotline.evaluation.orders_pipeline.replay_orders`: screen -> order fold -> deadlines
  -> escalate, on the worker's partition count;
- `hotline.evaluation.pipeline.run_offline`: screen -> judge -> dedupe (the case links);

and prints one JSON line with each chain's events per CPU second of this thread
(time.thread_time) and per wall-clock second. Reading the file and loading the rules
are outside the timed part, and so is a warm-up run of each chain over the first
WARM_UP_EVENTS events.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Callable

from hotline.contract import codec

WARM_UP_EVENTS = 500


def _timed(action: Callable[[], object]) -> tuple[object, float, float]:
    gc.collect()
    cpu_started, wall_started = time.thread_time(), time.perf_counter()
    outcome = action()
    return outcome, time.thread_time() - cpu_started, time.perf_counter() - wall_started


def _figures(events: int, cpu_seconds: float, wall_seconds: float) -> dict:
    return {
        "events": events,
        "cpu_seconds": round(cpu_seconds, 3),
        "wall_seconds": round(wall_seconds, 3),
        "events_per_cpu_second": round(events / cpu_seconds, 1) if cpu_seconds > 0 else None,
        "events_per_wall_second": round(events / wall_seconds, 1) if wall_seconds > 0 else None,
    }


def measure(events_path: Path, offices_path: Path) -> dict:
    from hotline.contract.topics import DEFAULT_PARTITIONS
    from hotline.core import order_flow
    from hotline.core.deadlines import DeadlineTracker
    from hotline.evaluation.orders_pipeline import replay_orders
    from hotline.evaluation.pipeline import run_offline
    from hotline.rules import load_deadline_policy, load_dedupe_settings, load_escalation_policy, load_screening_rules

    lines = [line for line in events_path.read_bytes().splitlines() if line.strip()]
    offices = {office["office_id"]: office for office in map(codec.decode, offices_path.read_bytes().splitlines())}
    order_rules = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), load_escalation_policy(), offices)
    screening_rules, dedupe_settings = load_screening_rules(), load_dedupe_settings()
    # Lazily loaded models and caches (word segmentation, schemas) load here, untimed.
    replay_orders(lines[:WARM_UP_EVENTS], order_rules, partitions=DEFAULT_PARTITIONS)
    run_offline(lines[:WARM_UP_EVENTS], screening_rules, dedupe_settings)
    orders_run, orders_cpu, orders_wall = _timed(lambda: replay_orders(lines, order_rules, partitions=DEFAULT_PARTITIONS))
    cases_run, cases_cpu, cases_wall = _timed(lambda: run_offline(lines, screening_rules, dedupe_settings))
    return {
        "replay_orders": {
            **_figures(orders_run.events_read, orders_cpu, orders_wall),
            "partitions": DEFAULT_PARTITIONS,
            "orders": len(orders_run.records),
            "deadline_events": len(orders_run.deadline_events),
        },
        "run_offline": {
            **_figures(cases_run.events_read, cases_cpu, cases_wall),
            "appeals": cases_run.appeals,
            "case_decisions": len(cases_run.decisions),
        },
    }


if __name__ == "__main__":
    sys.stdout.buffer.write(codec.encode(measure(Path(sys.argv[1]), Path(sys.argv[2]))) + b"\n")
