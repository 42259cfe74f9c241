"""The per-message counters: children kept by label values count into the same series."""

from __future__ import annotations

from prometheus_client import REGISTRY

from hotline.stream import metrics


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_kept_child_is_the_metric_s_own_and_counts_into_its_series():
    before = sample("hotline_messages_consumed_total", topic="test.kept-children")
    child = metrics.consumed(topic="test.kept-children")
    child.inc()
    metrics.consumed(topic="test.kept-children").inc(2)
    assert child is metrics.MESSAGES_CONSUMED.labels(topic="test.kept-children")
    assert metrics.consumed(topic="test.kept-children") is child
    assert sample("hotline_messages_consumed_total", topic="test.kept-children") == before + 3


def test_the_event_time_gauge_keeps_the_highest_time_per_stage():
    metrics.observe_event_time("test-stage", 100.0)
    metrics.observe_event_time("test-stage", 50.0)
    assert sample("hotline_event_time_watermark_seconds", stage="test-stage") == 100.0
    metrics.observe_event_time("test-stage", 150.0)
    assert sample("hotline_event_time_watermark_seconds", stage="test-stage") == 150.0
