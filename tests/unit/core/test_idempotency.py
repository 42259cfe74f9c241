"""A re-sent source event (same event_id) is recognised inside the event-time window."""

from __future__ import annotations

import pytest

from hotline.core.idempotency import SeenEventIds

DAY = 86400.0
T0 = 1767574800.0


def test_a_resent_event_is_recognised():
    seen = SeenEventIds(window_seconds=7 * DAY, max_entries=100)
    assert seen.record("gz:GD-1:appeal.received", T0) is True
    assert seen.record("gz:GD-1:appeal.received", T0) is False
    assert seen.size == 1


def test_a_late_event_inside_the_window_is_remembered():
    seen = SeenEventIds(window_seconds=7 * DAY, max_entries=100)
    seen.record("e-new", T0 + 5 * DAY)
    assert seen.record("e-late", T0) is True
    assert seen.record("e-late", T0) is False


def test_ids_older_than_the_window_behind_the_newest_are_forgotten():
    seen = SeenEventIds(window_seconds=7 * DAY, max_entries=100)
    seen.record("e-old", T0)
    # when an event 8 days newer arrives, the old id drops out of memory
    seen.record("e-new", T0 + 8 * DAY)
    assert "e-old" not in seen
    assert seen.size == 1
    # and a re-send that late is taken as first seen, without being remembered
    assert seen.record("e-old", T0) is True
    assert "e-old" not in seen


def test_at_most_max_entries_ids_are_kept_dropping_the_oldest():
    seen = SeenEventIds(window_seconds=7 * DAY, max_entries=3)
    for number in range(5):
        seen.record(f"e-{number}", T0 + number)
    assert seen.size == 3
    assert [f"e-{n}" in seen for n in range(5)] == [False, False, True, True, True]


def test_state_survives_a_json_round_trip():
    seen = SeenEventIds(window_seconds=7 * DAY, max_entries=10)
    seen.record("e-2", T0 + 2)
    seen.record("e-1", T0 + 1)
    state = seen.to_json()
    assert state == {"window_seconds": 7 * DAY, "max_entries": 10, "newest_at_seconds": T0 + 2, "seen": [["e-1", T0 + 1], ["e-2", T0 + 2]]}
    restored = SeenEventIds.from_json(state)
    assert restored.record("e-1", T0 + 1) is False
    assert restored.to_json() == state


@pytest.mark.parametrize(("window_seconds", "max_entries"), [(0, 10), (60, 0)])
def test_nonsense_bounds_are_refused(window_seconds, max_entries):
    with pytest.raises(ValueError):
        SeenEventIds(window_seconds, max_entries)
