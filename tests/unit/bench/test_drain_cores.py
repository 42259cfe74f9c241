"""Cores of the workers and the broker over a drain, why the broker's may be missing, and
which of repeated drains the bench reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.bench import phases, report


def test_an_external_broker_is_not_read_and_says_why():
    # given a bench on a broker given with --broker (no process id)
    bench = phases.Bench(bootstrap="broker.example:9092", work_dir=Path("/tmp"), run_id="r", reporter=None)
    # then its CPU is unknown and the reason is the external broker
    assert bench.broker_cpu_seconds() is None
    assert bench.broker_unmeasured_reason(None, None) == phases.EXTERNAL_BROKER


def test_a_failed_reading_of_a_known_broker_names_its_proc_file():
    bench = phases.Bench(bootstrap="127.0.0.1:9092", work_dir=Path("/tmp"), run_id="r", reporter=None, broker_pid=4242)
    assert bench.broker_unmeasured_reason(10.0, None) == "/proc/4242/stat of the broker could not be read"
    assert bench.broker_unmeasured_reason(10.0, 12.0) is None


def test_drain_cores_are_cpu_seconds_over_first_output_to_input_lag_zero():
    # given two workers that used 30 and 20 CPU s and a broker 10 s over a 50 s drain
    drain = phases.Drain(
        first_output_seconds=5.0,
        lag_zero_seconds=55.0,
        cpu_seconds_during_drain={101: 30.0, 102: 20.0},
        broker_cpu_seconds_during_drain=10.0,
    )
    figures = drain.to_dict(10_000)
    assert (figures["drain_wall_seconds"], figures["worker_cpu_seconds_during_drain"]) == (50.0, 50.0)
    assert figures["worker_cores_during_drain"] == 1.0
    assert figures["worker_cores_during_drain_each"] == [0.6, 0.4]
    assert (figures["broker_cores_during_drain"], figures["broker_cpu_unmeasured_reason"]) == (0.2, None)
    assert figures["cpu_seconds_per_1000_events"] == 5.0


def test_drain_without_broker_readings_keeps_the_worker_figures_and_the_reason():
    drain = phases.Drain(
        first_output_seconds=5.0,
        lag_zero_seconds=55.0,
        cpu_seconds_during_drain={101: 30.0},
        broker_cpu_unmeasured_reason=phases.EXTERNAL_BROKER,
    )
    figures = drain.to_dict(10_000)
    assert (figures["worker_cores_during_drain"], figures["broker_cores_during_drain"]) == (0.6, None)
    assert figures["broker_cpu_unmeasured_reason"] == phases.EXTERNAL_BROKER


def test_end_to_end_rate_runs_from_the_first_output_until_every_stage_drained():
    # given a drain whose input lag was 0 after 50 s and whose stages all drained after 100 s
    drain = phases.Drain(first_output_seconds=5.0, lag_zero_seconds=55.0, all_stages_drained_seconds=105.0)
    figures = drain.to_dict(10_000)
    # then the screened rate ends at input lag 0, the end-to-end rate when all stages drained
    assert (figures["events_per_second"], figures["end_to_end_events_per_second"]) == (200.0, 100.0)


def test_end_to_end_rate_is_missing_when_the_stages_did_not_drain_within_the_cap():
    drain = phases.Drain(first_output_seconds=5.0, lag_zero_seconds=55.0)
    figures = drain.to_dict(10_000)
    assert (figures["events_per_second"], figures["end_to_end_events_per_second"]) == (200.0, None)


def test_end_to_end_cpu_counts_the_workers_until_every_stage_drained():
    # given a worker that used 20 CPU s until input lag 0 and 45 CPU s until every stage
    # drained, 50 s after the first output
    drain = phases.Drain(
        first_output_seconds=5.0,
        lag_zero_seconds=25.0,
        all_stages_drained_seconds=55.0,
        cpu_seconds_during_drain={101: 20.0},
        cpu_seconds_to_all_stages_drained={101: 45.0},
    )
    figures = drain.to_dict(10_000)
    # then the whole input cost 4.5 CPU s per 1000 events, 0.9 cores over the 50 s
    assert (figures["cpu_seconds_per_1000_events"], figures["end_to_end_cpu_seconds_per_1000_events"]) == (2.0, 4.5)
    assert figures["end_to_end_worker_cores"] == 0.9


def test_end_to_end_cpu_is_missing_when_the_stages_did_not_drain():
    drain = phases.Drain(first_output_seconds=5.0, lag_zero_seconds=25.0, cpu_seconds_during_drain={101: 20.0})
    figures = drain.to_dict(10_000)
    assert (figures["end_to_end_cpu_seconds_per_1000_events"], figures["end_to_end_worker_cores"]) == (None, None)


def _run(rate, cpu=None):
    return {"app_id": f"a-{rate}", "end_to_end_events_per_second": rate, "end_to_end_cpu_seconds_per_1000_events": cpu}, phases.Drain()


def test_repeated_runs_report_the_median_one():
    runs = [_run(464.0), _run(340.0), _run(434.0)]
    figures, _ = phases.median_run(runs)
    assert figures["app_id"] == "a-434.0"


def test_of_an_even_count_the_lower_middle_run_is_reported_and_an_undrained_run_ranks_last():
    figures, _ = phases.median_run([_run(400.0), _run(None), _run(300.0), _run(500.0)])
    assert figures["app_id"] == "a-300.0"


def test_no_run_is_refused():
    with pytest.raises(ValueError):
        phases.median_run([])


def test_each_run_is_listed_in_run_order_with_its_cpu():
    runs = [phases.run_summary(_run(464.0, 2.05)[0]), phases.run_summary(_run(340.0, 2.79)[0])]
    assert report.each_run_text(runs) == "464 (2.050 CPU s), 340 (2.790 CPU s)"


def test_a_forwarder_is_timed_to_its_last_output_and_its_committed_lag_is_kept_beside():
    # given a forwarder whose sink held every output 2 s after its first, and whose
    # committed lag reached 0 at the next commit, 2.5 s later
    drain = phases.Drain(first_output_seconds=5.0, outputs_complete_seconds=7.0, lag_zero_seconds=9.5)
    figures = phases.forwarder_figures(drain, 30_000)
    # then its rate ends at the last output, as the passthrough's at its last delivery
    assert (figures["events_per_second"], figures["committed_lag_events_per_second"]) == (15_000.0, 6_666.7)
    assert figures["events_per_second_method"].startswith("input events / (first output on the sink -> the sink holding")


def test_a_forwarder_whose_outputs_never_completed_has_no_rate():
    drain = phases.Drain(first_output_seconds=5.0, lag_zero_seconds=9.5)
    figures = phases.forwarder_figures(drain, 30_000)
    assert (figures["events_per_second"], figures["committed_lag_events_per_second"]) == (None, 6_666.7)
