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


def _report(latency: list[dict] | None = None, errors: dict | None = None, baselines: dict | None = None, offline: dict | None = None, memory: dict | None = None) -> dict:
    return report.build_report(
        MACHINE,
        "hotline bench --events 50000",
        SETUP,
        BASELINES if baselines is None else baselines,
        {"events_per_second": 400.0, "end_to_end_events_per_second": 200.0},
        {"events_per_second": 600.0, "end_to_end_events_per_second": 320.0},
        latency,
        {"worker": None} if memory is None else memory,
        errors or {},
        offline=offline,
    )


def test_ratios_divide_the_pipeline_by_each_baseline_and_two_workers_by_one():
    ratios = _report()["ratios"]
    assert ratios == {
        "end_to_end_to_aiokafka_passthrough": 0.013,
        "end_to_end_to_faust_forward": 0.2,
        "pipeline_to_aiokafka_passthrough": 0.025,
        "pipeline_to_faust_forward": 0.4,
        "faust_forward_to_aiokafka_passthrough": 0.062,
        "faust_forward_hotline_consumer_to_aiokafka_passthrough": 0.125,
        "faust_forward_batched_to_aiokafka_passthrough": 0.25,
        "aiokafka_passthrough_to_kafka_consumer": 0.2,
        "two_workers_to_one_worker_end_to_end": 1.6,
        "two_workers_to_one_worker": 1.5,
    }


def test_a_missing_baseline_leaves_its_ratios_empty_instead_of_failing():
    ratios = report.ratios({"kafka_consumer": None, "aiokafka_passthrough": None, "faust_forward": None}, {"events_per_second": 400.0}, None)
    assert set(ratios.values()) == {None}


def test_headline_is_the_end_to_end_rate_beside_the_screened_rate_and_the_baselines():
    head = _report()["headline"]
    assert {key: value for key, value in head.items() if key != "method"} == {
        "end_to_end_events_per_second": 200.0,
        "screened_events_per_second": 400.0,
        "faust_forward_events_per_second": 1_000.0,
        "faust_forward_batched_events_per_second": 4_000.0,
        "aiokafka_passthrough_events_per_second": 16_000.0,
        "end_to_end_to_aiokafka_passthrough": 0.013,
        "screened_to_aiokafka_passthrough": 0.025,
        "faust_forward_to_aiokafka_passthrough": 0.062,
        "faust_forward_batched_to_aiokafka_passthrough": 0.25,
    }


def test_headline_says_not_measured_when_the_run_has_no_batched_forwarder():
    baselines = {**BASELINES, "faust_forward": {"events_per_second": 1_000.0}}
    head = _report(baselines=baselines)["headline"]
    assert (head["faust_forward_batched_events_per_second"], head["faust_forward_batched_to_aiokafka_passthrough"]) == ("not measured", None)


def test_headline_without_a_drained_pipeline_has_no_end_to_end_rate():
    head = report.headline(BASELINES, {"events_per_second": 400.0, "end_to_end_events_per_second": None})
    assert (head["end_to_end_events_per_second"], head["end_to_end_to_aiokafka_passthrough"]) == (None, None)
    assert head["screened_to_aiokafka_passthrough"] == 0.025


def _latency_goal_run(kept_up: bool, cases_p99_ms: float, deadlines_p99_ms: float | None) -> dict:
    def summary(p99_ms: float) -> dict:
        return {"count": 100, "p50_ms": 50.0, "p95_ms": 90.0, "p99_ms": p99_ms, "max_ms": p99_ms}

    return {
        "offered_events_per_second": 1000,
        "sent_events_per_second": 1000.0,
        "screened_events_per_second_second_half": 1000.0,
        "input_lag_at_window_end": 0,
        "input_lag_growth_per_second": 0.0,
        "kept_up": kept_up,
        "latency_ms": {
            "hotline.screened.v1": summary(100.0) if kept_up else None,
            "hotline.cases.v1": summary(cases_p99_ms) if kept_up else None,
            "hotline.deadlines.v1": summary(deadlines_p99_ms) if kept_up and deadlines_p99_ms is not None else None,
        },
    }


OFFLINE = {"replay_orders": {"events": 50_000, "events_per_cpu_second": 4_200.0, "events_per_wall_second": 4_000.0}}
ORDERS_TABLE = {"orders_table": {"stored_forms": {"dict": {"bytes_per_open_order": 17_033}, "orjson": {"bytes_per_open_order": 4_640}}}}


def _verdicts(document: dict) -> list[tuple]:
    return [(goal["measured"], goal["met"]) for goal in document["goals"]]


def test_goals_are_judged_against_the_measured_figures():
    document = _report([_latency_goal_run(True, 900.0, 300.0)], offline=OFFLINE, memory=ORDERS_TABLE)
    assert [goal["goal"] for goal in document["goals"]] == [
        "end to end >= 5,000 input events/s per worker",
        "end to end >= 0.1 of the raw aiokafka passthrough",
        "batched Faust forwarder >= 0.3 of the raw aiokafka passthrough",
        "pure chain offline (replay_orders) >= 20,000 events per CPU second",
        "1,000 events/s offered kept up with p99 < 1,000 ms to hotline.cases.v1 and < 500 ms to hotline.deadlines.v1",
        "two workers >= 1.7x one (end to end)",
        "<= 1,000 bytes per open order in the orders table (stored as orjson)",
        "soak: a million events through one worker, resident memory bounded",
    ]
    assert _verdicts(document) == [
        (200.0, False),
        (0.013, False),
        (0.25, False),
        (4_200.0, False),
        ("kept up; hotline.cases.v1 p99 900 ms, hotline.deadlines.v1 p99 300 ms", True),
        (1.6, False),
        (4_640, False),
        ("see make soak", None),
    ]


def test_goals_met_when_the_figures_reach_their_targets():
    baselines = {
        "aiokafka_passthrough": {"events_per_second": 20_000.0},
        "faust_forward": {"events_per_second": 5_000.0, "batched": {"events_per_second": 6_000.0}},
    }
    offline = {"replay_orders": {"events_per_cpu_second": 20_000.0}}
    memory = {"orders_table": {"stored_forms": {"orjson": {"bytes_per_open_order": 1_000}}}}
    document = report.build_report(
        MACHINE, "hotline bench", SETUP, baselines,
        {"events_per_second": 8_000.0, "end_to_end_events_per_second": 5_000.0},
        {"events_per_second": 14_000.0, "end_to_end_events_per_second": 8_500.0},
        [_latency_goal_run(True, 999.0, 499.0)], memory, {}, offline=offline,
    )  # fmt: skip
    assert [met for _, met in _verdicts(document)] == [True, True, True, True, True, True, True, None]


def test_latency_goal_is_not_met_when_either_p99_is_at_its_limit():
    assert _verdicts(_report([_latency_goal_run(True, 1_000.0, 100.0)]))[4][1] is False
    assert _verdicts(_report([_latency_goal_run(True, 100.0, 500.0)]))[4][1] is False


def test_latency_goal_is_not_met_when_the_pipeline_did_not_keep_up():
    assert _verdicts(_report([_latency_goal_run(False, 0.0, 0.0)]))[4] == ("did not keep up", False)


def test_latency_goal_is_not_judged_without_deadline_outputs_to_time():
    assert _verdicts(_report([_latency_goal_run(True, 100.0, None)]))[4] == ("kept up; no outputs matched on hotline.deadlines.v1", None)


def test_latency_goal_is_unmeasured_without_a_run_at_its_rate():
    assert _verdicts(_report([_latency_run(500, True, 100.0)]))[4] == (None, None)


def test_orders_table_goal_reads_the_form_the_memory_figures_name_as_the_workers():
    memory = {"orders_table": {"worker_stored_form": "dict", "stored_forms": {"dict": {"bytes_per_open_order": 900}, "orjson": {"bytes_per_open_order": 4_640}}}}
    document = _report(memory=memory)
    assert document["goals"][6]["goal"].endswith("(stored as dict)")
    assert _verdicts(document)[6] == (900, True)


def test_goal_rows_say_not_measured_or_what_was_measured_instead_of_a_verdict():
    rows = {figure: value for section, figure, value in report.table_rows(_report()) if section == "goal"}
    assert rows["end to end >= 5,000 input events/s per worker"] == "no (measured 200)"
    assert rows["batched Faust forwarder >= 0.3 of the raw aiokafka passthrough"] == "no (measured 0.250)"
    assert rows["pure chain offline (replay_orders) >= 20,000 events per CPU second"] == "not measured"
    assert rows["soak: a million events through one worker, resident memory bounded"] == "see make soak"


def test_report_is_json_with_every_section():
    document = codec.decode(codec.encode(_report()))
    assert sorted(document) == [
        "baselines", "command", "errors", "goals", "headline", "latency", "machine", "memory",
        "offline_chain", "pipeline_one_worker", "pipeline_two_workers", "ratios", "setup",
    ]  # fmt: skip


def test_table_opens_with_the_headline_and_shows_latency_and_errors():
    rows = report.table_rows(_report([_latency_run(2000, True, 300.0)], errors={"faust_forward": "RuntimeError: exited"}))
    assert rows[:8] == [
        ("headline", "end to end, 1 worker: input events/s until every stage drained", "200"),
        ("headline", "screened, 1 worker: input events/s until the input lag was 0", "400"),
        ("headline", "Faust forward-only agent events/s", "1,000"),
        ("headline", "batched Faust forwarder events/s", "4,000"),
        ("headline", "raw aiokafka passthrough events/s", "16,000"),
        ("headline", "end to end / aiokafka passthrough", "0.013"),
        ("headline", "screened / aiokafka passthrough", "0.025"),
        ("headline", "Faust forwarder / aiokafka passthrough", "0.062"),
    ]
    assert rows[8] == ("machine", "cores (os.cpu_count)", "2")
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
