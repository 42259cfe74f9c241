"""The benchmark report: ratios to the baselines, the goals, the JSON shape and the table rows."""

from __future__ import annotations

from hotline.bench import report
from hotline.contract import codec

MACHINE = {"cpu_count": 2, "shared_by": "the broker and the workers"}
SETUP = {"events": 50_000, "simulated_days": 9.1, "orders": {"orders": 9000, "closed": 6000, "open": 3000}}
BASELINES = {
    "kafka_consumer": {"events_per_second": 80_000.0},
    "aiokafka_passthrough": {"events_per_second": 16_000.0},
    "faust_forward": {
        "events_per_second": 1_000.0,
        "project_consumer": {"events_per_second": 2_000.0},
        "batched": {"events_per_second": 4_000.0},
    },
}


def _latency_run(rate: int, kept_up: bool, p99_ms: float) -> dict:
    summary = {"count": 100, "p50_ms": 50.0, "p95_ms": 90.0, "p99_ms": p99_ms, "max_ms": p99_ms}
    return {
        "offered_events_per_second": rate,
        "sent_events_per_second": float(rate),
        "screened_events_per_second_second_half": float(rate),
        "input_lag_at_window_end": 0,
        "input_lag_growth_per_second": 0.0,
        "kept_up": kept_up,
        "latency_ms": {
            "hotline.screened.v1": summary if kept_up else None,
            "hotline.cases.v1": {**summary, "p99_ms": p99_ms + 100} if kept_up else None,
        },
    }


def _report(latency: list[dict] | None = None, errors: dict | None = None) -> dict:
    return report.build_report(
        MACHINE,
        "hotline bench --events 50000",
        SETUP,
        BASELINES,
        {"events_per_second": 400.0},
        {"events_per_second": 600.0},
        latency,
        {"worker": None},
        errors or {},
    )


def test_ratios_divide_the_pipeline_by_each_baseline_and_two_workers_by_one():
    ratios = _report()["ratios"]
    assert ratios == {
        "pipeline_to_aiokafka_passthrough": 0.025,
        "pipeline_to_faust_forward": 0.4,
        "faust_forward_to_aiokafka_passthrough": 0.062,
        "faust_forward_hotline_consumer_to_aiokafka_passthrough": 0.125,
        "faust_forward_batched_to_aiokafka_passthrough": 0.25,
        "aiokafka_passthrough_to_kafka_consumer": 0.2,
        "two_workers_to_one_worker": 1.5,
    }


def test_a_missing_baseline_leaves_its_ratios_empty_instead_of_failing():
    ratios = report.ratios({"kafka_consumer": None, "aiokafka_passthrough": None, "faust_forward": None}, {"events_per_second": 400.0}, None)
    assert set(ratios.values()) == {None}


def test_goals_are_judged_against_the_measured_figures():
    goals = _report([_latency_run(2000, True, 300.0)])["goals"]
    assert [(goal["measured"], goal["met"]) for goal in goals] == [(400.0, False), (0.025, False), (400.0, True)]


def test_latency_goal_is_not_met_when_the_pipeline_did_not_keep_up():
    goals = _report([_latency_run(500, True, 100.0), _latency_run(2000, False, 0.0)])["goals"]
    assert (goals[2]["measured"], goals[2]["met"]) == ("did not keep up", False)


def test_latency_goal_is_unmeasured_without_a_run_at_its_rate():
    assert _report([_latency_run(500, True, 100.0)])["goals"][2]["met"] is None


def test_report_is_json_with_every_section():
    document = codec.decode(codec.encode(_report()))
    assert sorted(document) == [
        "baselines", "command", "errors", "goals", "latency", "machine", "memory",
        "pipeline_one_worker", "pipeline_two_workers", "ratios", "setup",
    ]  # fmt: skip


def test_table_names_the_core_count_first_and_shows_latency_and_errors():
    rows = report.table_rows(_report([_latency_run(2000, True, 300.0)], errors={"faust_forward": "RuntimeError: exited"}))
    assert rows[0] == ("machine", "cores (os.cpu_count)", "2")
    assert ("latency", "2000/s offered: hotline.screened.v1", "p50 50 / p95 90 / p99 300 ms (n=100)") in rows
    assert ("throughput", "(b) aiokafka consume->produce events/s", "16,000") in rows
    assert rows[-1] == ("error", "faust_forward", "RuntimeError: exited")


def _drain_cores(workers: float, broker: float | None, reason: str | None = None) -> dict:
    return {
        "events_per_second": 400.0,
        "drain_wall_seconds": 60.0,
        "worker_cores_during_drain": workers,
        "broker_cores_during_drain": broker,
        "broker_cpu_unmeasured_reason": reason,
    }


def test_table_says_how_many_cores_the_producer_the_workers_and_the_broker_took():
    # given a run on a throwaway broker whose process was read
    setup = {
        **SETUP,
        "producer_wall_seconds": 4.0,
        "producer_cores": 0.9,
        "broker_cores_during_produce": 0.35,
        "broker_cpu_unmeasured_reason": None,
    }
    document = report.build_report(MACHINE, "hotline bench", setup, BASELINES, _drain_cores(0.95, 0.4), _drain_cores(1.5, 0.42), None, None, {})
    # then the rows show each party's cores over the window they were measured in
    rows = report.table_rows(document)
    assert ("input", "pre-producing: cores of the producer / the broker", "0.90 / 0.35 (over 4.0 s)") in rows
    assert ("throughput", "full pipeline, 1 worker: cores of the workers / the broker while draining", "0.95 / 0.40 (over 60.0 s)") in rows
    assert ("throughput", "full pipeline, 2 workers: cores of the workers / the broker while draining", "1.50 / 0.42 (over 60.0 s)") in rows


def test_table_gives_the_reason_when_the_broker_was_not_measured():
    reason = "the broker was given with --broker: its process is not the bench's to read"
    document = report.build_report(MACHINE, "hotline bench", SETUP, BASELINES, _drain_cores(0.95, None, reason), None, None, None, {})
    rows = report.table_rows(document)
    assert (
        "throughput",
        "full pipeline, 1 worker: cores of the workers / the broker while draining",
        f"0.95 / - (over 60.0 s); broker not measured: {reason}",
    ) in rows


def test_table_shows_the_orders_table_memory_per_stored_form():
    orders_table = {
        "city": {"days": 2, "appeals_per_day": 24_000},
        "open_orders": 43_413,
        "stored_forms": {"dict": {"rss_per_100k_open_orders_mib": 1_623.4}, "orjson": {"rss_per_100k_open_orders_mib": 443.2}},
    }
    document = report.build_report(MACHINE, "hotline bench", SETUP, BASELINES, None, None, None, {"orders_table": orders_table}, {})
    rows = [row for row in report.table_rows(document) if row[0] == "memory"]
    assert rows == [
        ("memory", "orders table RSS per 100k open orders, stored as dict", "1,623 MiB (43,413 open orders, 2 simulated days at 24,000 appeals/day)"),
        ("memory", "orders table RSS per 100k open orders, stored as orjson", "443 MiB (43,413 open orders, 2 simulated days at 24,000 appeals/day)"),
    ]
