"""Resident memory of the orders table per 100 000 open orders, from a large simulated city.

Consumes a `SimulationSpec` (a city far larger than the throughput phases' input) and a
stored form of the table's values; produces the open orders' table values as a file and
how much a fresh process's resident set (VmRSS) grows when it holds them in a dict, the
way Faust's memory store holds the worker's orders table.

`hotline bench` runs it as two kinds of child process (`python -m hotline.bench.order_memory`):

- `build SPEC_JSON OUT`: simulates the city and replays every event through the stages
  a worker runs to build order state (hotline.evaluation.orders_pipeline.replay_orders:
  screen -> order_flow, with the deadline and escalation policies); the simulator stops
  every lifecycle at the end of the simulated period, so that instant is a point in time
  at which the orders not yet closed are open. Writes one line per open order: the order
  id, a tab, and the value the orders agent stores for it (hotline.core.order_flow
  `table_value`, record layout 2), encoded with the contract codec. Progress and the
  summary go to stdout as JSON lines.
- `measure FORM FILE`: reads VmRSS, builds {order_id: value} with each value in FORM
  (`STORED_FORMS`), collects garbage, reads VmRSS again and prints both as JSON.
- `timing FILE`: microseconds of process time per order (best of 7 rounds over the file's
  first 2 000 orders) to load a table value (decode + `record_of`, what every event and
  due check of an order starts with) and to store it (`table_value` + encode).

The table is built in a fresh process so that memory the simulation and the replay freed
(and the allocator kept) cannot be reused by the table and hide part of its cost.
"""

from __future__ import annotations

import gc
import sys
import time
import timeit
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

from hotline.bench.processes import status_bytes
from hotline.contract import codec
from hotline.core.order_flow import FINISHED_STATUSES, OrderRecord, record_of, table_index, table_value

PROGRESS_EVERY_EVENTS = 10_000
TIMED_ORDERS = 2_000
TIMING_ROUNDS = 7


def as_dict(encoded: bytes) -> Any:
    """The form the worker's table holds today: the JSON value decoded to dicts."""
    return codec.decode(encoded)


def as_encoded_bytes(encoded: bytes) -> bytes:
    """The form of a table with a raw value serializer: the orjson bytes themselves."""
    return encoded


STORED_FORMS: dict[str, Callable[[bytes], Any]] = {"dict": as_dict, "orjson": as_encoded_bytes}


def is_open(record: OrderRecord) -> bool:
    """Open: neither closed nor answered on the call (the statuses the table drops after
    its retention)."""
    return record.order.status not in FINISHED_STATUSES


def stored_value(record: OrderRecord, partition: int, retention: timedelta) -> dict[str, Any]:
    """The orders agent's table value for one order (hotline.stream.agents.orders `_store`)."""
    return table_value(record, partition, retention)


def table_line(order_id: str, encoded_value: bytes) -> bytes:
    """One line of the table file: the key, a tab, the encoded value (an order id holds no tab)."""
    return order_id.encode() + b"\t" + encoded_value + b"\n"


def build_table(lines: Iterable[bytes], form: Callable[[bytes], Any]) -> dict[str, Any]:
    """{order_id: value in `form`} from `table_line` lines."""
    table: dict[str, Any] = {}
    for line in lines:
        key, _, encoded = line.rstrip(b"\n").partition(b"\t")
        table[key.decode()] = form(encoded)
    return table


def _counted(lines: list[bytes], emit: Callable[[dict], None]) -> Iterator[bytes]:
    for number, line in enumerate(lines, start=1):
        if number % PROGRESS_EVERY_EVENTS == 0:
            emit({"replayed": number})
        yield line


def build(spec: Mapping[str, Any], out_path: Path, emit: Callable[[dict], None]) -> dict[str, Any]:
    """Simulate the city of `spec`, replay it through the orders stage and write the open
    orders' table values to `out_path`; return what was simulated and kept."""
    from hotline.config import Settings
    from hotline.contract.topics import DEFAULT_PARTITIONS
    from hotline.core import order_flow
    from hotline.core.deadlines import DeadlineTracker
    from hotline.evaluation.orders_pipeline import partition_of, replay_orders
    from hotline.rules import load_deadline_policy, load_escalation_policy
    from hotline.sim import SimulationSpec, simulate

    started = time.perf_counter()
    simulation = simulate(
        SimulationSpec(
            days=spec["days"],
            seed=spec["seed"],
            scenario=spec["scenario"],
            start=date.fromisoformat(spec["start"]),
            appeals_per_day=spec["appeals_per_day"],
        )
    )
    lines = [codec.encode(event) for event in simulation.events]
    offices = {office["office_id"]: office for office in simulation.offices}
    last_event_at = simulation.events[-1]["occurred_at"]
    del simulation
    simulate_seconds = time.perf_counter() - started
    emit({"events": len(lines)})
    rules = order_flow.OrderRules(DeadlineTracker(load_deadline_policy()), load_escalation_policy(), offices)
    started = time.perf_counter()
    run = replay_orders(_counted(lines, emit), rules, partitions=DEFAULT_PARTITIONS)
    replay_seconds = time.perf_counter() - started
    retention = timedelta(days=Settings().closed_order_retention_days)
    statuses = Counter(record.order.status for record in run.records.values())
    open_orders = 0
    stored_bytes = 0
    largest_bytes = 0
    with out_path.open("wb") as handle:
        for order_id, record in run.records.items():
            if is_open(record):
                encoded = codec.encode(stored_value(record, partition_of(order_id, DEFAULT_PARTITIONS), retention))
                handle.write(table_line(order_id, encoded))
                open_orders += 1
                stored_bytes += len(encoded)
                largest_bytes = max(largest_bytes, len(encoded))
    return {
        "simulated_events": len(lines),
        "events_replayed": run.events_read,
        "last_event_at": last_event_at,
        "orders": len(run.records),
        "orders_by_status": dict(sorted(statuses.items())),
        "open_orders": open_orders,
        "encoded_value_bytes_mean": round(stored_bytes / open_orders) if open_orders else None,
        "encoded_value_bytes_max": largest_bytes if open_orders else None,
        "simulate_seconds": round(simulate_seconds, 1),
        "replay_seconds": round(replay_seconds, 1),
    }


def measure(form_name: str, table_path: Path) -> dict[str, Any]:
    """VmRSS of this process before and after it holds the table file's values in `form_name`."""
    form = STORED_FORMS[form_name]
    gc.collect()
    rss_before_bytes = _own_status_bytes("VmRSS")
    with table_path.open("rb") as handle:
        table = build_table(handle, form)
    gc.collect()
    rss_after_bytes = _own_status_bytes("VmRSS")
    return {"form": form_name, "entries": len(table), "rss_before_bytes": rss_before_bytes, "rss_after_bytes": rss_after_bytes}


def timing(table_path: Path, retention: timedelta) -> dict[str, Any]:
    """Microseconds per order to load and to store the table file's first values (see `timing FILE`)."""
    with table_path.open("rb") as handle:
        encoded = [line.rstrip(b"\n").partition(b"\t")[2] for _, line in zip(range(TIMED_ORDERS), handle)]
    records = [record_of(codec.decode(value)) for value in encoded]
    partitions = [table_index(codec.decode(value)).partition for value in encoded]

    def microseconds(work: Callable[[], Any]) -> float | None:
        if not encoded:
            return None
        seconds = min(timeit.repeat(work, number=1, repeat=TIMING_ROUNDS, timer=time.process_time))
        return round(seconds / len(encoded) * 1e6, 1)

    return {
        "orders": len(encoded),
        "load_us": microseconds(lambda: [record_of(codec.decode(value)) for value in encoded]),
        "store_us": microseconds(lambda: [codec.encode(table_value(r, p, retention)) for r, p in zip(records, partitions)]),
    }


def _own_status_bytes(field: str) -> int:
    value = status_bytes("self", field)
    if value is None:
        raise RuntimeError(f"/proc/self/status has no {field}")
    return value


def _emit(message: dict) -> None:
    sys.stdout.buffer.write(codec.encode(message) + b"\n")
    sys.stdout.flush()


def main(arguments: list[str]) -> None:
    if len(arguments) == 3 and arguments[0] == "build":
        summary = build(codec.decode(arguments[1]), Path(arguments[2]), _emit)
        _emit({"summary": summary})
    elif len(arguments) == 3 and arguments[0] == "measure" and arguments[1] in STORED_FORMS:
        _emit(measure(arguments[1], Path(arguments[2])))
    elif len(arguments) == 2 and arguments[0] == "timing":
        from hotline.config import Settings

        _emit(timing(Path(arguments[1]), timedelta(days=Settings().closed_order_retention_days)))
    else:
        raise SystemExit(
            f"usage: python -m hotline.bench.order_memory build SPEC_JSON OUT | measure {'|'.join(STORED_FORMS)} FILE | timing FILE"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
