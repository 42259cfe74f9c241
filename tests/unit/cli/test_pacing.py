"""Replay pacing: as fast as possible, a fixed rate, or event time sped up."""

from __future__ import annotations

import pytest

from hotline.cli.pacing import ReplayPacer


def test_without_a_rate_or_speedup_nothing_waits():
    assert ReplayPacer().wait_seconds(sent=1000, elapsed_seconds=0.0, event_seconds=5.0) == 0.0


def test_fixed_rate_waits_until_the_event_is_due():
    pacer = ReplayPacer(rate=100)
    assert pacer.wait_seconds(sent=50, elapsed_seconds=0.2) == pytest.approx(0.3)
    assert pacer.wait_seconds(sent=50, elapsed_seconds=0.9) == 0.0


def test_speedup_compresses_event_time_and_ignores_late_events():
    pacer = ReplayPacer(speedup=100)
    assert pacer.wait_seconds(1, 0.0, event_seconds=1_000.0) == 0.0
    # one hour of history later, at 100x: due 36 s after the start
    assert pacer.wait_seconds(2, 6.0, event_seconds=1_000.0 + 3600) == pytest.approx(30.0)
    # an out-of-order event from before does not pull the schedule back
    assert pacer.wait_seconds(3, 36.0, event_seconds=1_000.0 + 60) == 0.0


def test_rate_and_speedup_exclude_each_other():
    with pytest.raises(ValueError):
        ReplayPacer(rate=10, speedup=10)
