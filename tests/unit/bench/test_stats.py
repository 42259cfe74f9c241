"""The benchmark's arithmetic: percentiles, matched latencies, rates, ratios, lag trends, memory."""

from __future__ import annotations

import pytest

from hotline.bench import stats


def test_percentile_interpolates_between_closest_ranks():
    # given ten latencies 1..10 ms
    values = [float(v) for v in range(10, 0, -1)]
    # when the quantiles are taken, then they interpolate on the sorted values
    assert stats.percentile(values, 0.0) == 1.0
    assert stats.percentile(values, 0.5) == 5.5
    assert stats.percentile(values, 0.95) == pytest.approx(9.55)
    assert stats.percentile(values, 1.0) == 10.0


def test_percentile_of_nothing_is_an_error_not_zero():
    with pytest.raises(ValueError):
        stats.percentile([], 0.5)


def test_latency_summary_rounds_to_a_tenth_of_a_millisecond():
    summary = stats.latency_summary([10.0, 20.0, 30.0, 40.0])
    assert summary.to_dict() == {"count": 4, "p50_ms": 25.0, "p95_ms": 38.5, "p99_ms": 39.7, "max_ms": 40.0}
    assert stats.latency_summary([]) is None


def test_latency_is_matched_to_the_first_derived_message_of_each_input():
    # given two inputs produced at 1000 and 2000 ms, and derived messages of them, a
    # duplicate (re-sent after a rebalance) and one of an input of another run
    produced_at_ms = {"a": 1000, "b": 2000}
    derived = [("a", 1300), ("b", 2100), ("a", 1900), ("other-run", 1500)]
    # when matched, then each input counts once, with its earliest output
    assert sorted(stats.matched_latencies_ms(produced_at_ms, derived)) == [100.0, 300.0]


def test_count_rate_counts_only_instants_inside_the_interval():
    assert stats.count_rate_per_second([900, 1000, 1500, 2000, 2100], 1000, 2000) == 3.0
    assert stats.count_rate_per_second([1000], 2000, 2000) is None


def test_ratio_is_missing_when_a_side_is_missing_or_the_base_is_zero():
    assert stats.ratio(300.0, 12000.0) == 0.025
    assert stats.ratio(None, 12000.0) is None
    assert stats.ratio(300.0, None) is None
    assert stats.ratio(300.0, 0.0) is None


def test_slope_of_a_growing_lag_is_its_growth_per_second():
    assert stats.slope_per_second([(0.0, 0.0), (1.0, 150.0), (2.0, 300.0)]) == 150.0
    assert stats.slope_per_second([(0.0, 500.0), (1.0, 400.0)]) == -100.0
    assert stats.slope_per_second([(1.0, 5.0)]) is None


def test_a_rate_is_kept_up_only_when_outputs_match_inputs_and_nearly_all_are_done():
    # given 10 000 inputs sent at 500/s
    assert stats.kept_up(10_000, 10_000, 500.0, 490.0)
    # outputs slower than 95 % of the input rate: falling behind
    assert not stats.kept_up(10_000, 10_000, 500.0, 470.0)
    # outputs fast enough but more than 1 % of inputs still without output after the grace
    assert not stats.kept_up(10_000, 9_800, 500.0, 500.0)
    assert not stats.kept_up(0, 0, 0.0, None)


def test_memory_per_unit_is_extrapolated_linearly():
    assert stats.per_unit_bytes(10 * 1024 * 1024, 5_000, 100_000) == 200 * 1024 * 1024
    assert stats.per_unit_bytes(1024, 0, 100_000) is None
    assert stats.mebibytes(200 * 1024 * 1024) == 200.0
    assert stats.mebibytes(None) is None


def test_cpu_seconds_between_readings_is_missing_when_a_reading_failed():
    assert stats.cpu_seconds_between(12.5, 20.0) == 7.5
    assert stats.cpu_seconds_between(None, 20.0) is None
    assert stats.cpu_seconds_between(12.5, None) is None


def test_cores_are_cpu_seconds_per_wall_second():
    # given a broker that used 30 CPU s while the workers drained for 60 s
    assert stats.cores(30.0, 60.0) == 0.5
    # two busy workers on two cores
    assert stats.cores(118.0, 59.0) == 2.0
    assert stats.cores(None, 60.0) is None
    assert stats.cores(30.0, None) is None
    assert stats.cores(30.0, 0.0) is None
