"""When a live worker ticks its idle partitions to the wall clock, and when it holds them."""

from __future__ import annotations

from hotline.core.idle_advance import (
    AWAITING_INPUT,
    FOLLOWING_WALL_CLOCK,
    HISTORIC_INPUT,
    REPLAY,
    IdleAdvance,
    NewestInput,
    decide_idle_advance,
)

NOW = 1_780_000_000.0
DAY = 86400.0


def _read(occurred_at_seconds: float, read_at_seconds: float) -> NewestInput:
    newest = NewestInput()
    newest.observe(occurred_at_seconds, read_at_seconds)
    return newest


def test_replay_mode_never_ticks_whatever_the_input():
    assert decide_idle_advance(NOW, _read(NOW - 5, NOW), idle_advance_seconds=0) == IdleAdvance(REPLAY)


def test_a_live_worker_that_has_read_nothing_yet_waits_for_its_first_input():
    assert decide_idle_advance(NOW, NewestInput(), idle_advance_seconds=60) == IdleAdvance(AWAITING_INPUT)


def test_current_input_moves_idle_partitions_to_the_wall_clock_less_the_idle_advance():
    # given an event read 5 s after it happened
    newest = _read(NOW - 65, NOW - 60)
    # then idle partitions go to now less 60 s
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60) == IdleAdvance(FOLLOWING_WALL_CLOCK, NOW - 60, 5.0)


def test_a_live_source_quiet_for_days_keeps_following_the_wall_clock():
    # given the newest event was read as it happened, three days ago
    newest = _read(NOW - 3 * DAY, NOW - 3 * DAY)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60) == IdleAdvance(FOLLOWING_WALL_CLOCK, NOW - 60, 0.0)


def test_input_read_more_than_a_day_beyond_the_idle_advance_after_it_happened_holds_the_clocks():
    # given a file of last year's events read now
    newest = _read(NOW - 365 * DAY, NOW)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60) == IdleAdvance(HISTORIC_INPUT, None, 365 * DAY)


def test_the_historic_threshold_is_a_day_beyond_the_idle_advance_exactly():
    at_limit = _read(NOW - (DAY + 60), NOW)
    just_past = _read(NOW - (DAY + 60.5), NOW)
    assert decide_idle_advance(NOW, at_limit, idle_advance_seconds=60) == IdleAdvance(FOLLOWING_WALL_CLOCK, NOW - 60, DAY + 60)
    assert decide_idle_advance(NOW, just_past, idle_advance_seconds=60) == IdleAdvance(HISTORIC_INPUT, None, DAY + 60.5)
    assert decide_idle_advance(NOW, just_past, idle_advance_seconds=60, historic_lag_seconds=2 * DAY).state == FOLLOWING_WALL_CLOCK


def test_a_late_event_does_not_make_current_input_historic():
    # given current input, then an event from a device that was offline for a week
    newest = _read(NOW - 10, NOW - 8)
    newest.observe(NOW - 7 * DAY, NOW - 1)
    assert (newest.occurred_at_seconds, newest.read_at_seconds) == (NOW - 10, NOW - 8)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60).state == FOLLOWING_WALL_CLOCK


def test_current_input_after_a_historic_file_resumes_the_ticks():
    # given a historic file was read, then the live source's first event
    newest = _read(NOW - 200 * DAY, NOW - 30)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60).state == HISTORIC_INPUT
    newest.observe(NOW - 3, NOW - 2)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=60) == IdleAdvance(FOLLOWING_WALL_CLOCK, NOW - 60, 1.0)


def test_an_event_stamped_ahead_of_the_wall_clock_counts_as_current():
    newest = _read(NOW + 120, NOW)
    assert decide_idle_advance(NOW, newest, idle_advance_seconds=2) == IdleAdvance(FOLLOWING_WALL_CLOCK, NOW - 2, -120.0)
